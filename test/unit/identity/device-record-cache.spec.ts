/**
 * verifyDeviceRecord keeps the records whose signatures one crypto facade
 * checked (src/identity/device-record.ts): the same bytes under the same
 * key are not verified again, but the checks that depend on the time run
 * each time; anything else (other bytes, another key, another facade, a
 * record that failed) is verified in full; the cache is bounded; each
 * caller gets a record of its own.
 */
import assert from 'node:assert/strict'
import { createCrypto } from '../../../src/crypto/index.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { MAX_VERIFIED_RECORDS, decodeDeviceRecord, encodeDeviceRecord, verifyDeviceRecord } from '../../../src/identity/device-record.js'
import { MAX_RECORD_BYTES, deviceRecordKey } from '../../../src/identity/records.js'
import { HOUR, NOW, newAccount, newDevice, rejectsWith, signedDevice } from './helpers.js'
import type { KeyPair } from '../../../src/crypto/index.js'
import type { TestDevice } from './helpers.js'

/** A facade of its own that counts the Ed25519 verifications it makes (and may refuse them all, or pass them all unchecked). */
function countingCrypto (mode: 'check' | 'refuse' | 'pass' = 'check'): { crypto: Crypto, verifications: () => number } {
  const base = createCrypto()
  let n = 0
  const crypto: Crypto = {
    ...base,
    ed25519: {
      ...base.ed25519,
      verify: async (publicKey, message, signature) => {
        n++
        return mode === 'check' ? await base.ed25519.verify(publicKey, message, signature) : mode === 'pass'
      }
    }
  }
  return { crypto, verifications: () => n }
}

