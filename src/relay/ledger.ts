/**
 * The books of an {@link EnvelopeStore}: what each mailbox, each source in
 * each mailbox (its share), each source and the whole relay hold, checked
 * against the budgets before a put and given back when envelopes go.
 *
 * Every counter lives on disk (keys.ts) and changes in the same batch as
 * the envelopes it counts, so the books survive restarts and crashes; in
 * memory there are bounded caches. A charge or a refund is two steps: the
 * counters change at once and the batch operations come back to be
 * committed with the envelope's; then `settle(true)` keeps the change, or
 * `settle(false)` undoes it when the batch failed. Between the checks and
 * the operations nothing awaits, so concurrent puts of one source (to
 * different mailboxes) see each other's charges.
 *
 * The caller serialises work per mailbox (the mailbox and share counters
 * are read and written under its lock); source and total counters are
 * shared across mailboxes.
 */
import type { BatchOp, Store } from '../store/store.js'
import { toHex } from '../crypto/bytes.js'
import { QuotaExceededError } from '../protocols/store/errors.js'
import type { QuotaKind } from '../protocols/store/errors.js'
import { MAILBOX_USAGE_RANGE, SECRET_KEY, TOTAL_KEY, decodeUsage, encodeUsage, mailboxUsageKey, shareKey } from './keys.js'
import { rebuildCounters } from './rebuild.js'
import { SourceCounters, chargeOf, sourceTag } from './usage.js'
import type { Budgets, PutSource, Usage } from './usage.js'

/** Mailboxes whose usage is cached at once. */
export const USAGE_CACHE_SIZE = 10_000
/** Source tags cached at once. */
const TAG_CACHE_SIZE = 10_000
/** Shares (a source in a mailbox) cached at once. */
export const SHARE_CACHE_SIZE = 50_000

/** A change of the books, to commit with the envelopes, then settle. */
export interface Entry {
  /** Counter writes for the envelopes' batch. */
  ops: BatchOp[]
  /** Keeps the change (the batch is durable) or undoes it (the batch failed); call once. */
  settle(committed: boolean): void
}

/** What one removed envelope gives back. */
export interface Removed {
  source: Uint8Array
  size: number
  /**
   * Charged bytes its tombstone keeps (tombstones.ts): the source keeps
   * the envelope's count and this much of its charge until the tombstone
   * expires. Absent: everything is given back.
   */
  keep?: number
}

/** A charge on a source's and the relay's counters alone (tombstones). */
export interface SourceCharge {
  tag: Uint8Array
  count: number
  bytes: number
}

function add (usage: Usage, count: number, bytes: number): void {
  usage.count = Math.max(0, usage.count + count)
  usage.bytes = Math.max(0, usage.bytes + bytes)
}

/** What a share or mailbox counter reads back as after usageOp wrote it. */
function written (usage: Usage): Usage {
  return usage.count <= 0 ? { count: 0, bytes: 0 } : { count: usage.count, bytes: Math.max(0, usage.bytes) }
}

/** The total is always written: its presence says the counters are complete (see rebuild.ts). */
function totalOp (total: Usage): BatchOp {
  return { type: 'put', namespace: 'relay', key: TOTAL_KEY, value: encodeUsage(total.count, total.bytes) }
}

function usageOp (key: Uint8Array, count: number, bytes: number): BatchOp {
  if (count <= 0) return { type: 'del', namespace: 'relay', key }
  return { type: 'put', namespace: 'relay', key, value: encodeUsage(count, bytes) }
}

/** The store's books (see the file comment). */
export class Ledger {
  /** Envelopes the relay holds and their charged bytes. */
  readonly total: Usage = { count: 0, bytes: 0 }
  /** Mailboxes holding at least one envelope (counted at open, then kept as they fill and empty). */
  mailboxCount = 0
  private readonly mailboxes = new Map<string, Usage>()
  /**
   * Shares as the disk holds them, by mailbox and tag (hex): read once, then
   * changed only when a batch that writes them is durable. A batch that
   * fails drops its entries, so they are read again: a failure that left
   * the batch on disk after all cannot leave the cache below the disk.
   */
  private readonly shares = new Map<string, Usage>()
  private readonly sources: SourceCounters
  private tagKey: Uint8Array = new Uint8Array(0)
  /** Sources' tags under `tagKey` (the key never changes once read). */
  private readonly tags = new Map<string, Uint8Array>()

  /**
   * @param isBusy whether work on a mailbox (hex) is under way: its cached usage is never dropped then
   */
  constructor (private readonly store: Store, private readonly budgets: Budgets, private readonly isBusy: (mailbox: string) => boolean, sourceCacheSize?: number) {
    this.sources = new SourceCounters(store, sourceCacheSize)
  }

