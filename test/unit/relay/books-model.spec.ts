/**
 * The relay's books under random concurrency: puts from several sources
 * into a few mailboxes (some over their quotas), copies of envelopes held,
 * owners' deletes with and without proof, a linked relay's puts (with its
 * older times, so positions are read from the store) and deletes, sweeps,
 * all at once, over a store whose every read and batch is delayed at
 * random and whose batches sometimes fail (nothing of them written). After
 * each wave that settles, after restarts between waves and at the end, the
 * counters on disk and those the checks read must equal a recount of what
 * the disk holds (no source past its budget after a restart, none locked
 * out by a count that never comes back), nothing may be left held in
 * memory, and every acknowledged put nothing removed must still be held.
 * Seeded: a failing seed replays.
 */
import assert from 'node:assert/strict'
import { MemoryLevel } from 'memory-level'
import { toHex } from '../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { envelopeRef } from '../../../src/protocols/store/index.js'
import { EnvelopeStore, chargeOf } from '../../../src/relay/index.js'
import type { Usage } from '../../../src/relay/index.js'
import { LevelStore } from '../../../src/store/index.js'
import type { BatchOp, Namespace, WriteOptions } from '../../../src/store/store.js'
import { assertBooks } from './books.js'
import type { Recount } from './books.js'
import { fakeClock, fakeEnvelope } from './helpers.js'
import { seededRandom } from '../../../node/seeded-random.js'

/** Seeds run (each a few hundred operations). */
const SEEDS = 40
const WAVES = 12
const OPS_PER_WAVE = 16
/** Share of batches that fail while operations run. */
const FAIL_RATE = 0.05


/** memory-level whose reads and batches wait 0-3 turns of the event loop, and whose batches fail at `failRate` (before writing). */
class ChaosStore extends LevelStore {
  failRate = 0

