/**
 * The relay's envelope store on a real LevelDB: order, paging,
 * de-duplication, quotas, deletes, retention, reopening; and the budgets
 * that hold against sybils: the relay's total, per source (fresh peer ids
 * change nothing: the store only sees the source), a source's share of a
 * mailbox, linked relays' gossip, and deletes that name content hashes.
 */
import assert from 'node:assert/strict'
import { toHex } from '../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { envelopeRef } from '../../../src/protocols/store/index.js'
import { ENTRY_OVERHEAD_BYTES, EnvelopeStore, RETENTION_MS, chargeOf } from '../../../src/relay/index.js'
import { LevelStore } from '../../../src/store/index.js'
import { encodePosition, envelopeKey, legacyExpiryKey, legacyIndexKey, legacyIndexRange } from '../../../src/relay/keys.js'
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

function refOf (envelope: Uint8Array): { id: Uint8Array, hash: Uint8Array } {
  return envelopeRef(idOf(envelope), envelope)
}

/** One sender's address, as the store server would name it. */
const FROM = { source: 'ip4:127.0.0.1' }

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

  async function put (mailbox: Uint8Array, envelope: Uint8Array, from = FROM): Promise<void> {
    await store.put(mailbox, idOf(envelope), envelope, from)
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
    await assert.rejects(store.put(mailboxOf(1).subarray(2), new Uint8Array(16), fakeEnvelope(), FROM), { name: 'InvalidStoreRequestError' })
  })

  it('stores a duplicate id once and returns the original times', async () => {
    const a = mailboxOf(5)
    const envelope = fakeEnvelope()
    const first = await store.put(a, idOf(envelope), envelope, FROM)
    clock.t += 5000
    const second = await store.put(a, idOf(envelope), envelope, FROM)
    assert.equal(first.duplicate, false)
    assert.equal(second.duplicate, true)
    assert.equal(second.storedAt, first.storedAt)
    assert.equal(second.expiresAt, first.storedAt + RETENTION_MS)
    assert.deepEqual(await store.usage(a), { count: 1, bytes: envelope.length })
    assert.equal(store.metrics.stored, 1)
    assert.equal(store.metrics.duplicates, 1)
  })

  it('keeps other bytes under a held id as a version of their own: each served, each charged to its source, each deleted only by its hash', async () => {
    const a = mailboxOf(12)
    const real = fakeEnvelope()
    const junk = fakeEnvelope(900)
    junk.set(idOf(real), 1)
    assert.equal((await store.put(a, idOf(junk), junk, { source: 'ip4:10.9.9.9' })).duplicate, false)
    assert.equal((await store.put(a, idOf(real), real, FROM)).duplicate, false, 'the real bytes are not a duplicate of the junk')
    assert.equal((await store.put(a, idOf(real), real, FROM)).duplicate, true, 'the same bytes again are')
    const page = await store.fetch(a, undefined, 100, 1 << 20)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [junk, real].map(toHex))
    assert.deepEqual(await store.usage(a), { count: 2, bytes: junk.length + real.length })
    assert.deepEqual(await store.held(), { count: 2, bytes: chargeOf(junk.length) + chargeOf(real.length) })
    assert.equal(await store.delete(a, [refOf(junk)]), 1)
    assert.deepEqual((await store.fetch(a, undefined, 100, 1 << 20)).envelopes.map(e => toHex(e.envelope)), [toHex(real)])
    assert.deepEqual(await store.held(), { count: 1, bytes: chargeOf(real.length) })
  })

  it('two versions of an id stored at the same time and sequence (after a restart) keep their own bytes', async () => {
    const a = mailboxOf(13)
    const first = fakeEnvelope()
    const second = fakeEnvelope()
    second.set(idOf(first), 1)
    await store.put(a, idOf(first), first, FROM)
    // A restart begins the sequence again, and a linked relay names the time of what it hands over.
    store = new EnvelopeStore(level, { now: clock.now })
    await store.putSynced(a, idOf(second), second, clock.t, { source: 'relay:x', linked: true })
    const page = await store.fetch(a, undefined, 100, 1 << 20)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)).sort(), [first, second].map(toHex).sort())
    assert.equal(new Set(page.envelopes.map(e => toHex(e.envelope))).size, 2)
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
    assert.equal(await store.delete(a, [refOf(envelopes[0]), refOf(envelopes[1]), { id: new Uint8Array(16), hash: new Uint8Array(32) }]), 2)
    assert.equal(await store.delete(mailboxOf(9), [refOf(envelopes[2])]), 0)
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
    // Nothing of either is left in the namespace: only the tag key and the (zero) total.
    const left: string[] = []
    for await (const [key] of level.iterate('relay')) left.push(String.fromCharCode(key[0]))
    assert.deepEqual(left.sort(), ['K', 'U'])
    assert.deepEqual(await store.held(), { count: 0, bytes: 0 })
  })

  it('a put of an id held past its retention stores it afresh', async () => {
    const a = mailboxOf(12)
    const envelope = fakeEnvelope()
    const first = await store.put(a, idOf(envelope), envelope, FROM)
    clock.t += RETENTION_MS
    const again = await store.put(a, idOf(envelope), envelope, FROM)
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
        await many.put(mailboxOf(20 + m), idOf(envelope), envelope, FROM)
      }
    }
    clock.t += RETENTION_MS
    const young = fakeEnvelope()
    await many.put(mailboxOf(30), idOf(young), young, FROM)
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
    assert.equal((await store.put(a, idOf(envelopes[0]), envelopes[0], FROM)).duplicate, true)
  })
})

