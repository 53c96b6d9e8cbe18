/**
 * How an {@link EnvelopeStore} stores puts: those of one mailbox that
 * arrive together (a batch of puts, a burst of gossip) are checked one by
 * one under the mailbox's lock and written in ONE synced batch, instead of
 * one synced batch each behind the lock.
 *
 * Each put is checked as it would be alone, in arrival order: its
 * duplicate and tombstone reads, then its charge, which counts at once for
 * the puts after it (ledger.ts), so the quotas hold exactly as one at a
 * time. A copy of an envelope already staged in the group is that put's
 * duplicate. Nobody is answered before the batch holding their envelope is
 * durable (a duplicate of one already held answers at once: it is). One
 * task takes the puts queued when it starts; later ones form the next
 * group, behind whatever else waits for the lock (a delete, a sweep).
 */
import { toHex } from '../crypto/bytes.js'
import { DeletedByOwnerError, InvalidStoreRequestError, QuotaExceededError } from '../protocols/store/errors.js'
import type { PutOutcome, PutSource } from '../protocols/store/store.js'
import type { GroupCommitWriter } from '../store/group-commit.js'
import type { BatchOp, Store } from '../store/store.js'
import type { DigestTable } from './digest-table.js'
import type { EnvelopeStoreMetrics } from './envelope-store.js'
import type { KeyedLock } from './keyed-lock.js'
import { decodeIndexValue, encodeIndexValue, envelopeKey, expiryKey, indexKey, positionTime, tombstoneKey } from './keys.js'
import type { Entry, Ledger } from './ledger.js'
import type { Positions } from './positions.js'
import type { Removals } from './removals.js'
import type { TombstoneFilter } from './tombstone-filter.js'
import { itemKey } from './tombstones.js'

/** One put waiting for its group. */
export interface QueuedPut {
  mailbox: Uint8Array
  id: Uint8Array
  envelope: Uint8Array
  /** SHA-256 of the envelope. */
  hash: Uint8Array
  from: PutSource
  /** The time a linked relay stored it (relay-sync), else now. */
  at?: number
}

/** What {@link PutGroups} works on: the store's parts. */
export interface PutContext {
  store: Store
  writer: GroupCommitWriter
  ledger: Ledger
  locks: KeyedLock
  positions: Positions
  removals: Removals
  table: DigestTable
  tombstones: TombstoneFilter
  metrics: EnvelopeStoreMetrics
  retentionMs: number
  now(): number
  /** Counts a quota refusal by its name. */
  refused(err: QuotaExceededError): void
}

interface Waiting {
  put: QueuedPut
  resolve(outcome: PutOutcome): void
  reject(err: unknown): void
}

/** A put checked and charged, its operations waiting for the group's batch. */
interface Staged {
  waiting: Waiting
  item: Uint8Array
  ops: BatchOp[]
  entry: Entry
  outcome: PutOutcome
  /** Copies of the same envelope in the group: answered as duplicates once it is durable. */
  copies: Waiting[]
}

/** Puts grouped per mailbox (see the file comment). */
export class PutGroups {
  private readonly queues = new Map<string, Waiting[]>()

  constructor (private readonly ctx: PutContext) {}

  /** Stores `put` with the others of its mailbox that arrive with it; resolves once it is durable. */
  async put (put: QueuedPut): Promise<PutOutcome> {
    const hex = toHex(put.mailbox)
    return await new Promise<PutOutcome>((resolve, reject) => {
      let queue = this.queues.get(hex)
      if (queue === undefined) {
        queue = []
        this.queues.set(hex, queue)
        void this.ctx.locks.run(hex, async () => { await this.run(hex) })
      }
      queue.push({ put, resolve, reject })
    })
  }

  /** Under the mailbox's lock: takes the puts queued so far; never rejects (each put hears its own fate). */
  private async run (hex: string): Promise<void> {
    const group = this.queues.get(hex) ?? []
    this.queues.delete(hex)
    try {
      await this.store(group)
    } catch (err) {
      // Unexpected: whoever is not answered yet gets the error (answering twice does nothing).
      for (const waiting of group) waiting.reject(err)
    }
  }

