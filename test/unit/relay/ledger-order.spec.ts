/**
 * The relay's books on disk hold whatever order batches land in. A source's
 * counter and the relay's total are shared across mailboxes, so the
 * batches that write them can complete in another order than their charges
 * were made: a put whose free position must be read from the store (after
 * a restart in the same millisecond, or a clock set back) commits after a
 * later put that needed no read; a delete's batch can fail while the next
 * put waits behind it. Each attack ends with a restart of the books from
 * the same database (memory-level) and a source that must still be held
 * to its budget.
 */
import assert from 'node:assert/strict'
import { MemoryLevel } from 'memory-level'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { envelopeRef } from '../../../src/protocols/store/index.js'
import { EnvelopeStore, chargeOf } from '../../../src/relay/index.js'
import { LevelStore } from '../../../src/store/index.js'
import type { BatchOp, Namespace, WriteOptions } from '../../../src/store/store.js'
import { fakeClock, fakeEnvelope, waitFor } from './helpers.js'

const ENVELOPE_KEY = 0x45
const INDEX_KEY = 0x48
const FROM = { source: 'ip4:127.0.0.7' }
const SIZE = 401

function mailboxOf (n: number): Uint8Array {
  return new Uint8Array(32).fill(n)
}

function idOf (envelope: Uint8Array): Uint8Array {
  return parseEnvelopeHeader(envelope).id
}

/** A gate a store operation waits at: `reached` settles when it is hit, `open()` lets it through. */
interface Gate {
  matches(key: Uint8Array): boolean
  reached: Promise<void>
  hit(): void
  open(): void
  opened: Promise<void>
}

function gate (matches: (key: Uint8Array) => boolean): Gate {
  let hit!: () => void
  let open!: () => void
  const reached = new Promise<void>(resolve => { hit = resolve })
  const opened = new Promise<void>(resolve => { open = resolve })
  return { matches, reached, hit, open, opened }
}

/** A store on memory-level whose reads or batches can be held at a gate (a slow disk), and a held batch made to fail. */
class SlowStore extends LevelStore {
  readGate: Gate | undefined
  batchGate: Gate | undefined
  /** The batch held at `batchGate` fails once let through (nothing of it is written). */
  failHeldBatch = false

  constructor () {
    super(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
  }

  override async get (namespace: Namespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    const held = this.readGate
    if (held?.matches(key) === true) {
      this.readGate = undefined
      held.hit()
      await held.opened
    }
    return await super.get(namespace, key)
  }

  override async batch (ops: readonly BatchOp[], options?: WriteOptions): Promise<void> {
    const held = this.batchGate
    if (held != null && ops.some(op => held.matches(op.key))) {
      this.batchGate = undefined
      held.hit()
      await held.opened
      if (this.failHeldBatch) throw new Error('the disk said no')
    }
    await super.batch(ops, options)
  }
}

describe('relay/ledger: counters on disk whatever order batches land in', () => {
  let level: SlowStore
  const clock = fakeClock(1_800_000_000_000)
  // Room for exactly three envelopes of this source.
  const budgets = { now: clock.now, maxBytesPerSource: 3 * chargeOf(SIZE) }

  beforeEach(async () => {
    level = new SlowStore()
    await level.open()
  })

  afterEach(async () => {
    await level.close()
  })

  async function outcome (store: EnvelopeStore, mailbox: Uint8Array): Promise<string> {
    const envelope = fakeEnvelope(SIZE)
    try {
      await store.put(mailbox, idOf(envelope), envelope, FROM)
      return 'ok'
    } catch (err) {
      return (err as { quota?: string }).quota ?? (err as Error).name
    }
  }

  it('two puts of one source whose commits complete in the reverse order: after a restart the source and the relay still count both', async () => {
    let store = new EnvelopeStore(level, budgets)
    assert.equal(await outcome(store, mailboxOf(1)), 'ok')
    // Restarted in the same millisecond: every position is read from the store before the put commits.
    store = new EnvelopeStore(level, budgets)
    await store.held()
    const first = mailboxOf(0xaa)
    level.readGate = gate(key => key[0] === ENVELOPE_KEY && key[1] === 0xaa)
    const held = level.readGate
    const slow = outcome(store, first)
    await held.reached
    // Charged after the first, committed before it.
    assert.equal(await outcome(store, mailboxOf(0xbb)), 'ok')
    held.open()
    assert.equal(await slow, 'ok')
    assert.deepEqual(await store.held(), { count: 3, bytes: 3 * chargeOf(SIZE) })

    store = new EnvelopeStore(level, budgets)
    assert.deepEqual(await store.held(), { count: 3, bytes: 3 * chargeOf(SIZE) }, 'the total on disk lost a put')
    assert.equal(await outcome(store, mailboxOf(3)), 'source-budget', 'after a restart the source got past its budget')
  })

  it('a delete whose batch fails while a put of the same source waits behind it: after a restart the deleted-but-kept envelope still counts', async () => {
    let store = new EnvelopeStore(level, budgets)
    const kept = fakeEnvelope(SIZE)
    await store.put(mailboxOf(0xcc), idOf(kept), kept, FROM)
    assert.equal(await outcome(store, mailboxOf(2)), 'ok')
    level.batchGate = gate(key => key[0] === INDEX_KEY && key[1] === 0xcc)
    level.failHeldBatch = true
    const held = level.batchGate
    const deleting = store.delete(mailboxOf(0xcc), [envelopeRef(idOf(kept), kept)]).then(() => 'ok', (err: Error) => err.message)
    await held.reached
    // Charged while the delete's batch is under way; written in the next batch, once the delete's has failed.
    const before = (await store.held()).count
    const putting = outcome(store, mailboxOf(3))
    await waitFor('the put charged', async () => (await store.held()).count === before + 1)
    held.open()
    assert.equal(await deleting, 'the disk said no')
    assert.equal(await putting, 'ok')
    assert.equal((await store.fetch(mailboxOf(0xcc), undefined, 10, 1 << 20)).envelopes.length, 1, 'the envelope is still held')

    store = new EnvelopeStore(level, budgets)
    assert.deepEqual(await store.held(), { count: 3, bytes: 3 * chargeOf(SIZE) }, 'the total on disk gave back an envelope it still holds')
    assert.equal(await outcome(store, mailboxOf(4)), 'source-budget', 'after a restart the source got past its budget')
  })
})
