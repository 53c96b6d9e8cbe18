/**
 * The envelopes a relay holds, in the store's `relay` namespace (layout in
 * keys.ts). What the relay keeps is what it needs and no more: the mailbox
 * id, the envelope (opaque: the sender is sealed inside), its size and when
 * it arrived. Writes are durable when they resolve (synced group commit).
 *
 * Quotas are per mailbox (envelopes and bytes); usage is counted from the
 * index on first touch and kept in a bounded cache. Writes to one mailbox
 * are serialised so that quota checks and de-duplication see each other.
 * Envelopes older than the retention are skipped by fetches at once and
 * removed by {@link EnvelopeStore.sweep}.
 */
import { logger } from '@libp2p/logger'
import { GroupCommitWriter } from '../store/group-commit.js'
import { prefixRange } from '../store/keys.js'
import type { BatchOp, Store } from '../store/store.js'
import { toHex } from '../crypto/bytes.js'
import { ENVELOPE_ID_LENGTH } from '../crypto/envelope.js'
import { checkMailbox } from '../protocols/store/mailbox.js'
import { InvalidStoreRequestError, QuotaExceededError } from '../protocols/store/errors.js'
import type { MailboxPage, PutOutcome, StoredEnvelopeEntry } from '../protocols/store/store.js'
import {
  CURSOR_LENGTH, cursorOfEnvelopeKey, decodeExpiryKey, decodeIndexValue, encodeIndexValue, encodePosition, envelopeKey,
  envelopePrefix, expiryKey, expiryRangeBefore, idOfEnvelopeKey, indexKey, indexPrefix, positionTime
} from './keys.js'
import { KeyedLock } from './keyed-lock.js'

const log = logger('starling:relay:store')

/** Envelopes are kept this long after they arrive (30 days). */
export const RETENTION_MS = 30 * 24 * 60 * 60 * 1000
/** Most envelopes one mailbox may hold. */
export const MAX_ENVELOPES_PER_MAILBOX = 10_000
/** Most envelope bytes one mailbox may hold (200 MB). */
export const MAX_BYTES_PER_MAILBOX = 200_000_000
/** Mailboxes whose usage is cached at once. */
export const USAGE_CACHE_SIZE = 10_000
/** Expired envelopes removed per sweep batch. */
export const SWEEP_BATCH = 1000

/** Options of an {@link EnvelopeStore}. */
export interface EnvelopeStoreInit {
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number
  retentionMs?: number
  maxEnvelopesPerMailbox?: number
  maxBytesPerMailbox?: number
  /** Expired envelopes removed per sweep batch (default {@link SWEEP_BATCH}). */
  sweepBatch?: number
}

/** Counters of an {@link EnvelopeStore} (a plain object, for export). */
export interface EnvelopeStoreMetrics {
  stored: number
  storedBytes: number
  duplicates: number
  fetched: number
  deleted: number
  expired: number
  rejected: { quota: number }
}

/** Envelopes and bytes one mailbox holds. */
export interface MailboxUsage {
  count: number
  bytes: number
}

/** The envelopes a relay holds for offline devices. */
export class EnvelopeStore {
  readonly metrics: EnvelopeStoreMetrics = { stored: 0, storedBytes: 0, duplicates: 0, fetched: 0, deleted: 0, expired: 0, rejected: { quota: 0 } }
  readonly retentionMs: number
  private readonly store: Store
  private readonly writer: GroupCommitWriter
  private readonly now: () => number
  private readonly maxEnvelopes: number
  private readonly maxBytes: number
  private readonly sweepBatch: number
  private readonly usageCache = new Map<string, MailboxUsage>()
  private readonly locks = new KeyedLock()
  private sequence = 0

  /** @param store an open store; the caller opens and closes it */
  constructor (store: Store, init: EnvelopeStoreInit = {}) {
    this.store = store
    this.writer = new GroupCommitWriter(store, { sync: true })
    this.now = init.now ?? Date.now
    this.retentionMs = init.retentionMs ?? RETENTION_MS
    this.maxEnvelopes = init.maxEnvelopesPerMailbox ?? MAX_ENVELOPES_PER_MAILBOX
    this.maxBytes = init.maxBytesPerMailbox ?? MAX_BYTES_PER_MAILBOX
    this.sweepBatch = init.sweepBatch ?? SWEEP_BATCH
  }

