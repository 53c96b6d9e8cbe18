/**
 * The envelopes a relay holds, in the store's `relay` namespace (layout in
 * keys.ts). What the relay keeps is what it needs and no more: the mailbox
 * id, the envelope (opaque: the sender is sealed inside), its size and when
 * it arrived. Writes are durable when they resolve (synced group commit).
 *
 * Budgets (usage.ts): the whole relay's storage, what one source may keep,
 * what one source may keep in one mailbox (its share), and the mailbox's
 * own quota. A put that would exceed one is refused with the quota's name;
 * nothing held is ever evicted to make room. The counters (ledger.ts:
 * mailbox, share, source, total) are written in the same batch as the
 * envelope and cached within bounds. A put reads keys and never iterates:
 * LevelDB iterators kept the files a compaction had replaced on disk (twice
 * the bytes). Writes to one mailbox are serialised so that quota checks and
 * de-duplication see each other. Envelopes older than the retention are
 * skipped by fetches at once and removed by {@link EnvelopeStore.sweep}.
 *
 * A delete names each envelope by id and SHA-256 of its bytes, so junk
 * served elsewhere under a real id cannot remove the real envelope here.
 */
import { logger } from '@libp2p/logger'
import { sha256 } from '@noble/hashes/sha2.js'
import { GroupCommitWriter } from '../store/group-commit.js'
import { prefixRange } from '../store/keys.js'
import type { BatchOp, Store } from '../store/store.js'
import { bytesEqual, toHex } from '../crypto/bytes.js'
import { ENVELOPE_ID_LENGTH } from '../crypto/envelope.js'
import { checkMailbox } from '../protocols/store/mailbox.js'
import { InvalidStoreRequestError, QuotaExceededError } from '../protocols/store/errors.js'
import type { EnvelopeRef, MailboxPage, PutOutcome, StoredEnvelopeEntry } from '../protocols/store/store.js'
import {
  CURSOR_LENGTH, HASH_LENGTH, cursorOfEnvelopeKey, decodeExpiryKey, decodeIndexValue, encodeIndexValue, encodePosition, envelopeKey,
  envelopePrefix, expiryKey, expiryRangeBefore, idOfEnvelopeKey, indexKey, positionTime
} from './keys.js'
import { KeyedLock } from './keyed-lock.js'
import { Ledger } from './ledger.js'
import type { Entry, Removed } from './ledger.js'
import { resolveBudgets } from './usage.js'
import type { Budgets, PutSource, Usage } from './usage.js'

const log = logger('starling:relay:store')

/** Envelopes are kept this long after they arrive (30 days). */
export const RETENTION_MS = 30 * 24 * 60 * 60 * 1000
export { USAGE_CACHE_SIZE } from './ledger.js'
/** Expired envelopes removed per sweep batch. */
export const SWEEP_BATCH = 1000

/** Options of an {@link EnvelopeStore}: its budgets (defaults in usage.ts), retention and clock. */
export interface EnvelopeStoreInit extends Partial<Budgets> {
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number
  retentionMs?: number
  /** Expired envelopes removed per sweep batch (default {@link SWEEP_BATCH}). */
  sweepBatch?: number
  /** Source counters cached in memory (default SOURCE_CACHE_SIZE). */
  sourceCacheSize?: number
}

/** Counters of an {@link EnvelopeStore} (a plain object, for export). */
export interface EnvelopeStoreMetrics {
  stored: number
  storedBytes: number
  duplicates: number
  fetched: number
  deleted: number
  /** Deletes that named an id this relay holds with other bytes (junk served elsewhere under a real id). */
  hashMismatches: number
  expired: number
  /** Puts refused, in all and by quota. */
  rejected: { quota: number, mailboxFull: number, mailboxShare: number, sourceBudget: number, relayFull: number }
}

/** Envelopes and bytes one mailbox holds. */
export interface MailboxUsage {
  count: number
  bytes: number
}

/** An envelope to remove: by id, and only if its bytes hash to `hash` when one is given. */
interface Removal {
  id: Uint8Array
  hash?: Uint8Array
}

const REJECTED_FIELD = {
  'mailbox-full': 'mailboxFull',
  'mailbox-share': 'mailboxShare',
  'source-budget': 'sourceBudget',
  'relay-full': 'relayFull'
} as const

/** The envelopes a relay holds for offline devices. */
export class EnvelopeStore {
  readonly metrics: EnvelopeStoreMetrics = {
    stored: 0,
    storedBytes: 0,
    duplicates: 0,
    fetched: 0,
    deleted: 0,
    hashMismatches: 0,
    expired: 0,
    rejected: { quota: 0, mailboxFull: 0, mailboxShare: 0, sourceBudget: 0, relayFull: 0 }
  }

  readonly retentionMs: number
  readonly budgets: Budgets
  private readonly store: Store
  private readonly writer: GroupCommitWriter
  private readonly now: () => number
  private readonly sweepBatch: number
  private readonly locks = new KeyedLock()
  private readonly ledger: Ledger
  private opened?: Promise<void>
  private sequence = 0

