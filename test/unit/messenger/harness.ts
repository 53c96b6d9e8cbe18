/**
 * Messengers in one process for unit tests: real crypto, sessions, outbox
 * and history over an in-memory `level` store (memory-level), with a fake
 * directory and a transport the test controls. Time comes from the caller
 * (a fake clock).
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryLevel } from 'memory-level'
import type { PeerId } from '@libp2p/interface'
import { createPrekeyState, generateIdentityKey, publicPrekeys } from '../../../src/crypto/prekeys.js'
import { buildDeviceRecord, formatHandle, handleTag } from '../../../src/identity/index.js'
import type { DeviceRecord } from '../../../src/identity/index.js'
import { LevelStore } from '../../../src/store/index.js'
import { Messenger } from '../../../src/messenger/messenger.js'
import type { MessengerInit } from '../../../src/messenger/messenger.js'
import type { DeliveryTransport } from '../../../src/messenger/transport.js'
import type { Crypto } from '../../../src/crypto/index.js'

/** A device that others can resolve: its keys, its signed record, its handle. */
export interface TestDevice {
  name: string
  handle: string
  peerId: PeerId
  accountKey: Uint8Array
  record: DeviceRecord
  recordBytes: Uint8Array
  identity: MessengerInit['identity']
}

/** Makes a device with fresh keys; its record lists a circuit address through each relay. */
export async function testDevice (crypto: Crypto, name: string, now: number, relays: PeerId[] = []): Promise<TestDevice> {
  const account = await crypto.ed25519.generateKeyPair()
  const deviceKey = await generateKeyPair('Ed25519')
  const peerId = peerIdFromPrivateKey(deviceKey)
  const ik = await generateIdentityKey(crypto, account.secretKey)
  const prekeys = await createPrekeyState(crypto, account.secretKey, now)
  const { signedPrekey, kemPrekey } = publicPrekeys(prekeys)
  const built = await buildDeviceRecord(crypto, {
    accountSecretKey: account.secretKey,
    devicePrivateKey: deviceKey,
    addrs: relays.map(r => multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${r.toString()}/p2p-circuit`)),
    identityKey: ik.publicKey,
    signedPrekey,
    kemPrekey,
    seq: now,
    expiresAt: now + 24 * 3_600_000
  })
  const tag = handleTag(crypto, name, account.publicKey)
  return {
    name,
    handle: formatHandle(name, tag),
    peerId,
    accountKey: account.publicKey,
    record: built.record,
    recordBytes: built.value,
    identity: {
      handleName: name,
      tag,
      accountSecretKey: account.secretKey,
      accountPublicKey: account.publicKey,
      peerId,
      identityKey: { secretKey: ik.secretKey, publicKey: ik.publicKey },
      identityKeySignature: ik.signature,
      prekeys: () => prekeys,
      deviceRecord: () => built.value
    }
  }
}

/** A directory that knows the given devices by handle and peer id. */
export function fakeDirectory (devices: TestDevice[]): MessengerInit['directory'] {
  const byHandle = (handle: string): TestDevice => {
    const d = devices.find(x => x.handle === handle || x.name === handle)
    if (d == null) throw Object.assign(new Error(`unknown handle ${handle}`), { name: 'UnknownHandleError' })
    return d
  }
  const claim = (d: TestDevice): Awaited<ReturnType<MessengerInit['directory']['resolveOne']>> => ({
    handle: d.handle,
    name: d.name,
    tag: d.identity.tag,
    accountKey: d.accountKey,
    fingerprint: 'test',
    claim: { name: d.name, accountKey: Uint8Array.from(d.accountKey), devices: [Uint8Array.from(d.peerId.toMultihash().bytes)], seq: 1, expiresAt: Number.MAX_SAFE_INTEGER, signature: new Uint8Array(64) },
    devices: [{ peerId: d.peerId, record: d.record, addrs: [] }]
  })
  return {
    resolve: async (handle) => ({ query: handle, unique: true, claims: [claim(byHandle(handle))] }),
    resolveOne: async (handle) => claim(byHandle(handle)),
    lookupDevice: async (peerId) => devices.find(d => d.peerId.equals(peerId))?.record
  }
}

/** An open store in memory. */
export async function memoryStore (): Promise<LevelStore> {
  const store = new LevelStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
  await store.open()
  return store
}

/** A messenger for `device` over a memory store, with the given transport, directory and clock. */
export async function testMessenger (crypto: Crypto, device: TestDevice, init: { transport: DeliveryTransport, directory: MessengerInit['directory'], now(): number, relayPeers?: PeerId[] } & Partial<Omit<MessengerInit, 'relays'>>): Promise<Messenger> {
  const store = await memoryStore()
  const relays = (init.relayPeers ?? []).map(peerId => ({ peerId, addrs: [multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${peerId.toString()}`)] }))
  return new Messenger({ crypto, store, identity: device.identity, relays: () => relays, ...init })
}
