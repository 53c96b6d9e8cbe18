import assert from 'node:assert/strict'
import fc from 'fast-check'
import {
  buildHandleClaim, decodeHandleClaim, encodeHandleClaim, handleClaimSigningPayload, verifyHandleClaim
} from '../../../src/identity/handle-claim.js'
import { handleRecordKey } from '../../../src/identity/records.js'
import { handleTag } from '../../../src/identity/tag.js'
import { HOUR, NOW, crypto, newAccount, newDevice, rejectsWith, signedClaim } from './helpers.js'
import type { KeyPair } from '../../../src/crypto/index.js'
import type { HandleClaim } from '../../../src/identity/handle-claim.js'
import type { TestDevice } from './helpers.js'

describe('identity/handle-claim', () => {
  let account: KeyPair
  let device: TestDevice

  before(async () => {
    account = await newAccount()
    device = await newDevice()
  })

  async function resign (claim: HandleClaim, secretKey = account.secretKey): Promise<Uint8Array> {
    claim.signature = Uint8Array.from(await crypto.ed25519.sign(secretKey, handleClaimSigningPayload(claim)))
    return encodeHandleClaim(claim)
  }

  it('is stored under /starling/handle/<name~tag of the name and account key>', async () => {
    const { key } = await signedClaim(account, device, { name: 'Alice' })
    assert.equal(new TextDecoder().decode(key), `/starling/handle/alice~${handleTag(crypto, 'alice', account.publicKey)}`)
  })

  it('round-trips: build, verify gives the name, account and devices', async () => {
    const second = await newDevice()
    const { key, value } = await signedClaim(account, device, { devices: [device.peerId, second.peerId], seq: 5 })
    const claim = await verifyHandleClaim(crypto, key, value, NOW)
    assert.equal(claim.name, 'alice')
    assert.deepEqual(claim.accountKey, account.publicKey)
    assert.deepEqual(claim.devices, [device.peerId.toMultihash().bytes, second.peerId.toMultihash().bytes])
    assert.equal(claim.seq, 5)
    assert.equal(claim.expiresAt, NOW + HOUR)
  })

  it('rejects a forged signature', async () => {
    const { key, record } = await signedClaim(account, device)
    record.signature[10] ^= 0x80
    await rejectsWith(async () => await verifyHandleClaim(crypto, key, encodeHandleClaim(record), NOW), 'bad-signature')
  })

  it('rejects a claim changed after signing (a higher seq)', async () => {
    const { key, record } = await signedClaim(account, device)
    record.seq = 99
    await rejectsWith(async () => await verifyHandleClaim(crypto, key, encodeHandleClaim(record), NOW), 'bad-signature')
  })

  it('rejects a claim whose name differs from its key\'s name', async () => {
    const { value } = await signedClaim(account, device, { name: 'alice' })
    const key = handleRecordKey('bob', handleTag(crypto, 'alice', account.publicKey))
    await rejectsWith(async () => await verifyHandleClaim(crypto, key, value, NOW), 'key-mismatch')
  })

  it('a key whose tag matches one name does not match it under another (grinding against many users at once buys nothing)', async () => {
    // The multi-target attack in miniature: mallory holds a key whose tag under
    // "alice" is T (as if ground against alice's tag). With a tag of the key
    // alone, T was also that key's tag under every other name, so one ground
    // key was a try against every user at once; bob~T must not be claimable.
    const mallory = await newAccount()
    const groundTag = handleTag(crypto, 'alice', mallory.publicKey)
    const { value } = await signedClaim(mallory, device, { name: 'bob' })
    await rejectsWith(async () => await verifyHandleClaim(crypto, handleRecordKey('bob', groundTag), value, NOW), 'tag-mismatch')
    assert.notEqual(handleTag(crypto, 'bob', mallory.publicKey), groundTag)
  })

  it('rejects a claim under a tag that is not its account key\'s (someone else\'s alice)', async () => {
    const victim = await newAccount()
    const { value } = await signedClaim(account, device)
    const key = handleRecordKey('alice', handleTag(crypto, 'alice', victim.publicKey))
    await rejectsWith(async () => await verifyHandleClaim(crypto, key, value, NOW), 'tag-mismatch')
  })

  it('rejects a claim that names the victim\'s key but is signed by another', async () => {
    const victim = await newAccount()
    const { record } = await signedClaim(account, device)
    record.accountKey = Uint8Array.from(victim.publicKey)
    const value = await resign(record)
    await rejectsWith(async () => await verifyHandleClaim(crypto, handleRecordKey('alice', handleTag(crypto, 'alice', victim.publicKey)), value, NOW), 'bad-signature')
  })

  it('rejects an expired claim', async () => {
    const { key, value } = await signedClaim(account, device, { expiresAt: NOW })
    await rejectsWith(async () => await verifyHandleClaim(crypto, key, value, NOW), 'expired')
  })

  it('rejects an empty device list and a device that is not a peer id', async () => {
    const { key, record } = await signedClaim(account, device)
    await rejectsWith(async () => await verifyHandleClaim(crypto, key, await resign({ ...record, devices: [] }), NOW), 'bad-field')
    await rejectsWith(async () => await verifyHandleClaim(crypto, key, await resign({ ...record, devices: [new Uint8Array([1, 2, 3])] }), NOW), 'bad-field')
  })

  it('rejects keys that are not canonical or not handle keys', async () => {
    const { value } = await signedClaim(account, device)
    const tag = handleTag(crypto, 'alice', account.publicKey)
    await rejectsWith(async () => await verifyHandleClaim(crypto, `/starling/handle/Alice~${tag}`, value, NOW), 'bad-key')
    await rejectsWith(async () => await verifyHandleClaim(crypto, '/starling/handle/alice', value, NOW), 'bad-key')
    await rejectsWith(async () => await verifyHandleClaim(crypto, `/starling/handle/\u0430lice~${tag}`, value, NOW), 'bad-key')
    await rejectsWith(async () => await verifyHandleClaim(crypto, `/starling/device/${device.peerId.toString()}`, value, NOW), 'key-mismatch')
  })

  it('rejects an oversized value', async () => {
    const { key } = await signedClaim(account, device)
    await rejectsWith(async () => await verifyHandleClaim(crypto, key, new Uint8Array(8 * 1024 + 1), NOW), 'too-large')
  })

  it('refuses to build for an invalid name or device list', async () => {
    await assert.rejects(async () => await buildHandleClaim(crypto, { accountSecretKey: account.secretKey, name: 'a b', devices: [device.peerId], seq: 1, expiresAt: NOW }), { name: 'InvalidHandleError' })
    await assert.rejects(async () => await buildHandleClaim(crypto, { accountSecretKey: account.secretKey, name: 'alice', devices: [], seq: 1, expiresAt: NOW }), { name: 'RangeError' })
  })

  describe('properties', () => {
    it('decodeHandleClaim throws nothing but InvalidRecordError on random bytes', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 2000, size: 'max' }), (bytes) => {
        try {
          decodeHandleClaim(bytes)
        } catch (err) {
          assert.equal((err as Error).name, 'InvalidRecordError')
        }
      }), { numRuns: 2000 })
    })

    it('verifyHandleClaim rejects every single-byte change of a valid claim', async () => {
      const { key, value } = await signedClaim(account, device)
      await fc.assert(fc.asyncProperty(fc.nat({ max: value.length - 1 }), fc.integer({ min: 1, max: 255 }), async (at, xor) => {
        const changed = Uint8Array.from(value)
        changed[at] ^= xor
        await assert.rejects(async () => await verifyHandleClaim(crypto, key, changed, NOW), { name: 'InvalidRecordError' })
      }), { numRuns: 200 })
    })
  })
})
