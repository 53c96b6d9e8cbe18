/**
 * A put of a new envelope reads the store once (its index, for a
 * duplicate): shares are cached, tombstones are ruled out by an in-memory
 * filter, positions by the newest time held at open. Each cache is
 * attacked here: a source trying to pass its share of a mailbox through a
 * cache left stale by a batch that failed after reaching the disk, or by a
 * refund; an envelope its owner deleted put again at once, after a
 * restart, and with a filter past its capacity; a position that comes round
 * again after a restart with the clock set back.
 */
import assert from 'node:assert/strict'
import { toHex } from '../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { envelopeRef } from '../../../src/protocols/store/index.js'
import { EnvelopeStore } from '../../../src/relay/index.js'
import { itemKey } from '../../../src/relay/tombstones.js'
import { TombstoneFilter } from '../../../src/relay/tombstone-filter.js'
import { LevelStore } from '../../../src/store/index.js'
import type { BatchOp, Namespace, WriteOptions } from '../../../src/store/store.js'
import { fakeClock, fakeEnvelope, tempDir } from './helpers.js'
import type { FakeClock } from './helpers.js'

const FROM = { source: 'ip4:127.0.0.2' }
const PROOF = { signed: new Uint8Array(64).fill(7), timestamp: 1_800_000_000_000 }

function mailboxOf (n: number): Uint8Array {
  return new Uint8Array(32).fill(n)
}

function idOf (envelope: Uint8Array): Uint8Array {
  return parseEnvelopeHeader(envelope).id
}

/** A LevelStore that counts reads and can make its next batch fail after it reached the disk, or a read fail. */
class WatchedStore extends LevelStore {
  gets = 0
  failAfterWrite = false
  /** The next read of an envelope key ('E') fails (a disk error while a put looks for a free position). */
  failEnvelopeRead = false

  override async get (namespace: Namespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    this.gets++
    if (this.failEnvelopeRead && key[0] === 0x45) {
      this.failEnvelopeRead = false
      throw new Error('the disk said no (reading)')
    }
    return await super.get(namespace, key)
  }

  override async batch (ops: readonly BatchOp[], options?: WriteOptions): Promise<void> {
    await super.batch(ops, options)
    if (this.failAfterWrite) {
      this.failAfterWrite = false
      throw new Error('the disk said no (after writing)')
    }
  }
}

async function outcome (promise: Promise<unknown>): Promise<string> {
  try {
    await promise
    return 'ok'
  } catch (err) {
    return (err as { quota?: string }).quota ?? (err as Error).name
  }
}

