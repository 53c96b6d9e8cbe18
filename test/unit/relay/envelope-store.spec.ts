/** The relay's envelope store on a real LevelDB: order, paging, de-duplication, quotas, deletes, retention, reopening. */
import assert from 'node:assert/strict'
import { toHex } from '../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { EnvelopeStore, RETENTION_MS } from '../../../src/relay/index.js'
import { LevelStore } from '../../../src/store/index.js'
import { fakeClock, fakeEnvelope, tempDir } from './helpers.js'
import type { FakeClock } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

function mailboxOf (n: number): Uint8Array {
  const mailbox = new Uint8Array(32)
  mailbox.fill(n)
  return mailbox
}

function idOf (envelope: Uint8Array): Uint8Array {
  return parseEnvelopeHeader(envelope).id
}

describe('relay/envelope-store', () => {
  let level: LevelStore
  let location: string
  let remove: () => Promise<void>
  let clock: FakeClock
  let store: EnvelopeStore

  beforeEach(async () => {
    const tmp = await tempDir()
    remove = tmp.remove
    location = `${tmp.dir}/db`
    level = new LevelStore(location)
    await level.open()
    clock = fakeClock(1_800_000_000_000)
    store = new EnvelopeStore(level, { now: clock.now, maxEnvelopesPerMailbox: 10, maxBytesPerMailbox: 10_000 })
  })

  afterEach(async () => {
    await level.close().catch(() => {})
    await remove()
  })

  async function put (mailbox: Uint8Array, envelope: Uint8Array): Promise<void> {
    await store.put(mailbox, idOf(envelope), envelope)
  }

  it('pages a mailbox in arrival order and keeps mailboxes apart', async () => {
    const a = mailboxOf(1)
    const b = mailboxOf(2)
    const sent: string[] = []
    for (let i = 0; i < 7; i++) {
      const envelope = fakeEnvelope()
      sent.push(toHex(envelope))
      await put(a, envelope)
      await put(b, fakeEnvelope())
      clock.t += i % 2
    }
    const got: string[] = []
    let after: Uint8Array | undefined
    for (let page = 0; page < 10; page++) {
      const result = await store.fetch(a, after, 3, 1 << 20)
      got.push(...result.envelopes.map(e => toHex(e.envelope)))
      after = result.cursor
      if (!result.more) break
    }
    assert.deepEqual(got, sent)
    assert.equal(store.metrics.fetched, 7)
  })

  it('keeps arrival order within one millisecond', async () => {
    const a = mailboxOf(3)
    const sent: string[] = []
    for (let i = 0; i < 10; i++) {
      const envelope = fakeEnvelope()
      sent.push(toHex(envelope))
      await put(a, envelope)
    }
    const page = await store.fetch(a, undefined, 100, 1 << 20)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), sent)
    assert.equal(new Set(page.envelopes.map(e => e.storedAt)).size, 1)
  })

  it('stops a page at the byte budget but always returns at least one envelope', async () => {
    const a = mailboxOf(4)
    for (let i = 0; i < 3; i++) await put(a, fakeEnvelope(1000))
    const small = await store.fetch(a, undefined, 10, 10)
    assert.equal(small.envelopes.length, 1)
    assert.equal(small.more, true)
    const two = await store.fetch(a, undefined, 10, 2000)
    assert.equal(two.envelopes.length, 2)
  })

  it('refuses a cursor that is not one', async () => {
    await assert.rejects(store.fetch(mailboxOf(1), new Uint8Array(5), 10, 1000), { name: 'InvalidStoreRequestError' })
    await assert.rejects(store.put(mailboxOf(1).subarray(2), new Uint8Array(16), fakeEnvelope()), { name: 'InvalidStoreRequestError' })
  })

  it('stores a duplicate id once and returns the original times', async () => {
    const a = mailboxOf(5)
    const envelope = fakeEnvelope()
    const first = await store.put(a, idOf(envelope), envelope)
    clock.t += 5000
    const second = await store.put(a, idOf(envelope), envelope)
    assert.equal(first.duplicate, false)
    assert.equal(second.duplicate, true)
    assert.equal(second.storedAt, first.storedAt)
    assert.equal(second.expiresAt, first.storedAt + RETENTION_MS)
    assert.deepEqual(await store.usage(a), { count: 1, bytes: envelope.length })
    assert.equal(store.metrics.stored, 1)
    assert.equal(store.metrics.duplicates, 1)
  })

  it('enforces the envelope and byte quotas per mailbox, also under concurrent puts', async () => {
    const a = mailboxOf(6)
    const results = await Promise.allSettled(Array.from({ length: 15 }, async () => { await put(a, fakeEnvelope(300)) }))
    assert.equal(results.filter(r => r.status === 'fulfilled').length, 10)
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    assert.equal(refused.length, 5)
    for (const r of refused) assert.equal((r.reason as Error).name, 'QuotaExceededError')
    assert.deepEqual(await store.usage(a), { count: 10, bytes: 3000 })
    assert.equal(store.metrics.rejected.quota, 5)

    const b = mailboxOf(7)
    await put(b, fakeEnvelope(9000))
    await assert.rejects(put(b, fakeEnvelope(1001)), { name: 'QuotaExceededError' })
    await put(b, fakeEnvelope(1000))
    assert.deepEqual(await store.usage(b), { count: 2, bytes: 10_000 })
  })

  it('delete frees quota and ignores unknown ids', async () => {
    const a = mailboxOf(8)
    const envelopes = Array.from({ length: 10 }, () => fakeEnvelope(300))
    for (const e of envelopes) await put(a, e)
    await assert.rejects(put(a, fakeEnvelope()), { name: 'QuotaExceededError' })
    assert.equal(await store.delete(a, [idOf(envelopes[0]), idOf(envelopes[1]), new Uint8Array(16)]), 2)
    assert.equal(await store.delete(mailboxOf(9), [idOf(envelopes[2])]), 0)
    assert.deepEqual(await store.usage(a), { count: 8, bytes: 2400 })
    await put(a, fakeEnvelope())
    const page = await store.fetch(a, undefined, 100, 1 << 20)
    assert.equal(page.envelopes.length, 9)
    assert.equal(page.envelopes.some(e => toHex(e.id) === toHex(idOf(envelopes[0]))), false)
    assert.equal(store.metrics.deleted, 2)
  })

  it('drops envelopes past the retention: fetch skips them at once, the sweep removes and counts them', async () => {
    const a = mailboxOf(10)
    const old = fakeEnvelope()
    await put(a, old)
    clock.t += 20 * DAY
    const recent = fakeEnvelope()
    await put(a, recent)
    clock.t += 10 * DAY // old is exactly 30 days old now
    const page = await store.fetch(a, undefined, 100, 1 << 20)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(recent)])
    assert.equal(await store.sweep(), 1)
    assert.equal(store.metrics.expired, 1)
    assert.deepEqual(await store.usage(a), { count: 1, bytes: recent.length })
    assert.equal(await store.sweep(), 0)
    clock.t += 20 * DAY
    assert.equal(await store.sweep(), 1)
    assert.deepEqual(await store.usage(a), { count: 0, bytes: 0 })
    // Nothing of either is left in the namespace.
    let keys = 0
    for await (const entry of level.iterate('relay')) { void entry; keys++ }
    assert.equal(keys, 0)
  })

  it('a put of an id held past its retention stores it afresh', async () => {
    const a = mailboxOf(12)
    const envelope = fakeEnvelope()
    const first = await store.put(a, idOf(envelope), envelope)
    clock.t += RETENTION_MS
    const again = await store.put(a, idOf(envelope), envelope)
    assert.equal(again.duplicate, false)
    assert.equal(again.storedAt, first.storedAt + RETENTION_MS)
    assert.deepEqual(await store.usage(a), { count: 1, bytes: envelope.length })
    assert.equal((await store.fetch(a, undefined, 10, 1 << 20)).envelopes.length, 1)
    assert.equal(await store.sweep(), 0)
  })

  it('sweeps more expired envelopes than one batch', async () => {
    const many = new EnvelopeStore(level, { now: clock.now, sweepBatch: 7 })
    for (let m = 0; m < 3; m++) {
      for (let i = 0; i < 10; i++) {
        const envelope = fakeEnvelope()
        await many.put(mailboxOf(20 + m), idOf(envelope), envelope)
      }
    }
    clock.t += RETENTION_MS
    const young = fakeEnvelope()
    await many.put(mailboxOf(30), idOf(young), young)
    assert.equal(await many.sweep(), 30)
    assert.equal((await many.usage(mailboxOf(30))).count, 1)
  })

  it('survives closing and reopening the database, usage included', async () => {
    const a = mailboxOf(11)
    const envelopes = Array.from({ length: 3 }, () => fakeEnvelope())
    for (const e of envelopes) await put(a, e)
    await level.close()
    level = new LevelStore(location)
    await level.open()
    store = new EnvelopeStore(level, { now: clock.now, maxEnvelopesPerMailbox: 4 })
    const page = await store.fetch(a, undefined, 100, 1 << 20)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), envelopes.map(toHex))
    assert.equal((await store.usage(a)).count, 3)
    await put(a, fakeEnvelope())
    await assert.rejects(put(a, fakeEnvelope()), { name: 'QuotaExceededError' })
    // The duplicate index survived too.
    assert.equal((await store.put(a, idOf(envelopes[0]), envelopes[0])).duplicate, true)
  })
})
