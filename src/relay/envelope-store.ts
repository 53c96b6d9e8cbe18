/**
 * The envelopes a relay holds, in the store's `relay` namespace (layout in
 * keys.ts). What the relay keeps is what it needs and no more: the mailbox
 * id, the envelope (opaque: the sender is sealed inside), its size and when
 * it arrived. Writes are durable when they resolve (synced group commit).
 *
 * Budgets (usage.ts): the whole relay's storage, what one source may keep,
 * what one source may keep in one mailbox (its share), and the mailbox's
 * own quota. A put that would exceed one is refused with the quota's name;
 * nothing held is ever evicted to make room. The counters (mailbox, share,
 * source, total) are written in the same batch as the envelope and cached
 * within bounds; a put reads keys and never iterates (LevelDB iterators
 * kept the files a compaction had replaced on disk: twice the bytes).
 * Writes to one mailbox are serialised so that quota checks and
 * de-duplication see each other. Envelopes older than the retention are skipped by fetches at once
 * and removed by {@link EnvelopeStore.sweep}.
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
import type { QuotaKind } from '../protocols/store/errors.js'
import type { EnvelopeRef, MailboxPage, PutOutcome, StoredEnvelopeEntry } from '../protocols/store/store.js'
import {
  CURSOR_LENGTH, HASH_LENGTH, SECRET_KEY, TOTAL_KEY, cursorOfEnvelopeKey, decodeExpiryKey, decodeIndexValue, decodeUsage,
  encodeIndexValue, encodePosition, encodeUsage, envelopeKey, envelopePrefix, expiryKey, expiryRangeBefore, idOfEnvelopeKey,
  indexKey, mailboxUsageKey, positionTime, shareKey
} from './keys.js'
import { KeyedLock } from './keyed-lock.js'
import { rebuildCounters } from './rebuild.js'
import { ENTRY_OVERHEAD_BYTES, SourceCounters, chargeOf, resolveBudgets, sourceTag } from './usage.js'
import type { Budgets, PutSource, Usage } from './usage.js'

const log = logger('starling:relay:store')

/** Envelopes are kept this long after they arrive (30 days). */
export const RETENTION_MS = 30 * 24 * 60 * 60 * 1000
/** Mailboxes whose usage is cached at once. */
export const USAGE_CACHE_SIZE = 10_000
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
  private readonly usageCache = new Map<string, MailboxUsage>()
  private readonly sources: SourceCounters
  private readonly locks = new KeyedLock()
  private readonly total: Usage = { count: 0, bytes: 0 }
  private tagKey: Uint8Array = new Uint8Array(0)
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
    this.sources = new SourceCounters(store, init.sourceCacheSize)
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
      const tag = sourceTag(this.tagKey, from.source)
      const usage = await this.usageLocked(mailbox)
      if (usage.count + 1 > this.budgets.maxEnvelopesPerMailbox || usage.bytes + envelope.length > this.budgets.maxBytesPerMailbox) {
        this.refuse('mailbox-full', `the mailbox is full: it holds ${usage.count} envelopes (${usage.bytes} bytes), the most it may`)
      }
      const share = decodeUsage(await this.store.get('relay', shareKey(mailbox, tag)))
      if (from.linked !== true && (share.count + 1 > this.budgets.maxEnvelopesPerMailboxPerSource || share.bytes + envelope.length > this.budgets.maxBytesPerMailboxPerSource)) {
        this.refuse('mailbox-share', `your share of this mailbox is used up: ${share.count} envelopes (${share.bytes} bytes) from your address are waiting in it`)
      }
      const charge = chargeOf(envelope.length)
      const source = await this.sources.pin(tag)
      try {
        // From here to the commit nothing awaits: the checks and the reservation see the same counters.
        const budget = from.linked === true ? this.budgets.maxBytesPerLinkedRelay : this.budgets.maxBytesPerSource
        if (source.bytes + charge > budget) {
          this.refuse('source-budget', `this relay holds ${source.bytes} bytes from your address, the most it keeps for one source`)
        }
        if (this.total.bytes + charge > this.budgets.maxTotalBytes) {
          this.refuse('relay-full', `this relay's storage is full (${this.total.bytes} bytes)`)
        }
        add(source, 1, charge)
        add(this.total, 1, charge)
        const storedAt = Math.floor(this.now())
        const position = encodePosition(storedAt, this.sequence)
        this.sequence = (this.sequence + 1) >>> 0
        try {
          await this.writer.commit([
            { type: 'put', namespace: 'relay', key: envelopeKey(mailbox, position, id), value: envelope },
            { type: 'put', namespace: 'relay', key: indexKey(mailbox, id), value: encodeIndexValue(position, envelope.length, tag, sha256(envelope)) },
            { type: 'put', namespace: 'relay', key: expiryKey(position, mailbox, id), value: new Uint8Array(0) },
            { type: 'put', namespace: 'relay', key: shareKey(mailbox, tag), value: encodeUsage(share.count + 1, share.bytes + envelope.length) },
            mailboxOp(mailbox, usage.count + 1, usage.bytes + envelope.length),
            this.sources.op(tag, source),
            totalOp(this.total)
          ])
        } catch (err) {
          add(source, -1, -charge)
          add(this.total, -1, -charge)
          throw err
        }
        usage.count++
        usage.bytes += envelope.length
        this.metrics.stored++
        this.metrics.storedBytes += envelope.length
        return { storedAt, expiresAt: storedAt + this.retentionMs, duplicate: false }
      } finally {
        this.sources.unpin(tag)
      }
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
    return await this.locks.run(toHex(mailbox), async () => ({ ...await this.usageLocked(mailbox) }))
  }

  /** Source counters held in memory (bounded by `sourceCacheSize`). */
  get cachedSources (): number {
    return this.sources.cached
  }

  /** Envelopes the relay holds and the bytes they are charged (envelopes + overhead). */
  async held (): Promise<Usage> {
    await this.ready()
    return { ...this.total }
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

  /** Reads the tag key and the total, rebuilding the counters of a store written before they existed. Once. */
  private async ready (): Promise<void> {
    this.opened ??= this.open()
    await this.opened
  }

  private async open (): Promise<void> {
    let key: Uint8Array | undefined = await this.store.get('relay', SECRET_KEY)
    if (key === undefined) {
      key = crypto.getRandomValues(new Uint8Array(32))
      await this.store.put('relay', SECRET_KEY, key, { sync: true })
    }
    this.tagKey = key
    const total = await this.store.get('relay', TOTAL_KEY)
    Object.assign(this.total, total !== undefined ? decodeUsage(total) : await rebuildCounters(this.store))
  }

  private refuse (quota: QuotaKind & keyof typeof REJECTED_FIELD, message: string): never {
    this.metrics.rejected.quota++
    this.metrics.rejected[REJECTED_FIELD[quota]]++
    throw new QuotaExceededError(message, quota)
  }

  private async removeLocked (mailbox: Uint8Array, removals: readonly Removal[], extra: readonly BatchOp[] = []): Promise<number> {
    const ops: BatchOp[] = [...extra]
    const usage = await this.usageLocked(mailbox)
    let removed = 0
    let bytes = 0
    const seen = new Set<string>()
    const bySource = new Map<string, { tag: Uint8Array, count: number, bytes: number }>()
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
      removed++
      bytes += entry.size
      const tagHex = toHex(entry.source)
      const group = bySource.get(tagHex) ?? { tag: entry.source, count: 0, bytes: 0 }
      group.count++
      group.bytes += entry.size
      bySource.set(tagHex, group)
    }
    if (ops.length === 0) return 0
    if (removed === 0) {
      await this.writer.commit(ops)
      return 0
    }
    const refunds: Array<{ tag: Uint8Array, usage: Usage, count: number, charge: number }> = []
    try {
      for (const group of bySource.values()) {
        const share = decodeUsage(await this.store.get('relay', shareKey(mailbox, group.tag)))
        const left = { count: share.count - group.count, bytes: share.bytes - group.bytes }
        ops.push(left.count > 0
          ? { type: 'put', namespace: 'relay', key: shareKey(mailbox, group.tag), value: encodeUsage(left.count, left.bytes) }
          : { type: 'del', namespace: 'relay', key: shareKey(mailbox, group.tag) })
        refunds.push({ tag: group.tag, usage: await this.sources.pin(group.tag), count: group.count, charge: group.bytes + group.count * ENTRY_OVERHEAD_BYTES })
      }
      // Synchronous from the refunds to the commit, as in put.
      for (const r of refunds) {
        add(r.usage, -r.count, -r.charge)
        ops.push(this.sources.op(r.tag, r.usage))
        add(this.total, -r.count, -r.charge)
      }
      ops.push(totalOp(this.total), mailboxOp(mailbox, usage.count - removed, usage.bytes - bytes))
      try {
        await this.writer.commit(ops)
      } catch (err) {
        for (const r of refunds) {
          add(r.usage, r.count, r.charge)
          add(this.total, r.count, r.charge)
        }
        throw err
      }
    } finally {
      for (const r of refunds) this.sources.unpin(r.tag)
    }
    usage.count -= removed
    usage.bytes -= bytes
    return removed
  }

  /** Whether the envelope held under `id` hashes to `wanted` (read and hashed when its index predates hashes). */
  private async hashMatches (mailbox: Uint8Array, id: Uint8Array, position: Uint8Array, known: Uint8Array | undefined, wanted: Uint8Array): Promise<boolean> {
    if (known !== undefined) return bytesEqual(known, wanted)
    const envelope = await this.store.get('relay', envelopeKey(mailbox, position, id))
    return envelope !== undefined && bytesEqual(sha256(envelope), wanted)
  }

  /** A mailbox's usage, kept on disk beside its envelopes (no scan: puts never iterate), cached within a bound. */
  private async usageLocked (mailbox: Uint8Array): Promise<MailboxUsage> {
    const hex = toHex(mailbox)
    const cached = this.usageCache.get(hex)
    if (cached !== undefined) return cached
    const usage: MailboxUsage = decodeUsage(await this.store.get('relay', mailboxUsageKey(mailbox)))
    this.usageCache.set(hex, usage)
    if (this.usageCache.size > USAGE_CACHE_SIZE) {
      // Only a mailbox that no write holds may go: its usage is read back on next touch.
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

function mailboxOp (mailbox: Uint8Array, count: number, bytes: number): BatchOp {
  if (count <= 0) return { type: 'del', namespace: 'relay', key: mailboxUsageKey(mailbox) }
  return { type: 'put', namespace: 'relay', key: mailboxUsageKey(mailbox), value: encodeUsage(count, bytes) }
}

function add (usage: Usage, count: number, bytes: number): void {
  usage.count = Math.max(0, usage.count + count)
  usage.bytes = Math.max(0, usage.bytes + bytes)
}

function totalOp (total: Usage): BatchOp {
  return { type: 'put', namespace: 'relay', key: TOTAL_KEY, value: encodeUsage(total.count, total.bytes) }
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
