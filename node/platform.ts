/**
 * What Node gives `src/`: TCP and WebSocket transports, the crypto facade
 * with the fastest providers on this platform, and peer key files.
 */
import { join } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { createNodeCrypto } from './crypto/node-provider.js'
import type { Crypto } from '../src/crypto/index.js'
import type { TransportFactory } from '../src/net/node.js'
import { readOptional, writePrivateFile } from './data-dir.js'

/** Transports a Node process listens and dials on. */
export function nodeTransports (): TransportFactory[] {
  return [tcp(), webSockets()]
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
