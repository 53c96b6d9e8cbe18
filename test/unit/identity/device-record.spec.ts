import assert from 'node:assert/strict'
import fc from 'fast-check'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import { PrekeyKind, prekeySignaturePayload } from '../../../src/crypto/prekey-signature.js'
import {
  DeviceRecord, decodeDeviceRecord, deviceRecordSigningPayload, encodeDeviceRecord, verifyDeviceRecord
} from '../../../src/identity/device-record.js'
import { MAX_RECORD_BYTES, deviceRecordKey } from '../../../src/identity/records.js'
import { HOUR, NOW, crypto, deviceInit, newAccount, newDevice, rejectsWith, signedDevice, utf8 } from './helpers.js'
import type { KeyPair } from '../../../src/crypto/index.js'
import type { TestDevice } from './helpers.js'

describe('identity/device-record', () => {
  let account: KeyPair
  let device: TestDevice

  before(async () => {
    account = await newAccount()
    device = await newDevice()
  })

  /** Re-signs a tampered record with the real account key (not the device key). */
  async function resignAccount (record: DeviceRecord): Promise<Uint8Array> {
    record.accountSignature = Uint8Array.from(await crypto.ed25519.sign(account.secretKey, deviceRecordSigningPayload(record)))
    return encodeDeviceRecord(record)
  }

  async function resignBoth (record: DeviceRecord, key = device.privateKey): Promise<Uint8Array> {
    record.deviceSignature = Uint8Array.from(await key.sign(deviceRecordSigningPayload(record)))
    return await resignAccount(record)
  }

  it('builds a record whose key is /starling/device/<peer id>', async () => {
    const { key } = await signedDevice(account, device)
    assert.equal(new TextDecoder().decode(key), `/starling/device/${device.peerId.toString()}`)
    assert.deepEqual(deviceRecordKey(device.peerId), key)
  })

  it('round-trips: build, encode, verify gives the same fields', async () => {
    const init = await deviceInit(account, device, { seq: 42 })
    const { key, value } = await signedDevice(account, device, init)
    const record = await verifyDeviceRecord(crypto, key, value, NOW)
    assert.deepEqual(record.accountKey, account.publicKey)
    assert.deepEqual(record.peerId, device.peerId.toMultihash().bytes)
    assert.deepEqual(record.addrs.map(a => multiaddr(a).toString()), ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/4002/ws'])
    assert.deepEqual(record.identityKey, init.identityKey)
    assert.equal(record.signedPrekey?.id, 7)
    assert.deepEqual(record.kemPrekey?.publicKey, init.kemPrekey.publicKey)
    assert.equal(record.seq, 42)
    assert.equal(record.expiresAt, NOW + HOUR)
  })

  it('carries prekey signatures that PQXDH can check with prekeySignaturePayload', async () => {
    const { record } = await signedDevice(account, device)
    const spk = record.signedPrekey
    assert.ok(spk != null)
    assert.equal(await crypto.ed25519.verify(account.publicKey, prekeySignaturePayload(PrekeyKind.signedPrekey, spk.id, spk.publicKey), spk.signature), true)
    assert.equal(await crypto.ed25519.verify(account.publicKey, prekeySignaturePayload(PrekeyKind.identity, 0, record.identityKey), record.identityKeySignature), true)
  })

  it('the device signature is an Ed25519 signature by the libp2p peer key', async () => {
    const { record } = await signedDevice(account, device)
    assert.equal(await device.peerId.publicKey?.verify(deviceRecordSigningPayload(record), record.deviceSignature), true)
  })

  it('rejects a forged account signature', async () => {
    const { key, record } = await signedDevice(account, device)
    record.accountSignature[0] ^= 1
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, encodeDeviceRecord(record), NOW), 'bad-signature')
  })

  it('rejects a field changed after signing', async () => {
    const { key, record } = await signedDevice(account, device)
    record.addrs = [multiaddr('/ip4/10.6.6.6/tcp/1').bytes]
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, encodeDeviceRecord(record), NOW), 'bad-signature')
  })

  it('rejects a record signed by the account but not by the peer it names', async () => {
    const other = await newDevice()
    const { record } = await signedDevice(account, device)
    record.peerId = Uint8Array.from(other.peerId.toMultihash().bytes)
    const value = await resignAccount(record)
    await rejectsWith(async () => await verifyDeviceRecord(crypto, deviceRecordKey(other.peerId), value, NOW), 'bad-signature')
  })

  it('rejects a record stored under another peer\'s key', async () => {
    const other = await newDevice()
    const { value } = await signedDevice(account, device)
    await rejectsWith(async () => await verifyDeviceRecord(crypto, deviceRecordKey(other.peerId), value, NOW), 'key-mismatch')
  })

  it('rejects a swapped prekey even when both record signatures are redone', async () => {
    const { key, record } = await signedDevice(account, device)
    const attacker = await crypto.kem.generateKeyPair()
    assert.ok(record.kemPrekey != null)
    record.kemPrekey.publicKey = Uint8Array.from(attacker.publicKey)
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, await resignBoth(record), NOW), 'bad-signature')
  })

  it('rejects an expired record, and accepts it just before expiry', async () => {
    const { key, value } = await signedDevice(account, device, { expiresAt: NOW + 1000 })
    await verifyDeviceRecord(crypto, key, value, NOW + 999)
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, value, NOW + 1000), 'expired')
  })

  it('rejects an oversized record before decoding it', async () => {
    const big = Array.from({ length: 16 }, () => new Uint8Array(600))
    const { key, value } = await signedDevice(account, device, { addrs: big })
    assert.ok(value.length > MAX_RECORD_BYTES)
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, value, NOW), 'too-large')
  })

  it('rejects an address that is not a multiaddr', async () => {
    const { key, value } = await signedDevice(account, device, { addrs: [utf8('not a multiaddr')] })
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, value, NOW), 'bad-field')
  })

  it('rejects a record with a missing prekey', async () => {
    const { key, record } = await signedDevice(account, device)
    delete record.kemPrekey
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, await resignBoth(record), NOW), 'bad-field')
  })

  it('rejects a non-canonical encoding (an unknown field appended)', async () => {
    const { key, value } = await signedDevice(account, device)
    const padded = Uint8Array.from([...value, 0x78, 0x01]) // field 15, varint 1
    assert.doesNotThrow(() => DeviceRecord.decode(padded))
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, padded, NOW), 'not-canonical')
  })

  it('rejects a handle key', async () => {
    const { value } = await signedDevice(account, device)
    await rejectsWith(async () => await verifyDeviceRecord(crypto, '/starling/handle/alice~abcdefgh23', value, NOW), 'key-mismatch')
  })

  it('refuses to build with a non-Ed25519 peer key or wrong key lengths', async () => {
    const init = await deviceInit(account, device)
    const secp = await generateKeyPair('secp256k1')
    await assert.rejects(async () => await signedDevice(account, device, { ...init, devicePrivateKey: secp }), { name: 'RangeError' })
    await assert.rejects(async () => await signedDevice(account, device, { ...init, identityKey: new Uint8Array(31) }), { name: 'RangeError' })
    await assert.rejects(async () => await signedDevice(account, device, { ...init, seq: -1 }), { name: 'RangeError' })
  })

  describe('properties', () => {
    it('decodeDeviceRecord throws nothing but InvalidRecordError on random bytes', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 3000, size: 'max' }), (bytes) => {
        try {
          decodeDeviceRecord(bytes)
        } catch (err) {
          assert.equal((err as Error).name, 'InvalidRecordError')
        }
      }), { numRuns: 2000 })
    })

    it('verifyDeviceRecord rejects every single-byte change of a valid record', async () => {
      const { key, value } = await signedDevice(account, device)
      await fc.assert(fc.asyncProperty(fc.nat({ max: value.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const changed = Uint8Array.from(value)
        changed[at] ^= xor
        await refused(key, changed)
      }), { numRuns: 100 })
    })
  })
})

/** Asserts the record is refused with an InvalidRecordError (any reason). */
async function refused (key: Uint8Array, value: Uint8Array): Promise<void> {
  await assert.rejects(async () => await verifyDeviceRecord(crypto, key, value, NOW), { name: 'InvalidRecordError' })
}