describe('identity/device-record: records verified before', () => {
  let account: KeyPair
  let device: TestDevice
  let other: TestDevice

  before(async () => {
    account = await newAccount()
    device = await newDevice()
    other = await newDevice()
  })

  it('the same bytes under the same key are not verified again, and the copy given is the caller\'s own', async () => {
    const { crypto, verifications } = countingCrypto()
    const { key, value } = await signedDevice(account, device)
    // The first caller's record is its own too: what it changes is not what the cache keeps.
    const first = await verifyDeviceRecord(crypto, key, Uint8Array.from(value), NOW)
    assert.equal(verifications(), 5)
    first.addrs.length = 0
    first.identityKey.fill(0)
    const second = await verifyDeviceRecord(crypto, key, value, NOW + 1000)
    assert.equal(verifications(), 5, 'no signature checked the second time')
    assert.equal(second.addrs.length, 2, 'what the first caller changed is not in the second one\'s record')
    assert.notDeepEqual(second.identityKey, first.identityKey)
  })

  it('the time checks run each time: a record verified before is refused once expired, and accepted where expiry is allowed', async () => {
    const { crypto, verifications } = countingCrypto()
    const { key, value } = await signedDevice(account, device, { expiresAt: NOW + HOUR })
    await verifyDeviceRecord(crypto, key, value, NOW)
    await rejectsWith(async () => await verifyDeviceRecord(crypto, key, value, NOW + 2 * HOUR), 'expired')
    const carried = await verifyDeviceRecord(crypto, key, value, NOW + 2 * HOUR, { allowExpired: true })
    assert.equal(carried.expiresAt, NOW + HOUR)
    assert.equal(verifications(), 5)
  })

  it('the same bytes under another device\'s key are still refused', async () => {
    const { crypto } = countingCrypto()
    const { key, value } = await signedDevice(account, device)
    await verifyDeviceRecord(crypto, key, value, NOW)
    await rejectsWith(async () => await verifyDeviceRecord(crypto, deviceRecordKey(other.peerId), value, NOW), 'key-mismatch')
  })

  it('other bytes are verified in full: a byte changed in a record verified before fails', async () => {
    const { crypto, verifications } = countingCrypto()
    const { key, value } = await signedDevice(account, device)
    await verifyDeviceRecord(crypto, key, value, NOW)
    const tampered = Uint8Array.from(value)
    tampered[tampered.length - 1] ^= 1
    await assert.rejects(verifyDeviceRecord(crypto, key, tampered, NOW))
    assert.ok(verifications() > 5, 'the changed bytes were checked')
  })

  it('each facade checks for itself, and a record that failed is not kept', async () => {
    const { key, value } = await signedDevice(account, device)
    const refusing = countingCrypto('refuse')
    await rejectsWith(async () => await verifyDeviceRecord(refusing.crypto, key, value, NOW), 'bad-signature')
    const good = countingCrypto()
    await verifyDeviceRecord(good.crypto, key, value, NOW)
    assert.equal(good.verifications(), 5, 'another facade\'s verdict is not used')
    await rejectsWith(async () => await verifyDeviceRecord(refusing.crypto, key, value, NOW), 'bad-signature')
    assert.equal(refusing.verifications() >= 2, true, 'the refused record was checked again')
  })

  it('a record that came as a view of a larger buffer: what is kept is the record, not the buffer', async () => {
    // A DHT value is a view of the whole DHT message (up to 4 MiB: protobuf fields unknown to kad-dht are skipped), a
    // ring's record one of its frame, a message's one of its plaintext. A copy (structuredClone) of such a view copies
    // the whole buffer: 512 of them kept gigabytes, each hit copied them again.
    const { crypto, verifications } = countingCrypto()
    const { key, value } = await signedDevice(account, device)
    const message = new Uint8Array(4 * 1024 * 1024)
    message.set(value, 1000)
    await verifyDeviceRecord(crypto, key, message.subarray(1000, 1000 + value.length), NOW)
    const again = await verifyDeviceRecord(crypto, key, value, NOW)
    assert.equal(verifications(), 5, 'the second one came from what was kept')
    for (const [name, field] of Object.entries({ accountKey: again.accountKey, identityKey: again.identityKey, kemPrekey: again.kemPrekey?.publicKey, deviceSignature: again.deviceSignature })) {
      assert.ok((field?.buffer.byteLength ?? 0) <= MAX_RECORD_BYTES, `${name} keeps a buffer of ${field?.buffer.byteLength} bytes`)
    }
  })

  it('bytes their owner changes while their signatures are checked do not change what is kept', async () => {
    // The record kept is keyed by the hash of the bytes as given: it must be the record of those bytes, whatever
    // the caller does with its buffer (a read buffer used again, a wipe) before the verification ends.
    const { crypto } = countingCrypto()
    const { key, value } = await signedDevice(account, device)
    const given = Uint8Array.from(value)
    const verifying = verifyDeviceRecord(crypto, key, given, NOW)
    given.fill(0)
    await verifying
    const again = await verifyDeviceRecord(crypto, key, value, NOW)
    assert.deepEqual(encodeDeviceRecord(again), value, 'the record of the bytes verified')
  })

  it('bytes over MAX_RECORD_BYTES are refused before they are hashed', async () => {
    const base = countingCrypto()
    let hashed = 0
    const crypto: Crypto = {
      ...base.crypto,
      hash: { ...base.crypto.hash, sha256: (data) => { hashed += data.length; return base.crypto.hash.sha256(data) } }
    }
    await rejectsWith(async () => await verifyDeviceRecord(crypto, deviceRecordKey(device.peerId), new Uint8Array(4 * 1024 * 1024), NOW), 'too-large')
    assert.equal(hashed, 0, 'no byte of an oversized value hashed')
  })

  it('keeps at most MAX_VERIFIED_RECORDS, the least recently used going first', async function () {
    // Records that differ by their seq, not signed again (signing and checking 500 took ~10 s): this facade passes
    // every signature unchecked, and counts them.
    const { crypto, verifications } = countingCrypto('pass')
    const signed = await signedDevice(account, device)
    const build = async (seq: number): Promise<{ key: Uint8Array, value: Uint8Array }> => ({ key: signed.key, value: encodeDeviceRecord({ ...decodeDeviceRecord(signed.value), seq }) })
    const first = await build(1)
    await verifyDeviceRecord(crypto, first.key, first.value, NOW)
    const kept = await build(2)
    await verifyDeviceRecord(crypto, kept.key, kept.value, NOW)
    // Fill the cache: the first record is the oldest; the kept one is used again midway (so it stays).
    for (let i = 0; i < MAX_VERIFIED_RECORDS - 1; i++) {
      const r = await build(3 + i)
      await verifyDeviceRecord(crypto, r.key, r.value, NOW)
      if (i === 10) await verifyDeviceRecord(crypto, kept.key, kept.value, NOW)
    }
    const before = verifications()
    await verifyDeviceRecord(crypto, kept.key, kept.value, NOW)
    assert.equal(verifications(), before, 'the record used midway is still kept')
    await verifyDeviceRecord(crypto, first.key, first.value, NOW)
    assert.equal(verifications(), before + 5, 'the least recently used went')
  })
})
