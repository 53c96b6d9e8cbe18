/**
 * What Node gives `src/`: TCP and WebSocket transports, the crypto facade
 * with the fastest providers on this platform, and peer key files.
 */
import { Socket } from 'node:net'
import { join } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { createNodeCrypto } from './crypto/node-provider.js'
import type { Crypto } from '../src/crypto/index.js'
import type { TransportFactory } from '../src/net/node.js'
import { readOptional, writePrivateFile } from './data-dir.js'

/** Transports a Node process listens and dials on (socket writes coalesced, see below). */
export function nodeTransports (): TransportFactory[] {
  coalesceSocketWrites()
  return [tcp(), webSockets()]
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