  /** Reads the tag key and the total (made, or rebuilt from the index, the first time). */
  async open (): Promise<void> {
    let key: Uint8Array | undefined = await this.store.get('relay', SECRET_KEY)
    if (key === undefined) {
      key = crypto.getRandomValues(new Uint8Array(32))
      await this.store.put('relay', SECRET_KEY, key, { sync: true })
    }
    this.tagKey = key
    this.tags.clear()
    const total = await this.store.get('relay', TOTAL_KEY)
    Object.assign(this.total, total !== undefined ? decodeUsage(total) : await rebuildCounters(this.store))
    // Once, at open: a usage key exists only for a mailbox that holds something (usageOp deletes it at zero).
    let mailboxes = 0
    for await (const entry of this.store.iterate('relay', MAILBOX_USAGE_RANGE)) {
      if (entry !== undefined) mailboxes++
    }
    this.mailboxCount = mailboxes
  }

  /** The tag a source is kept under on disk (an HMAC: computed once per source while it is cached). */
  tag (source: string): Uint8Array {
    let tag = this.tags.get(source)
    if (tag === undefined) {
      tag = sourceTag(this.tagKey, source)
      this.tags.set(source, tag)
      if (this.tags.size > TAG_CACHE_SIZE) {
        const oldest = this.tags.keys().next()
        if (oldest.done !== true) this.tags.delete(oldest.value)
      }
    }
    return tag
  }

  /** Source counters held in memory. */
  get cachedSources (): number {
    return this.sources.cached
  }

  /** A mailbox's usage (the live cached object; under the mailbox's lock). */
  async mailbox (mailbox: Uint8Array): Promise<Usage> {
    const hex = toHex(mailbox)
    const cached = this.mailboxes.get(hex)
    if (cached !== undefined) return cached
    const usage = decodeUsage(await this.store.get('relay', mailboxUsageKey(mailbox)))
    this.mailboxes.set(hex, usage)
    if (this.mailboxes.size > USAGE_CACHE_SIZE) {
      // Only a mailbox no work holds may go: its usage is read back on next touch.
      for (const key of this.mailboxes.keys()) {
        if (key !== hex && !this.isBusy(key)) {
          this.mailboxes.delete(key)
          break
        }
      }
    }
    return usage
  }

  /** A source's share of a mailbox as the disk holds it (a copy; under the mailbox's lock). */
  private async share (mailbox: Uint8Array, tag: Uint8Array): Promise<Usage> {
    const key = toHex(mailbox) + toHex(tag)
    let share = this.shares.get(key)
    if (share === undefined) {
      share = decodeUsage(await this.store.get('relay', shareKey(mailbox, tag)))
      this.keepShare(key, share)
    }
    return { ...share }
  }

  /** Caches a share the disk holds (`undefined`: forget it), within the bound (oldest first). */
  private keepShare (key: string, share: Usage | undefined): void {
    this.shares.delete(key)
    if (share === undefined) return
    this.shares.set(key, share)
    if (this.shares.size > SHARE_CACHE_SIZE) {
      const oldest = this.shares.keys().next()
      if (oldest.done !== true) this.shares.delete(oldest.value)
    }
  }

  /**
   * Charges an envelope of `size` bytes from `from` to `mailbox`, or refuses.
   *
   * @throws {QuotaExceededError} naming the first budget it would exceed; nothing changes then
   */
  async charge (mailbox: Uint8Array, tag: Uint8Array, size: number, from: PutSource): Promise<Entry> {
    const usage = await this.mailbox(mailbox)
    if (usage.count + 1 > this.budgets.maxEnvelopesPerMailbox || usage.bytes + size > this.budgets.maxBytesPerMailbox) {
      throw new QuotaExceededError(`the mailbox is full: it holds ${usage.count} envelopes (${usage.bytes} bytes), the most it may`, 'mailbox-full')
    }
    const linked = from.linked === true
    const share = await this.share(mailbox, tag)
    if (!linked && (share.count + 1 > this.budgets.maxEnvelopesPerMailboxPerSource || share.bytes + size > this.budgets.maxBytesPerMailboxPerSource)) {
      throw new QuotaExceededError(`your share of this mailbox is used up: ${share.count} envelopes (${share.bytes} bytes) from your address are waiting in it`, 'mailbox-share')
    }
    const charge = chargeOf(size)
    const source = await this.sources.pin(tag)
    // From here to the returned operations nothing awaits.
    const budget = linked ? this.budgets.maxBytesPerLinkedRelay : this.budgets.maxBytesPerSource
    let refusal: QuotaKind | undefined
    if (source.bytes + charge > budget) refusal = 'source-budget'
    else if (this.total.bytes + charge > this.budgets.maxTotalBytes) refusal = 'relay-full'
    if (refusal !== undefined) {
      this.sources.unpin(tag)
      throw refusal === 'source-budget'
        ? new QuotaExceededError(`this relay holds ${source.bytes} bytes from your address, the most it keeps for one source`, refusal)
        : new QuotaExceededError(`this relay's storage is full (${this.total.bytes} bytes)`, refusal)
    }
    add(source, 1, charge)
    add(this.total, 1, charge)
    const ops = [
      usageOp(shareKey(mailbox, tag), share.count + 1, share.bytes + size),
      usageOp(mailboxUsageKey(mailbox), usage.count + 1, usage.bytes + size),
      this.sources.op(tag, source),
      totalOp(this.total)
    ]
    return {
      ops,
      settle: (committed) => {
        const shareId = toHex(mailbox) + toHex(tag)
        if (committed) {
          if (usage.count === 0) this.mailboxCount++
          add(usage, 1, size)
          this.keepShare(shareId, { count: share.count + 1, bytes: share.bytes + size })
        } else {
          this.keepShare(shareId, undefined)
          add(source, -1, -charge)
          add(this.total, -1, -charge)
        }
        this.sources.unpin(tag)
      }
    }
  }