describe('relay/envelope-store: the reads of a put', () => {
  let level: WatchedStore
  let location: string
  let remove: () => Promise<void>
  let clock: FakeClock

  beforeEach(async () => {
    const tmp = await tempDir()
    remove = tmp.remove
    location = `${tmp.dir}/db`
    level = new WatchedStore(location)
    await level.open()
    clock = fakeClock(1_800_000_000_000)
  })

  afterEach(async () => {
    await level.close().catch(() => {})
    await remove()
  })

  it('a new envelope reads the store once once the books are warm', async () => {
    const store = new EnvelopeStore(level, { now: clock.now })
    const mailbox = mailboxOf(1)
    await store.put(mailbox, idOf(fakeEnvelope()), fakeEnvelope(), FROM).catch(() => {})
    const first = fakeEnvelope()
    await store.put(mailbox, idOf(first), first, FROM)
    const before = level.gets
    for (let i = 0; i < 20; i++) {
      clock.t++
      const envelope = fakeEnvelope()
      await store.put(mailbox, idOf(envelope), envelope, FROM)
    }
    assert.equal(level.gets - before, 20, 'one read (the index) per put')
  })

  it('a source cannot pass its share of a mailbox through a batch that failed after reaching the disk', async () => {
    const store = new EnvelopeStore(level, { now: clock.now, maxEnvelopesPerMailboxPerSource: 4 })
    const victim = mailboxOf(2)
    const put = async (): Promise<string> => {
      const envelope = fakeEnvelope()
      return await outcome(store.put(victim, idOf(envelope), envelope, FROM))
    }
    for (let i = 0; i < 3; i++) assert.equal(await put(), 'ok')
    level.failAfterWrite = true
    assert.equal(await put(), 'Error', 'the put failed (its batch is on disk all the same)')
    // The disk holds 4 of this source's envelopes in the mailbox: its share is used up.
    assert.equal(await put(), 'mailbox-share')
    assert.equal((await store.fetch(victim, undefined, 100, 1 << 20)).envelopes.length, 4)
  })

  it('a share given back by a delete is taken again only up to the share, and a restart gives nothing more', async () => {
    let store = new EnvelopeStore(level, { now: clock.now, maxEnvelopesPerMailboxPerSource: 3 })
    const victim = mailboxOf(3)
    const held: Uint8Array[] = []
    const put = async (): Promise<string> => {
      const envelope = fakeEnvelope()
      const result = await outcome(store.put(victim, idOf(envelope), envelope, FROM))
      if (result === 'ok') held.push(envelope)
      return result
    }
    for (let i = 0; i < 3; i++) assert.equal(await put(), 'ok')
    assert.equal(await put(), 'mailbox-share')
    const gone = held.shift() as Uint8Array
    assert.equal(await store.delete(victim, [envelopeRef(idOf(gone), gone)]), 1)
    assert.deepEqual(await Promise.all([put(), put(), put()]).then(r => r.sort()), ['mailbox-share', 'mailbox-share', 'ok'])
    store = new EnvelopeStore(level, { now: clock.now, maxEnvelopesPerMailboxPerSource: 3 })
    assert.equal(await put(), 'mailbox-share')
    assert.equal((await store.fetch(victim, undefined, 100, 1 << 20)).envelopes.length, 3)
  })

  it('an envelope its owner deleted is refused when put again: at once, after a restart, and with the filter past its capacity', async () => {
    const mailbox = mailboxOf(4)
    const envelopes = Array.from({ length: 6 }, () => fakeEnvelope())
    let store = new EnvelopeStore(level, { now: clock.now })
    for (const e of envelopes) await store.put(mailbox, idOf(e), e, FROM)
    assert.equal(await store.delete(mailbox, envelopes.map(e => envelopeRef(idOf(e), e)), PROOF), 6)
    for (const e of envelopes) assert.equal(await outcome(store.put(mailbox, idOf(e), e, FROM)), 'DeletedByOwnerError')
    for (const capacity of [undefined, 1]) {
      store = new EnvelopeStore(level, { now: clock.now, tombstoneFilterCapacity: capacity })
      for (const e of envelopes) assert.equal(await outcome(store.put(mailbox, idOf(e), e, FROM)), 'DeletedByOwnerError')
    }
    // Another version of a deleted id has no tombstone: it is stored.
    const other = fakeEnvelope()
    other.set(idOf(envelopes[0]), 1)
    assert.equal(await outcome(store.put(mailbox, idOf(other), other, FROM)), 'ok')
  })

  it('a position that comes round again after a restart in the same millisecond (or a clock set back to it) keeps both versions', async () => {
    const mailbox = mailboxOf(5)
    const first = fakeEnvelope()
    const second = fakeEnvelope()
    second.set(idOf(first), 1)
    let store = new EnvelopeStore(level, { now: clock.now })
    clock.t += 1000
    await store.put(mailbox, idOf(first), first, FROM)
    // Restarted (its sequence begins again) within the same millisecond: the same position comes round.
    store = new EnvelopeStore(level, { now: clock.now })
    await store.put(mailbox, idOf(second), second, { source: 'ip4:127.0.0.3' })
    const page = await store.fetch(mailbox, undefined, 100, 1 << 20)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)).sort(), [first, second].map(toHex).sort())
  })

  it('a put whose free-position read fails gives its charge back (the source and the relay are not left charged for nothing)', async () => {
    const mailbox = mailboxOf(6)
    let store = new EnvelopeStore(level, { now: clock.now })
    const first = fakeEnvelope()
    await store.put(mailbox, idOf(first), first, FROM)
    const before = await store.held()
    // Restarted in the same millisecond: the position is read, and the read fails.
    store = new EnvelopeStore(level, { now: clock.now })
    await store.held()
    level.failEnvelopeRead = true
    const second = fakeEnvelope()
    assert.equal(await outcome(store.put(mailbox, idOf(second), second, FROM)), 'Error')
    assert.deepEqual(await store.held(), before, 'nothing was stored, nothing stays charged')
    assert.equal(await outcome(store.put(mailbox, idOf(second), second, FROM)), 'ok')
  })

  it('the tombstone filter never answers no for an item it was told of, and answers maybe until built', async () => {
    const filter = new TombstoneFilter(level, 1000)
    const item = (): Uint8Array => itemKey(crypto.getRandomValues(new Uint8Array(32)), crypto.getRandomValues(new Uint8Array(16)), crypto.getRandomValues(new Uint8Array(32)))
    const told = Array.from({ length: 5000 }, item)
    for (const i of told) filter.add(i)
    assert.equal(filter.mightHold(item()), true, 'maybe before it is built')
    await filter.build()
    assert.ok(told.every(i => filter.mightHold(i)))
    const fresh = new TombstoneFilter(level)
    await fresh.build()
    const others = Array.from({ length: 2000 }, item)
    assert.ok(others.filter(i => fresh.mightHold(i)).length < 20, 'an empty filter answers no')
  })
})