  /** @param store an open store; the caller opens and closes it */
  constructor (store: Store, init: EnvelopeStoreInit = {}) {
    this.store = store
    this.writer = new GroupCommitWriter(store, { sync: true })
    this.now = init.now ?? Date.now
    this.retentionMs = init.retentionMs ?? RETENTION_MS
    this.budgets = resolveBudgets(init)
    this.sweepBatch = init.sweepBatch ?? SWEEP_BATCH
    this.ledger = new Ledger(store, this.budgets, (mailbox) => this.locks.isHeld(mailbox), init.sourceCacheSize)
  }

  /**
   * Stores an envelope under its id, durably, charged to `from`. An id the
   * mailbox already holds is not stored again: the original times come back
   * with `duplicate`. Nothing held is ever evicted to make room.
   *
   * @throws {QuotaExceededError} when a budget would be exceeded (nothing is stored); `quota` says which
   */
  async put (mailbox: Uint8Array, id: Uint8Array, envelope: Uint8Array, from: PutSource): Promise<PutOutcome> {
    checkMailbox(mailbox)
    checkId(id)
    await this.ready()
    return await this.locks.run(toHex(mailbox), async () => {
      const existing = await this.store.get('relay', indexKey(mailbox, id))
      if (existing !== undefined) {
        const storedAt = positionTime(decodeIndexValue(existing).position)
        if (storedAt + this.retentionMs > this.now()) {
          this.metrics.duplicates++
          return { storedAt, expiresAt: storedAt + this.retentionMs, duplicate: true }
        }
        // Held past its retention and not yet swept: drop the old copy, keep the new one.
        this.metrics.expired += await this.removeLocked(mailbox, [{ id }])
      }
      const tag = this.ledger.tag(from.source)
      let entry: Entry
      try {
        entry = await this.ledger.charge(mailbox, tag, envelope.length, from)
      } catch (err) {
        if (err instanceof QuotaExceededError) this.countRefusal(err)
        throw err
      }
      const storedAt = Math.floor(this.now())
      const position = encodePosition(storedAt, this.sequence)
      this.sequence = (this.sequence + 1) >>> 0
      try {
        await this.writer.commit([
          { type: 'put', namespace: 'relay', key: envelopeKey(mailbox, position, id), value: envelope },
          { type: 'put', namespace: 'relay', key: indexKey(mailbox, id), value: encodeIndexValue(position, envelope.length, tag, sha256(envelope)) },
          { type: 'put', namespace: 'relay', key: expiryKey(position, mailbox, id), value: new Uint8Array(0) },
          ...entry.ops
        ])
      } catch (err) {
        entry.settle(false)
        throw err
      }
      entry.settle(true)
      this.metrics.stored++
      this.metrics.storedBytes += envelope.length
      return { storedAt, expiresAt: storedAt + this.retentionMs, duplicate: false }
    })
  }

  /**
   * A page of a mailbox in arrival order, after `after` (a cursor from an
   * earlier page). The page ends at `limit` envelopes or once it holds
   * `maxBytes` (it always holds at least one envelope if any is left).
   *
   * @throws {InvalidStoreRequestError} for a cursor that is not one
   */
  async fetch (mailbox: Uint8Array, after: Uint8Array | undefined, limit: number, maxBytes: number): Promise<MailboxPage> {
    checkMailbox(mailbox)
    if (after !== undefined && after.length !== CURSOR_LENGTH) throw new InvalidStoreRequestError(`a cursor is ${CURSOR_LENGTH} bytes, got ${after.length}`)
    await this.ready()
    const prefix = envelopePrefix(mailbox)
    const range = prefixRange(prefix)
    const from = after === undefined ? { gte: range.gte } : { gt: concatPrefix(prefix, after) }
    const cutoff = this.now() - this.retentionMs
    const envelopes: StoredEnvelopeEntry[] = []
    let bytes = 0
    let cursor = after ?? new Uint8Array(0)
    let more = false
    for await (const [key, value] of this.store.iterate('relay', { ...from, lt: range.lt })) {
      if (envelopes.length >= limit || (envelopes.length > 0 && bytes + value.length > maxBytes)) {
        more = true
        break
      }
      const entryCursor = cursorOfEnvelopeKey(key)
      cursor = entryCursor
      const storedAt = positionTime(entryCursor)
      // Expired but not yet swept: never served.
      if (storedAt <= cutoff) continue
      envelopes.push({ id: idOfEnvelopeKey(key), envelope: value, storedAt })
      bytes += value.length
    }
    this.metrics.fetched += envelopes.length
    return { envelopes, cursor, more }
  }

  /**
   * Deletes envelopes of a mailbox that the owner named by id and content
   * hash; an envelope held under that id with other bytes stays (someone
   * served junk under its id). Resolves to the number removed.
   */
  async delete (mailbox: Uint8Array, refs: readonly EnvelopeRef[]): Promise<number> {
    checkMailbox(mailbox)
    for (const ref of refs) {
      checkId(ref.id)
      if (!(ref.hash instanceof Uint8Array) || ref.hash.length !== HASH_LENGTH) throw new InvalidStoreRequestError(`an envelope hash is ${HASH_LENGTH} bytes, got ${(ref.hash as Uint8Array | undefined)?.length}`)
    }
    await this.ready()
    const removed = await this.locks.run(toHex(mailbox), async () => await this.removeLocked(mailbox, refs))
    this.metrics.deleted += removed
    return removed
  }

