import assert from 'node:assert/strict'
import fc from 'fast-check'
import { DeviceRecord } from '../../../src/identity/device-record.js'
import { HandleClaim } from '../../../src/identity/handle-claim.js'
import { MAX_RECORD_LIFETIME_MS, MAX_SEQ_AHEAD_MS, deviceRecordKey, parseRecordKey } from '../../../src/identity/records.js'
import { starlingDhtValidators } from '../../../src/identity/validators.js'
import { HOUR, NOW, crypto, newAccount, newDevice, rejectsWith, signedClaim, signedDevice, utf8 } from './helpers.js'
import type { KeyPair } from '../../../src/crypto/index.js'
import type { TestDevice } from './helpers.js'

function keyValue (r: { key: Uint8Array, value: Uint8Array }): [Uint8Array, Uint8Array] {
  return [r.key, r.value]
}

describe('identity/validators', () => {
  let account: KeyPair
  let device: TestDevice
  let clock: number
  const { validators, selectors } = starlingDhtValidators(crypto, { now: () => clock })
  const validate = validators.starling
  const select = selectors.starling

  before(async () => {
    account = await newAccount()
    device = await newDevice()
  })

  beforeEach(() => { clock = NOW })

  it('registers one validator and one selector, under the "starling" namespace', () => {
    assert.deepEqual(Object.keys(validators), ['starling'])
    assert.deepEqual(Object.keys(selectors), ['starling'])
  })

  describe('validator', () => {
    it('accepts a valid device record and a valid handle claim', async () => {
      const d = await signedDevice(account, device)
      const h = await signedClaim(account, device)
      await validate(d.key, d.value)
      await validate(h.key, h.value)
    })

    it('reads the injected clock on every call', async () => {
      const { key, value } = await signedClaim(account, device, { expiresAt: NOW + HOUR })
      await validate(key, value)
      clock = NOW + HOUR
      await rejectsWith(async () => { await validate(key, value) }, 'expired')
    })

    it('rejects a forged record', async () => {
      const { key, record } = await signedDevice(account, device)
      record.seq = 2
      await rejectsWith(async () => { await validate(key, DeviceRecord.encode(record)) }, 'bad-signature')
    })

    it('rejects a device record under another peer\'s key', async () => {
      const other = await newDevice()
      const { value } = await signedDevice(account, device)
      await rejectsWith(async () => { await validate(deviceRecordKey(other.peerId), value) }, 'key-mismatch')
    })

    it('rejects a handle claim under someone else\'s tag', async () => {
      const victim = await newAccount()
      const theirs = await signedClaim(victim, device)
      const mine = await signedClaim(account, device)
      await rejectsWith(async () => { await validate(theirs.key, mine.value) }, 'tag-mismatch')
    })

    it('rejects an oversized record', async () => {
      const { key } = await signedDevice(account, device)
      await rejectsWith(async () => { await validate(key, new Uint8Array(8193)) }, 'too-large')
    })

    it('rejects unknown kinds and malformed keys', async () => {
      await rejectsWith(async () => { await validate(utf8('/starling/mailbox/x'), new Uint8Array(1)) }, 'unknown-namespace')
      await rejectsWith(async () => { await validate(utf8('/starling/device'), new Uint8Array(1)) }, 'bad-key')
      await rejectsWith(async () => { await validate(utf8('/starling/device/not-a-peer-id'), new Uint8Array(1)) }, 'bad-key')
      await rejectsWith(async () => { await validate(Uint8Array.from([0x2f, 0xff, 0xfe]), new Uint8Array(1)) }, 'bad-key')
    })

    it('refuses an older version of a key than one it has verified, accepts the same again', async () => {
      const fresh = starlingDhtValidators(crypto, { now: () => clock }).validators.starling
      const owner = await newAccount()
      const v1 = await signedClaim(owner, device, { seq: 1 })
      const v2 = await signedClaim(owner, device, { seq: 2 })
      await fresh(v1.key, v1.value)
      await fresh(v2.key, v2.value)
      await fresh(v2.key, v2.value)
      await rejectsWith(async () => { await fresh(v1.key, v1.value) }, 'stale')
      const otherKey = await signedClaim(await newAccount(), device, { seq: 1 })
      await fresh(otherKey.key, otherKey.value)
    })

    it('does not remember a seq from a record that failed verification', async () => {
      const fresh = starlingDhtValidators(crypto, { now: () => clock }).validators.starling
      const v1 = await signedClaim(account, device, { seq: 1 })
      const forged = await signedClaim(account, device, { seq: 2 })
      forged.record.seq = 99
      await rejectsWith(async () => { await fresh(forged.key, HandleClaim.encode(forged.record)) }, 'bad-signature')
      await fresh(v1.key, v1.value)
    })

    it('forgets the least recently seen keys beyond rememberedKeys, and 0 turns the check off', async () => {
      const owner = await newAccount()
      const v1 = await signedClaim(owner, device, { seq: 1 })
      const v2 = await signedClaim(owner, device, { seq: 2 })
      const other = await signedClaim(await newAccount(), device, { seq: 1 })

      const small = starlingDhtValidators(crypto, { now: () => clock, rememberedKeys: 1 }).validators.starling
      await small(v2.key, v2.value)
      await rejectsWith(async () => { await small(v1.key, v1.value) }, 'stale')
      await small(other.key, other.value)
      await small(v1.key, v1.value)

      const off = starlingDhtValidators(crypto, { now: () => clock, rememberedKeys: 0 }).validators.starling
      await off(v2.key, v2.value)
      await off(v1.key, v1.value)
    })

    describe('absurd sequence numbers cannot lock the owner out', () => {
      it('refuses a record signed by the owner with seq 2^53-1, and the owner\'s next record is accepted', async () => {
        const fresh = starlingDhtValidators(crypto, { now: () => clock }).validators.starling
        const absurd = await signedClaim(account, device, { seq: Number.MAX_SAFE_INTEGER })
        const absurdDevice = await signedDevice(account, device, { seq: Number.MAX_SAFE_INTEGER })
        await rejectsWith(async () => { await fresh(absurd.key, absurd.value) }, 'future-seq')
        await rejectsWith(async () => { await fresh(absurdDevice.key, absurdDevice.value) }, 'future-seq')
        const next = await signedClaim(account, device, { seq: NOW })
        await fresh(next.key, next.value)
      })

      it('takes a seq up to an hour ahead (clocks differ), not more', async () => {
        const fresh = starlingDhtValidators(crypto, { now: () => clock }).validators.starling
        await fresh(...keyValue(await signedClaim(account, device, { seq: NOW + MAX_SEQ_AHEAD_MS })))
        await rejectsWith(async () => { await fresh(...keyValue(await signedClaim(account, device, { seq: NOW + MAX_SEQ_AHEAD_MS + 1 }))) }, 'future-seq')
      })

      it('refuses an expiry more than a week (plus the clock allowance) away', async () => {
        const far = await signedClaim(account, device, { seq: NOW, expiresAt: NOW + MAX_RECORD_LIFETIME_MS + MAX_SEQ_AHEAD_MS + 1 })
        await rejectsWith(async () => { await validate(far.key, far.value) }, 'expiry-too-far')
        const week = await signedClaim(account, device, { seq: NOW, expiresAt: NOW + MAX_RECORD_LIFETIME_MS })
        await validate(week.key, week.value)
      })

      it('forgets a remembered seq once its record has expired: the owner publishes again', async () => {
        const fresh = starlingDhtValidators(crypto, { now: () => clock }).validators.starling
        // A record 50 minutes ahead that lives one hour, seen by the relay.
        const ahead = await signedClaim(account, device, { seq: NOW + 50 * 60_000, expiresAt: NOW + HOUR })
        await fresh(ahead.key, ahead.value)
        const owner = await signedClaim(account, device, { seq: NOW + 1, expiresAt: NOW + 3 * HOUR })
        await rejectsWith(async () => { await fresh(owner.key, owner.value) }, 'stale')
        clock = NOW + HOUR
        await fresh(owner.key, owner.value)
      })

      it('the selector passes over a record with an absurd seq', async () => {
        const absurd = (await signedDevice(account, device, { seq: Number.MAX_SAFE_INTEGER })).value
        const real = await signedDevice(account, device, { seq: NOW })
        assert.equal(await select(real.key, [absurd, real.value]), 1)
      })
    })

    it('throws nothing but InvalidRecordError on random keys and values', async () => {
      const key = fc.oneof(
        fc.uint8Array({ maxLength: 80, size: 'max' }),
        fc.constantFrom('/starling/device/', '/starling/handle/').chain(p => fc.string({ maxLength: 60 }).map(s => utf8(p + s)))
      )
      await fc.assert(fc.asyncProperty(key, fc.uint8Array({ maxLength: 500, size: 'max' }), async (k, v) => {
        await assert.rejects(async () => { await validate(k, v) }, { name: 'InvalidRecordError' })
      }), { numRuns: 500 })
    })
  })

  describe('selector', () => {
    it('picks the highest seq wherever it is', async () => {
      const versions = await Promise.all([3, 7, 5].map(async seq => (await signedClaim(account, device, { seq })).value))
      const { key } = await signedClaim(account, device)
      assert.equal(await select(key, versions), 1)
      assert.equal(await select(key, [versions[1], versions[0]]), 0)
    })

    it('an older seq loses even with a later expiry', async () => {
      const old = await signedDevice(account, device, { seq: 1, expiresAt: NOW + 10 * HOUR })
      const young = await signedDevice(account, device, { seq: 2, expiresAt: NOW + HOUR })
      assert.equal(await select(old.key, [old.value, young.value]), 1)
    })

    it('breaks a seq tie by later expiry, then bytewise, whatever the order', async () => {
      const a = (await signedClaim(account, device, { seq: 4, expiresAt: NOW + HOUR })).value
      const b = (await signedClaim(account, device, { seq: 4, expiresAt: NOW + 2 * HOUR })).value
      const { key } = await signedClaim(account, device)
      assert.equal(await select(key, [a, b]), 1)
      assert.equal(await select(key, [b, a]), 0)

      const other = await newDevice()
      const c = (await signedClaim(account, other, { seq: 4, expiresAt: NOW + 2 * HOUR })).value
      const first = await select(key, [b, c])
      const second = await select(key, [c, b])
      assert.deepEqual([b, c][first], [c, b][second])
    })

    it('skips a forged record with a higher seq', async () => {
      const good = await signedClaim(account, device, { seq: 1 })
      const forged = await signedClaim(account, device, { seq: 2 })
      forged.record.seq = 50
      assert.equal(await select(good.key, [HandleClaim.encode(forged.record), good.value]), 1)
    })

    it('skips a newer record that has expired, and fails when none is valid', async () => {
      const stale = await signedClaim(account, device, { seq: 9, expiresAt: NOW + 1 })
      const fresh = await signedClaim(account, device, { seq: 1, expiresAt: NOW + HOUR })
      clock = NOW + 2
      assert.equal(await select(fresh.key, [stale.value, fresh.value]), 1)
      await rejectsWith(async () => await select(fresh.key, [stale.value, stale.value]), 'no-valid-record')
    })

    it('skips garbage', async () => {
      const good = await signedDevice(account, device)
      assert.equal(await select(good.key, [new Uint8Array([1, 2, 3]), good.value]), 1)
    })
  })

  it('parseRecordKey refuses a peer id in another text form than its own', async () => {
    const asCid = device.peerId.toCID().toString()
    await rejectsWith(async () => parseRecordKey(`/starling/device/${asCid}`), 'bad-key')
    await rejectsWith(async () => parseRecordKey(`/other/device/${device.peerId.toString()}`), 'bad-key')
    await rejectsWith(async () => parseRecordKey(`/starling/device/${device.peerId.toString()}/x`), 'bad-key')
  })

  it('parseRecordKey names the kind and its identifier', async () => {
    const parsed = parseRecordKey(deviceRecordKey(device.peerId))
    assert.equal(parsed.kind, 'device')
    assert.ok(parsed.kind === 'device' && parsed.peerId.equals(device.peerId))
    assert.deepEqual(parseRecordKey('/starling/handle/alice~abcdefgh23'), { kind: 'handle', name: 'alice', tag: 'abcdefgh23' })
  })
})