describe('relay/envelope-store budgets', () => {
  let level: LevelStore
  let location: string
  let remove: () => Promise<void>
  let clock: FakeClock

  beforeEach(async () => {
    const tmp = await tempDir()
    remove = tmp.remove
    location = `${tmp.dir}/db`
    level = new LevelStore(location)
    await level.open()
    clock = fakeClock(1_800_000_000_000)
  })

  afterEach(async () => {
    await level.close().catch(() => {})
    await remove()
  })

  /** Puts `envelope` and says how it went: 'ok' or the quota that refused it. */
  async function attempt (store: EnvelopeStore, mailbox: Uint8Array, envelope: Uint8Array, from: { source: string, linked?: boolean }): Promise<string> {
    try {
      await store.put(mailbox, idOf(envelope), envelope, from)
      return 'ok'
    } catch (err) {
      assert.equal((err as Error).name, 'QuotaExceededError')
      return (err as Error & { quota: string }).quota
    }
  }

  function randomMailbox (): Uint8Array {
    return crypto.getRandomValues(new Uint8Array(32))
  }

  it('one source filling random mailboxes stops at its budget (envelopes + overhead), concurrent puts included; another source still gets in; a restart gives it no new budget', async () => {
    const budget = 20 * chargeOf(1000)
    let store = new EnvelopeStore(level, { now: clock.now, maxBytesPerSource: budget })
    const attacker = { source: 'ip4:127.0.0.2' }
    const outcomes = await Promise.all(Array.from({ length: 60 }, async () => await attempt(store, randomMailbox(), fakeEnvelope(1000), attacker)))
    assert.equal(outcomes.filter(o => o === 'ok').length, 20)
    assert.equal(outcomes.filter(o => o === 'source-budget').length, 40)
    assert.deepEqual(await store.held(), { count: 20, bytes: budget })
    assert.equal(store.metrics.rejected.sourceBudget, 40)
    assert.equal(await attempt(store, randomMailbox(), fakeEnvelope(1000), { source: 'ip4:127.0.0.3' }), 'ok')

    await level.close()
    level = new LevelStore(location)
    await level.open()
    store = new EnvelopeStore(level, { now: clock.now, maxBytesPerSource: budget })
    assert.equal(await attempt(store, randomMailbox(), fakeEnvelope(1000), attacker), 'source-budget')
    assert.deepEqual(await store.held(), { count: 21, bytes: 21 * chargeOf(1000) })
    // What the source's recipients delete (or what expires) gives its budget back.
    clock.t += RETENTION_MS
    assert.equal(await store.sweep(), 21)
    assert.deepEqual(await store.held(), { count: 0, bytes: 0 })
    assert.equal(await attempt(store, randomMailbox(), fakeEnvelope(1000), attacker), 'ok')
  })

  it('one source may fill only its share of a mailbox; the mailbox then still takes others until full, refusing by name and evicting nothing', async () => {
    const store = new EnvelopeStore(level, { now: clock.now, maxEnvelopesPerMailbox: 10, maxEnvelopesPerMailboxPerSource: 4, maxBytesPerMailboxPerSource: 100_000 })
    const victim = mailboxOf(40)
    const acknowledged: string[] = []
    const tryPut = async (source: string): Promise<string> => {
      const envelope = fakeEnvelope()
      const outcome = await attempt(store, victim, envelope, { source })
      if (outcome === 'ok') acknowledged.push(toHex(envelope))
      return outcome
    }
    const attacker = await Promise.all(Array.from({ length: 12 }, async () => await tryPut('ip4:127.0.0.2')))
    assert.equal(attacker.filter(o => o === 'ok').length, 4)
    assert.ok(attacker.filter(o => o !== 'ok').every(o => o === 'mailbox-share'))
    for (const friend of ['ip4:127.0.0.3', 'ip4:127.0.0.4']) {
      for (let i = 0; i < 3; i++) assert.equal(await tryPut(friend), 'ok')
    }
    assert.equal(await tryPut('ip4:127.0.0.5'), 'mailbox-full')
    // Every acknowledged envelope is still there.
    const page = await store.fetch(victim, undefined, 100, 1 << 20)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)).sort(), acknowledged.sort())
    assert.equal(acknowledged.length, 10)
    // A share is bytes too.
    const bytes = new EnvelopeStore(level, { now: clock.now, maxBytesPerMailboxPerSource: 2500 })
    assert.equal(await attempt(bytes, mailboxOf(41), fakeEnvelope(2000), { source: 'ip4:127.0.0.6' }), 'ok')
    assert.equal(await attempt(bytes, mailboxOf(41), fakeEnvelope(600), { source: 'ip4:127.0.0.6' }), 'mailbox-share')
  })

  it('gossip of a linked relay skips the mailbox share but stops at the link budget; the relay total bounds everyone', async () => {
    const store = new EnvelopeStore(level, {
      now: clock.now,
      maxEnvelopesPerMailboxPerSource: 2,
      maxBytesPerLinkedRelay: 5 * chargeOf(500),
      maxTotalBytes: 8 * chargeOf(500)
    })
    const victim = mailboxOf(42)
    const link = { source: 'relay:12D3KooWlinked', linked: true }
    const fromLink = []
    for (let i = 0; i < 6; i++) fromLink.push(await attempt(store, victim, fakeEnvelope(500), link))
    assert.deepEqual(fromLink, ['ok', 'ok', 'ok', 'ok', 'ok', 'source-budget'])
    const direct = []
    for (let i = 0; i < 4; i++) direct.push(await attempt(store, randomMailbox(), fakeEnvelope(500), { source: `ip4:10.0.0.${i}` }))
    assert.deepEqual(direct, ['ok', 'ok', 'ok', 'relay-full'])
    assert.equal(store.metrics.rejected.relayFull, 1)
    assert.equal(ENTRY_OVERHEAD_BYTES, chargeOf(0))
  })

  it('a delete removes an envelope only when it names its hash', async () => {
    const store = new EnvelopeStore(level, { now: clock.now })
    const a = mailboxOf(43)
    const real = fakeEnvelope()
    await store.put(a, idOf(real), real, FROM)
    const junk = fakeEnvelope()
    junk.set(idOf(real), 1)
    assert.equal(await store.delete(a, [refOf(junk)]), 0)
    assert.equal(store.metrics.hashMismatches, 1)
    assert.equal((await store.usage(a)).count, 1)
    assert.equal(await store.delete(a, [refOf(real)]), 1)
    assert.deepEqual(await store.held(), { count: 0, bytes: 0 })
    await assert.rejects(store.delete(a, [{ id: idOf(real), hash: new Uint8Array(16) }]), { name: 'InvalidStoreRequestError' })
  })

  it('a store written before budgets, hashes and versions gets its index moved and its counters rebuilt; its envelopes can still be deleted by hash', async () => {
    // Envelopes as earlier versions wrote them: 16-byte index values (no tag, no hash), then 56 bytes (tag and hash), keyed by id alone.
    const a = mailboxOf(44)
    const old = [fakeEnvelope(), fakeEnvelope(700), fakeEnvelope(500)]
    for (const [i, envelope] of old.entries()) {
      const position = encodePosition(clock.t, i)
      const legacyIndex = new Uint8Array(i < 2 ? 16 : 56)
      legacyIndex.set(position)
      new DataView(legacyIndex.buffer).setUint32(12, envelope.length, false)
      if (i === 2) legacyIndex.set(refOf(envelope).hash, 24)
      await level.batch([
        { type: 'put', namespace: 'relay', key: envelopeKey(a, position, idOf(envelope)), value: envelope },
        { type: 'put', namespace: 'relay', key: legacyIndexKey(a, idOf(envelope)), value: legacyIndex },
        { type: 'put', namespace: 'relay', key: legacyExpiryKey(position, a, idOf(envelope)), value: new Uint8Array(0) }
      ])
    }
    const store = new EnvelopeStore(level, { now: clock.now })
    const charged = old.reduce((n, e) => n + chargeOf(e.length), 0)
    assert.deepEqual(await store.held(), { count: 3, bytes: charged })
    const legacyLeft: unknown[] = []
    for await (const entry of level.iterate('relay', legacyIndexRange())) legacyLeft.push(entry)
    assert.equal(legacyLeft.length, 0, 'every legacy index entry moved')
    assert.equal((await store.put(a, idOf(old[2]), old[2], FROM)).duplicate, true)
    assert.equal(await store.delete(a, [refOf(fakeEnvelope())].map(r => ({ ...r, id: idOf(old[0]) }))), 0)
    assert.equal(await store.delete(a, [refOf(old[0])]), 1)
    assert.deepEqual(await store.held(), { count: 2, bytes: charged - chargeOf(old[0].length) })
    clock.t += RETENTION_MS
    assert.equal(await store.sweep(), 2, 'the moved expiry keys find their envelopes')
    assert.deepEqual(await store.held(), { count: 0, bytes: 0 })
  })

  it('keeps at most its bound of source counters in memory, and reads evicted ones back from disk', async () => {
    const store = new EnvelopeStore(level, { now: clock.now, sourceCacheSize: 3, maxBytesPerSource: 2 * chargeOf(401) })
    for (let i = 0; i < 10; i++) assert.equal(await attempt(store, randomMailbox(), fakeEnvelope(), { source: `ip4:10.0.1.${i}` }), 'ok')
    assert.ok(store.cachedSources <= 3, `${store.cachedSources} source counters cached`)
    for (let i = 0; i < 10; i++) assert.equal(await attempt(store, randomMailbox(), fakeEnvelope(), { source: `ip4:10.0.1.${i}` }), 'ok')
    for (let i = 0; i < 10; i++) assert.equal(await attempt(store, randomMailbox(), fakeEnvelope(), { source: `ip4:10.0.1.${i}` }), 'source-budget')
    assert.ok(store.cachedSources <= 3)
  })
})