  /** Envelopes and bytes a mailbox holds. */
  async usage (mailbox: Uint8Array): Promise<MailboxUsage> {
    checkMailbox(mailbox)
    await this.ready()
    return await this.locks.run(toHex(mailbox), async () => ({ ...await this.ledger.mailbox(mailbox) }))
  }

  /** Source counters held in memory (bounded by `sourceCacheSize`). */
  get cachedSources (): number {
    return this.ledger.cachedSources
  }

  /** Envelopes the relay holds and the bytes they are charged (envelopes + overhead). */
  async held (): Promise<Usage> {
    await this.ready()
    return { ...this.ledger.total }
  }

  /** Removes every envelope past its retention; resolves to the number removed. */
  async sweep (): Promise<number> {
    await this.ready()
    const cutoff = Math.floor(this.now()) - this.retentionMs
    let total = 0
    while (true) {
      const byMailbox = new Map<string, { mailbox: Uint8Array, removals: Removal[], keys: BatchOp[] }>()
      let seen = 0
      for await (const [key] of this.store.iterate('relay', { ...expiryRangeBefore(cutoff + 1), limit: this.sweepBatch })) {
        const { mailbox, id } = decodeExpiryKey(key)
        const hex = toHex(mailbox)
        const group = byMailbox.get(hex) ?? { mailbox, removals: [], keys: [] }
        group.removals.push({ id })
        // Deleted whatever the index says, so that a stray expiry key cannot stall the sweep.
        group.keys.push({ type: 'del', namespace: 'relay', key })
        byMailbox.set(hex, group)
        seen++
      }
      for (const [hex, group] of byMailbox) {
        const removed = await this.locks.run(hex, async () => await this.removeLocked(group.mailbox, group.removals, group.keys))
        this.metrics.expired += removed
        total += removed
      }
      if (seen < this.sweepBatch) break
    }
    if (total > 0) log('swept %d expired envelopes', total)
    return total
  }

  /** Waits for writes in flight. */
  async flush (): Promise<void> {
    await this.writer.flush()
  }

  /** Opens the books once (the tag key, the total; counters rebuilt for a store written before them). */
  private async ready (): Promise<void> {
    this.opened ??= this.ledger.open()
    await this.opened
  }

  private countRefusal (err: QuotaExceededError): void {
    this.metrics.rejected.quota++
    if (err.quota !== 'unknown') this.metrics.rejected[REJECTED_FIELD[err.quota]]++
  }

  private async removeLocked (mailbox: Uint8Array, removals: readonly Removal[], extra: readonly BatchOp[] = []): Promise<number> {
    const ops: BatchOp[] = [...extra]
    const removed: Removed[] = []
    const seen = new Set<string>()
    for (const { id, hash } of removals) {
      const hex = toHex(id)
      if (seen.has(hex)) continue
      seen.add(hex)
      const value = await this.store.get('relay', indexKey(mailbox, id))
      if (value === undefined) continue
      const entry = decodeIndexValue(value)
      if (hash !== undefined && !await this.hashMatches(mailbox, id, entry.position, entry.hash, hash)) {
        this.metrics.hashMismatches++
        continue
      }
      ops.push(
        { type: 'del', namespace: 'relay', key: envelopeKey(mailbox, entry.position, id) },
        { type: 'del', namespace: 'relay', key: indexKey(mailbox, id) },
        { type: 'del', namespace: 'relay', key: expiryKey(entry.position, mailbox, id) }
      )
      removed.push({ source: entry.source, size: entry.size })
    }
    if (ops.length === 0) return 0
    if (removed.length === 0) {
      await this.writer.commit(ops)
      return 0
    }
    const refund = await this.ledger.refund(mailbox, removed)
    try {
      await this.writer.commit([...ops, ...refund.ops])
    } catch (err) {
      refund.settle(false)
      throw err
    }
    refund.settle(true)
    return removed.length
  }

  /** Whether the envelope held under `id` hashes to `wanted` (read and hashed when its index predates hashes). */
  private async hashMatches (mailbox: Uint8Array, id: Uint8Array, position: Uint8Array, known: Uint8Array | undefined, wanted: Uint8Array): Promise<boolean> {
    if (known !== undefined) return bytesEqual(known, wanted)
    const envelope = await this.store.get('relay', envelopeKey(mailbox, position, id))
    return envelope !== undefined && bytesEqual(sha256(envelope), wanted)
  }
}

function checkId (id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== ENVELOPE_ID_LENGTH) {
    throw new InvalidStoreRequestError(`an envelope id is ${ENVELOPE_ID_LENGTH} bytes, got ${(id as Uint8Array | undefined)?.length}`)
  }
}

function concatPrefix (prefix: Uint8Array, cursor: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + cursor.length)
  out.set(prefix)
  out.set(cursor, prefix.length)
  return out
}