  /** Gives back what removed envelopes of `mailbox` held (less what their tombstones keep). */
  async refund (mailbox: Uint8Array, removed: readonly Removed[]): Promise<Entry> {
    const usage = await this.mailbox(mailbox)
    const bySource = new Map<string, { tag: Uint8Array, envelopes: number, size: number, count: number, charge: number }>()
    let bytes = 0
    for (const r of removed) {
      const group = bySource.get(toHex(r.source)) ?? { tag: r.source, envelopes: 0, size: 0, count: 0, charge: 0 }
      group.envelopes++
      group.size += r.size
      // A tombstone keeps the envelope's count on its source, and `keep` bytes of its charge.
      if (r.keep === undefined) group.count++
      group.charge += chargeOf(r.size) - (r.keep ?? 0)
      bytes += r.size
      bySource.set(toHex(r.source), group)
    }
    const ops: BatchOp[] = []
    const refunds: Array<{ tag: Uint8Array, usage: Usage, count: number, charge: number, share: Usage }> = []
    try {
      for (const group of bySource.values()) {
        const share = await this.share(mailbox, group.tag)
        share.count -= group.envelopes
        share.bytes -= group.size
        ops.push(usageOp(shareKey(mailbox, group.tag), share.count, share.bytes))
        refunds.push({ tag: group.tag, usage: await this.sources.pin(group.tag), count: group.count, charge: group.charge, share })
      }
    } catch (err) {
      for (const r of refunds) this.sources.unpin(r.tag)
      throw err
    }
    // From here to the returned operations nothing awaits, as in charge.
    for (const r of refunds) {
      add(r.usage, -r.count, -r.charge)
      add(this.total, -r.count, -r.charge)
      ops.push(this.sources.op(r.tag, r.usage))
    }
    ops.push(totalOp(this.total), usageOp(mailboxUsageKey(mailbox), usage.count - removed.length, usage.bytes - bytes))
    return {
      ops,
      settle: (committed) => {
        for (const r of refunds) {
          if (!committed) {
            add(r.usage, r.count, r.charge)
            add(this.total, r.count, r.charge)
          }
          // What usageOp wrote: a share at zero or below is deleted on disk.
          this.keepShare(toHex(mailbox) + toHex(r.tag), committed ? written(r.share) : undefined)
          this.sources.unpin(r.tag)
        }
        if (committed && usage.count > 0) {
          add(usage, -removed.length, -bytes)
          if (usage.count === 0) this.mailboxCount--
        }
      }
    }
  }

  /**
   * Charges sources and the relay's total alone (no mailbox): tombstones
   * kept for a linked relay, or given back (negative) when they expire.
   * With `from`, positive charges are checked against its budget and the
   * relay's; without, nothing is refused (what a delete must keep).
   *
   * @throws {QuotaExceededError} when `from` is given and a budget would be exceeded; nothing changes then
   */
  async chargeSources (charges: readonly SourceCharge[], from?: PutSource): Promise<Entry> {
    const pinned: Array<{ charge: SourceCharge, usage: Usage }> = []
    try {
      for (const charge of charges) pinned.push({ charge, usage: await this.sources.pin(charge.tag) })
    } catch (err) {
      for (const p of pinned) this.sources.unpin(p.charge.tag)
      throw err
    }
    // From here to the returned operations nothing awaits, as in charge.
    if (from !== undefined) {
      const budget = from.linked === true ? this.budgets.maxBytesPerLinkedRelay : this.budgets.maxBytesPerSource
      const adding = charges.reduce((n, c) => n + Math.max(0, c.bytes), 0)
      const refused = pinned.find(p => p.charge.bytes > 0 && p.usage.bytes + p.charge.bytes > budget)
      if (refused != null || this.total.bytes + adding > this.budgets.maxTotalBytes) {
        for (const p of pinned) this.sources.unpin(p.charge.tag)
        throw refused != null
          ? new QuotaExceededError(`this relay holds ${refused.usage.bytes} bytes from this source, the most it keeps for one`, 'source-budget')
          : new QuotaExceededError(`this relay's storage is full (${this.total.bytes} bytes)`, 'relay-full')
      }
    }
    const ops: BatchOp[] = []
    for (const p of pinned) {
      add(p.usage, p.charge.count, p.charge.bytes)
      add(this.total, p.charge.count, p.charge.bytes)
      ops.push(this.sources.op(p.charge.tag, p.usage))
    }
    ops.push(totalOp(this.total))
    return {
      ops,
      settle: (committed) => {
        for (const p of pinned) {
          if (!committed) {
            add(p.usage, -p.charge.count, -p.charge.bytes)
            add(this.total, -p.charge.count, -p.charge.bytes)
          }
          this.sources.unpin(p.charge.tag)
        }
      }
    }
  }
}