  constructor (private readonly random: () => number) {
    super(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
  }

  private async delay (): Promise<void> {
    const turns = Math.floor(this.random() * 4)
    for (let i = 0; i < turns; i++) await new Promise(resolve => setImmediate(resolve))
  }

  override async get (namespace: Namespace, key: Uint8Array): Promise<Uint8Array | undefined> {
    await this.delay()
    return await super.get(namespace, key)
  }

  override async batch (ops: readonly BatchOp[], options?: WriteOptions): Promise<void> {
    await this.delay()
    if (this.random() < this.failRate) throw new Error('the disk said no')
    await super.batch(ops, options)
  }
}

/** The ledger's caches (ledger.ts, tally.ts, usage.ts), read to check nothing stays held and memory agrees with the disk. */
interface LedgerCaches {
  sources: { entries: Map<string, { tally: { live: Usage, disk: Usage }, pins: number }> }
  mailboxes: Map<string, { live: Usage, disk: Usage, busy: number }>
  shares: Map<string, { live: Usage, disk: Usage, busy: number }>
}

function assertCaches (store: EnvelopeStore, r: Recount, what: string): void {
  const ledger = (store as unknown as { ledger: LedgerCaches }).ledger
  const none = { count: 0, bytes: 0 }
  for (const [key, e] of ledger.sources.entries) {
    assert.equal(e.pins, 0, `${what}: a source counter is still pinned`)
    assert.deepEqual([e.tally.live, e.tally.disk], [r.sources.get(key) ?? none, r.sources.get(key) ?? none], `${what}: a source's counter in memory`)
  }
  for (const [key, t] of ledger.mailboxes) {
    assert.equal(t.busy, 0, `${what}: a mailbox counter is still held`)
    assert.deepEqual([t.live, t.disk], [r.mailboxes.get(key) ?? none, r.mailboxes.get(key) ?? none], `${what}: a mailbox's counter in memory`)
  }
  for (const [key, t] of ledger.shares) {
    assert.equal(t.busy, 0, `${what}: a share counter is still held`)
    assert.deepEqual(t.live, r.shares.get(key) ?? none, `${what}: a share's counter in memory`)
  }
  assert.equal(store.mailboxes, [...r.mailboxes.values()].filter(u => u.count > 0).length, `${what}: mailboxes held`)
}

describe('relay/ledger: the books under random concurrency, delays and failed batches', function () {
  this.timeout(300_000)

  for (let seed = 1; seed <= SEEDS; seed++) {
    it(`seed ${seed}`, async () => {
      const random = seededRandom(seed)
      const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]
      const level = new ChaosStore(random)
      await level.open()
      const clock = fakeClock(1_800_000_000_000)
      const init = {
        now: clock.now,
        retentionMs: 100_000,
        maxEnvelopesPerMailbox: 10,
        maxEnvelopesPerMailboxPerSource: 4,
        maxBytesPerSource: 6 * chargeOf(1000),
        maxBytesPerLinkedRelay: 8 * chargeOf(1000),
        maxTotalBytes: 30 * chargeOf(1000)
      }
      const linked = { source: 'relay:linked', linked: true }
      let store = new EnvelopeStore(level, init)
      const check = async (what: string): Promise<void> => {
        level.failRate = 0
        assertCaches(store, await assertBooks(level, what, store), what)
      }
      const restart = async (): Promise<void> => {
        level.failRate = 0
        store = new EnvelopeStore(level, init)
        await store.held()
        level.failRate = FAIL_RATE
      }
      try {
        await restart()
        const mailboxes = [1, 2, 3].map(n => new Uint8Array(32).fill(n))
        const sent: Array<{ mailbox: Uint8Array, envelope: Uint8Array }> = []
        const acked = new Map<string, { mailbox: Uint8Array, envelope: Uint8Array, storedAt: number }>()
        /** Envelopes a delete named: they may be gone. */
        const named = new Set<string>()
        const keyOf = (mailbox: Uint8Array, envelope: Uint8Array): string => toHex(mailbox) + toHex(envelope)
        const ack = (mailbox: Uint8Array, envelope: Uint8Array) => (o: { storedAt: number }) => { acked.set(keyOf(mailbox, envelope), { mailbox, envelope, storedAt: o.storedAt }) }
        let proofs = 0
        for (let wave = 0; wave < WAVES; wave++) {
          const ops: Array<Promise<unknown>> = []
          for (let i = 0; i < OPS_PER_WAVE; i++) {
            const p = random()
            const mailbox = pick(mailboxes)
            if (p < 0.55 || sent.length === 0) {
              const envelope = fakeEnvelope(300 + Math.floor(random() * 900))
              sent.push({ mailbox, envelope })
              ops.push(store.put(mailbox, parseEnvelopeHeader(envelope).id, envelope, { source: `ip4:10.0.0.${Math.floor(random() * 4)}` }).then(ack(mailbox, envelope), () => {}))
              continue
            }
            const old = pick(sent)
            const id = parseEnvelopeHeader(old.envelope).id
            if (p < 0.65) {
              ops.push(store.put(old.mailbox, id, old.envelope, { source: 'ip4:10.0.0.9' }).then(ack(old.mailbox, old.envelope), () => {}))
            } else if (p < 0.72) {
              named.add(keyOf(old.mailbox, old.envelope))
              ops.push(store.delete(old.mailbox, [envelopeRef(id, old.envelope)]).catch(() => {}))
            } else if (p < 0.8) {
              named.add(keyOf(old.mailbox, old.envelope))
              ops.push(store.delete(old.mailbox, [envelopeRef(id, old.envelope)], { signed: new Uint8Array(64).fill(++proofs % 250), timestamp: clock.now() }).catch(() => {}))
            } else if (p < 0.86) {
              const envelope = fakeEnvelope(300 + Math.floor(random() * 900))
              sent.push({ mailbox, envelope })
              ops.push(store.putSynced(mailbox, parseEnvelopeHeader(envelope).id, envelope, clock.now() - Math.floor(random() * 50_000), linked).then(ack(mailbox, envelope), () => {}))
            } else if (p < 0.92) {
              named.add(keyOf(old.mailbox, old.envelope))
              const other = fakeEnvelope(400)
              const refs = [envelopeRef(id, old.envelope), envelopeRef(parseEnvelopeHeader(other).id, other)]
              ops.push(store.applyDelete(old.mailbox, refs, { signed: new Uint8Array(80).fill(++proofs % 250), timestamp: clock.now() }, linked).catch(() => {}))
            } else {
              ops.push(store.sweep().catch(() => {}))
            }
          }
          if (random() < 0.3) clock.t += Math.floor(random() * 60_000)
          await Promise.all(ops)
          if (random() < 0.15) {
            await check(`seed ${seed}, wave ${wave}`)
            await restart()
          }
        }
        await check(`seed ${seed}, at the end`)
        await restart()
        await check(`seed ${seed}, after a restart`)
        const held = new Set<string>()
        for (const mailbox of mailboxes) {
          for (const e of (await store.fetch(mailbox, undefined, 1000, 1 << 24)).envelopes) held.add(keyOf(mailbox, e.envelope))
        }
        for (const [key, a] of acked) {
          if (named.has(key) || a.storedAt + init.retentionMs <= clock.now()) continue
          assert.ok(held.has(key), `seed ${seed}: an acknowledged put is gone`)
        }
      } finally {
        level.failRate = 0
        await store.flush()
        await level.close()
      }
    })
  }
})
