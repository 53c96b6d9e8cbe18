/** Shared set-up for the identity tests: keys, devices and signed records. */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { createCrypto } from '../../../src/crypto/index.js'
import { buildDeviceRecord } from '../../../src/identity/device-record.js'
import { buildHandleClaim } from '../../../src/identity/handle-claim.js'
import type { KeyPair } from '../../../src/crypto/index.js'
import type { DeviceRecordInit } from '../../../src/identity/device-record.js'
import type { HandleClaimInit } from '../../../src/identity/handle-claim.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'

export const crypto = createCrypto()

/** A fixed "now" for tests: 2026-11-22T00:00:00Z. */
export const NOW = Date.UTC(2026, 10, 22)
export const HOUR = 3_600_000

export interface TestDevice {
  privateKey: PrivateKey
  peerId: PeerId
}

export async function newAccount (): Promise<KeyPair> {
  return await crypto.ed25519.generateKeyPair()
}

export async function newDevice (): Promise<TestDevice> {
  const privateKey = await generateKeyPair('Ed25519')
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey) }
}

/** A device record init with fresh keys, overridable field by field. */
export async function deviceInit (account: KeyPair, device: TestDevice, over: Partial<DeviceRecordInit> = {}): Promise<DeviceRecordInit> {
  const identity = await crypto.x25519.generateKeyPair()
  const signed = await crypto.x25519.generateKeyPair()
  const kem = await crypto.kem.generateKeyPair()
  return {
    accountSecretKey: account.secretKey,
    devicePrivateKey: device.privateKey,
    addrs: [multiaddr('/ip4/127.0.0.1/tcp/4001'), multiaddr('/ip4/127.0.0.1/tcp/4002/ws')],
    identityKey: identity.publicKey,
    signedPrekey: { id: 7, publicKey: signed.publicKey },
    kemPrekey: { id: 9, publicKey: kem.publicKey },
    seq: 1,
    expiresAt: NOW + HOUR,
    ...over
  }
}

export async function signedDevice (account: KeyPair, device: TestDevice, over: Partial<DeviceRecordInit> = {}): ReturnType<typeof buildDeviceRecord> {
  return await buildDeviceRecord(crypto, await deviceInit(account, device, over))
}

export async function signedClaim (account: KeyPair, device: TestDevice, over: Partial<HandleClaimInit> = {}): ReturnType<typeof buildHandleClaim> {
  return await buildHandleClaim(crypto, {
    accountSecretKey: account.secretKey,
    name: 'alice',
    devices: [device.peerId],
    seq: 1,
    expiresAt: NOW + HOUR,
    ...over
  })
}

/** Runs `fn` and asserts it rejects with an InvalidRecordError of `reason`. */
export async function rejectsWith (fn: () => Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(fn, (err: Error & { reason?: string }) => {
    assert.equal(err.name, 'InvalidRecordError', err.message)
    assert.equal(err.reason, reason, err.message)
    return true
  })
}

export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s)