  /**
   * Stores an envelope under its id, durably. An id the mailbox already holds
   * is not stored again: the original times come back with `duplicate`.
   *
   * @throws {QuotaExceededError} when the mailbox is full (nothing is stored)
   */
  async put (mailbox: Uint8Array, id: Uint8Array, envelope: Uint8Array): Promise<PutOutcome> {
    checkMailbox(mailbox)
    checkId(id)
    return await this.locks.run(toHex(mailbox), async () => {
      const existing = await this.store.get('relay', indexKey(mailbox, id))
      if (existing !== undefined) {
        const storedAt = positionTime(decodeIndexValue(existing).position)
        if (storedAt + this.retentionMs > this.now()) {
          this.metrics.duplicates++
          return { storedAt, expiresAt: storedAt + this.retentionMs, duplicate: true }
        }
        // Held past its retention and not yet swept: drop the old copy, keep the new one.
        this.metrics.expired += await this.removeLocked(mailbox, [id])
      }
      const usage = await this.usageLocked(mailbox)
      if (usage.count + 1 > this.maxEnvelopes || usage.bytes + envelope.length > this.maxBytes) {
        this.metrics.rejected.quota++
        throw new QuotaExceededError(`the mailbox holds ${usage.count} envelopes (${usage.bytes} bytes), the most it may`)
      }
      const storedAt = Math.floor(this.now())
      const position = encodePosition(storedAt, this.sequence)
      this.sequence = (this.sequence + 1) >>> 0
      await this.writer.commit([
        { type: 'put', namespace: 'relay', key: envelopeKey(mailbox, position, id), value: envelope },
        { type: 'put', namespace: 'relay', key: indexKey(mailbox, id), value: encodeIndexValue(position, envelope.length) },
        { type: 'put', namespace: 'relay', key: expiryKey(position, mailbox, id), value: new Uint8Array(0) }
      ])
      usage.count++
      usage.bytes += envelope.length
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

  /** Deletes envelopes of a mailbox by id; resolves to the number removed. */
  async delete (mailbox: Uint8Array, ids: readonly Uint8Array[]): Promise<number> {
    checkMailbox(mailbox)
    for (const id of ids) checkId(id)
    const removed = await this.locks.run(toHex(mailbox), async () => await this.removeLocked(mailbox, ids))
    this.metrics.deleted += removed
    return removed
  }

  /** Envelopes and bytes a mailbox holds. */
  async usage (mailbox: Uint8Array): Promise<MailboxUsage> {
    checkMailbox(mailbox)
    return await this.locks.run(toHex(mailbox), async () => ({ ...await this.usageLocked(mailbox) }))
  }

  /** Removes every envelope past its retention; resolves to the number removed. */
  async sweep (): Promise<number> {
    const cutoff = Math.floor(this.now()) - this.retentionMs
    let total = 0
    while (true) {
      const byMailbox = new Map<string, { mailbox: Uint8Array, ids: Uint8Array[], keys: BatchOp[] }>()
      let seen = 0
      for await (const [key] of this.store.iterate('relay', { ...expiryRangeBefore(cutoff + 1), limit: this.sweepBatch })) {
        const { mailbox, id } = decodeExpiryKey(key)
        const hex = toHex(mailbox)
        const group = byMailbox.get(hex) ?? { mailbox, ids: [], keys: [] }
        group.ids.push(id)
        // Deleted whatever the index says, so that a stray expiry key cannot stall the sweep.
        group.keys.push({ type: 'del', namespace: 'relay', key })
        byMailbox.set(hex, group)
        seen++
      }
      for (const [hex, group] of byMailbox) {
        const removed = await this.locks.run(hex, async () => await this.removeLocked(group.mailbox, group.ids, group.keys))
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

  private async removeLocked (mailbox: Uint8Array, ids: readonly Uint8Array[], extra: readonly BatchOp[] = []): Promise<number> {
    const ops: BatchOp[] = [...extra]
    const usage = await this.usageLocked(mailbox)
    let removed = 0
    let bytes = 0
    const seen = new Set<string>()
    for (const id of ids) {
      const hex = toHex(id)
      if (seen.has(hex)) continue
      seen.add(hex)
      const value = await this.store.get('relay', indexKey(mailbox, id))
      if (value === undefined) continue
      const { position, size } = decodeIndexValue(value)
      ops.push(
        { type: 'del', namespace: 'relay', key: envelopeKey(mailbox, position, id) },
        { type: 'del', namespace: 'relay', key: indexKey(mailbox, id) },
        { type: 'del', namespace: 'relay', key: expiryKey(position, mailbox, id) }
      )
      removed++
      bytes += size
    }
    if (ops.length === 0) return 0
    await this.writer.commit(ops)
    usage.count -= removed
    usage.bytes -= bytes
    return removed
  }

  private async usageLocked (mailbox: Uint8Array): Promise<MailboxUsage> {
    const hex = toHex(mailbox)
    const cached = this.usageCache.get(hex)
    if (cached !== undefined) return cached
    const usage: MailboxUsage = { count: 0, bytes: 0 }
    for await (const [, value] of this.store.iterate('relay', prefixRange(indexPrefix(mailbox)))) {
      usage.count++
      usage.bytes += decodeIndexValue(value).size
    }
    this.usageCache.set(hex, usage)
    if (this.usageCache.size > USAGE_CACHE_SIZE) {
      // Only a mailbox that no write holds may go: its usage is recounted on next touch.
      for (const key of this.usageCache.keys()) {
        if (key !== hex && !this.locks.isHeld(key)) {
          this.usageCache.delete(key)
          break
        }
      }
    }
    return usage
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
