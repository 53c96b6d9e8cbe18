/**
 * What Node gives `src/`: TCP and WebSocket transports, the crypto facade
 * with the fastest providers on this platform, peer key files, and a user
 * peer's platform pieces (src/peer/platform.ts) over a data directory.
 */
import { createSecretKey } from 'node:crypto'
import { Socket } from 'node:net'
import type { ServerOptions } from 'node:https'
import { asCrypto, defaultCrypto, nodeCrypto as noiseNodeCrypto } from '@chainsafe/libp2p-noise/crypto'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { join } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { createNodeCrypto } from './crypto/node-provider.js'
import type { Crypto } from '../src/crypto/index.js'
import type { TransportFactory } from '../src/net/node.js'
import type { PeerPlatform } from '../src/peer/index.js'
import { readOptional, writePrivateFile } from './data-dir.js'
import { fileKeyStorage } from './identity-store.js'
import { openUserBlobs, openUserStore } from './at-rest.js'
import type { FileBlobStore } from './blob-store.js'

/**
 * Transports a Node process listens and dials on (socket writes coalesced,
 * see below); `https` is the certificate of secure WebSocket listeners (a
 * relay's `--tls-cert`, node/tls-files.ts).
 */
export function nodeTransports (https?: ServerOptions): TransportFactory[] {
  coalesceSocketWrites()
  return [tcp(), webSockets(https != null ? { https } : {})]
}

/** Frames at least this long are sealed by node:crypto, shorter ones by the WebAssembly ChaCha20-Poly1305. */
const NOISE_NODE_FROM_BYTES = 700

/**
 * Noise's ChaCha20-Poly1305 for this platform. The library's default hands
 * node:crypto raw key bytes for frames of 1,200 bytes or more, and Node 24
 * spends ~14 µs per cipher checking a raw key's kind; given a KeyObject,
 * node:crypto seals a 1,400-byte frame in 8.5 µs (raw bytes 22.7 µs, the
 * WebAssembly one 12.5 µs; 600 bytes: 7.1 / 21.9 / 6.5; measured here).
 */
export function nodeNoiseCrypto (): ICryptoInterface {
  type Key = Parameters<ICryptoInterface['chaCha20Poly1305Encrypt']>[3]
  const keyObject = (k: Uint8Array): Key => createSecretKey(k) as unknown as Key
  return {
    ...defaultCrypto,
    chaCha20Poly1305Encrypt (plaintext, nonce, ad, k) {
      return plaintext.byteLength >= NOISE_NODE_FROM_BYTES
        ? noiseNodeCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, keyObject(k))
        : asCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k)
    },
    chaCha20Poly1305Decrypt (ciphertext, nonce, ad, k, dst) {
      return ciphertext.byteLength >= NOISE_NODE_FROM_BYTES
        ? noiseNodeCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, keyObject(k), dst)
        : asCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst)
    }
  }
}

let coalescing = false

/**
 * Makes every socket of this process gather the writes of one tick into one
 * system call: the first write of a tick corks the socket and the tick's end
 * uncorks it (one writev). libp2p's TCP connection writes each Noise frame
 * as three buffers (length, ciphertext, tag), so a message, its yamux frame
 * and the API's reply were four or more write() calls; now they are one.
 * Nothing waits longer than the current tick.
 */
export function coalesceSocketWrites (): void {
  if (coalescing) return
  coalescing = true
  const write = Socket.prototype.write
  Socket.prototype.write = function (this: Socket, ...args: Parameters<Socket['write']>): boolean {
    if (this.writableCorked === 0 && !this.destroyed) {
      this.cork()
      process.nextTick(() => { if (this.writableCorked > 0) this.uncork() })
    }
    return write.apply(this, args)
  } as Socket['write']
}

/** The crypto facade with Node's providers (node:crypto where it measured fastest). */
export function nodeCrypto (): Crypto {
  return createNodeCrypto()
}

/**
 * A user peer's pieces in Node: TCP and WebSockets, node:crypto, the key
 * file, LevelDB store and attachment files of `dataDir` (encrypted at rest
 * when the key file is, node/at-rest.ts), and for calls the peer
 * connections of @roamhq/wrtc that the daemon makes (node/calls/media.ts).
 */
export function nodePeerPlatform (crypto: Crypto, dataDir: string, extras: Pick<PeerPlatform, 'createPeerConnection'> = {}): PeerPlatform<FileBlobStore> {
  return {
    ...extras,
    crypto,
    transports: nodeTransports,
    noiseCrypto: nodeNoiseCrypto(),
    keys: fileKeyStorage(dataDir),
    openStore: async (secret) => await openUserStore(crypto, dataDir, secret),
    openBlobs: async (secret) => await openUserBlobs(crypto, dataDir, secret),
    now: Date.now
  }
}

/** Loads the peer key stored at `path`, creating one the first time. */
export async function loadOrCreatePeerKey (path: string): Promise<PrivateKey> {
  const existing = await readOptional(path)
  if (existing != null) return privateKeyFromProtobuf(existing)
  const key = await generateKeyPair('Ed25519')
  await writePrivateFile(path, privateKeyToProtobuf(key))
  return key
}

/** True when every address is on loopback or a private range (tests, LANs). */
export function allLocal (addrs: string[]): boolean {
  return addrs.length > 0 && addrs.every(a => /\/ip4\/(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.)|\/ip6\/::1\/|\/dns4?\/localhost\//.test(a))
}

export { join }