  /** Checks every put of `group`, in order, then writes those staged in one batch. */
  private async store (group: readonly Waiting[]): Promise<void> {
    const staged: Staged[] = []
    const byItem = new Map<string, Staged>()
    for (const waiting of group) {
      const item = itemKey(waiting.put.mailbox, waiting.put.id, waiting.put.hash)
      const same = byItem.get(toHex(item))
      if (same !== undefined) {
        same.copies.push(waiting)
        continue
      }
      try {
        const done = await this.stage(waiting, item)
        if (!('entry' in done)) {
          waiting.resolve(done)
          continue
        }
        staged.push(done)
        byItem.set(toHex(item), done)
      } catch (err) {
        waiting.reject(err)
      }
    }
    if (staged.length === 0) return
    try {
      // The books' writes are computed as the batch forms, and the group commit settles them (tally.ts).
      await this.ctx.writer.commit(staged.flatMap(s => s.ops), { late: staged.map(s => s.entry) })
    } catch (err) {
      for (const s of staged) {
        s.waiting.reject(err)
        for (const copy of s.copies) copy.reject(err)
      }
      return
    }
    for (const s of staged) {
      this.ctx.table.apply({ key: s.item, tombstone: false })
      this.ctx.metrics.stored++
      this.ctx.metrics.storedBytes += s.waiting.put.envelope.length
      s.waiting.resolve(s.outcome)
      for (const copy of s.copies) {
        this.ctx.metrics.duplicates++
        copy.resolve({ ...s.outcome, duplicate: true })
      }
    }
  }

  /**
   * Checks and charges one put (as a put alone would be), or finds it held
   * already (its outcome, durable: answered at once).
   */
  private async stage (waiting: Waiting, item: Uint8Array): Promise<Staged | PutOutcome> {
    const { mailbox, id, envelope, hash, from, at } = waiting.put
    const { store, ledger, metrics, retentionMs } = this.ctx
    const existing = await store.get('relay', indexKey(mailbox, id, hash))
    if (existing !== undefined) {
      const storedAt = positionTime(decodeIndexValue(existing).position)
      if (storedAt + retentionMs > this.ctx.now()) {
        metrics.duplicates++
        return { storedAt, expiresAt: storedAt + retentionMs, duplicate: true, hash }
      }
      // Held past its retention and not yet swept: drop the old copy, keep the new one.
      // Not `expired += await ...`: that reads the counter before the await and loses other mailboxes' counts.
      const removed = await this.ctx.removals.remove(mailbox, [{ id, hash }])
      metrics.expired += removed
    }
    if (this.ctx.tombstones.mightHold(item) && await store.get('relay', tombstoneKey(item)) !== undefined) {
      metrics.deletedByOwner++
      throw new DeletedByOwnerError('the owner of this mailbox already fetched this envelope and deleted it')
    }
    const now = this.ctx.now()
    const storedAt = Math.floor(Math.min(at ?? now, now))
    if (storedAt + retentionMs <= now) throw new InvalidStoreRequestError('the envelope has expired')
    const tag = ledger.tag(from.source)
    let entry: Entry
    try {
      entry = await ledger.charge(mailbox, tag, envelope.length, from)
    } catch (err) {
      if (err instanceof QuotaExceededError) this.ctx.refused(err)
      throw err
    }
    let position: Uint8Array
    try {
      position = await this.ctx.positions.free(mailbox, id, storedAt)
    } catch (err) {
      // A read that fails gives the charge back, as a batch that fails does.
      entry.settled(false)
      throw err
    }
    const ops: BatchOp[] = [
      { type: 'put', namespace: 'relay', key: envelopeKey(mailbox, position, id), value: envelope },
      { type: 'put', namespace: 'relay', key: indexKey(mailbox, id, hash), value: encodeIndexValue(position, envelope.length, tag) },
      { type: 'put', namespace: 'relay', key: expiryKey(position, mailbox, id, hash), value: new Uint8Array(0) }
    ]
    return { waiting, item, ops, entry, outcome: { storedAt, expiresAt: storedAt + retentionMs, duplicate: false, hash }, copies: [] }
  }
}
