/**
 * The books of an {@link EnvelopeStore}: what each mailbox, each source in
 * each mailbox (its share), each source and the whole relay hold, checked
 * against the budgets before a put and given back when envelopes go.
 *
 * Every counter lives on disk (keys.ts) and changes in the same batch as
 * the envelopes it counts, so the books survive restarts and crashes; in
 * memory there are bounded caches. A charge or a refund is an entry
 * (tally.ts) handed to the group commit with the envelopes' operations:
 * what it adds counts for the checks at once, its writes are computed from
 * what the disk holds as its batch forms, and the group commit settles it
 * (durable or failed) before the next batch forms. So the counters on disk
 * are right whatever order commits complete in: a put that reads the store
 * for a free position commits after later puts of its source, and a batch
 * can fail while others wait behind it. Between the checks and the entry
 * nothing awaits, so concurrent puts of one source (to different
 * mailboxes) see each other's charges.
 *
 * The caller serialises work per mailbox (the mailbox and share counters
 * are read and changed under its lock, until the entry settles); source
 * and total counters are shared across mailboxes.
 */
import type { BatchOp, Store } from '../store/store.js'
import { toHex } from '../crypto/bytes.js'
import { QuotaExceededError } from '../protocols/store/errors.js'
import type { QuotaKind } from '../protocols/store/errors.js'
import { MAILBOX_USAGE_RANGE, SECRET_KEY, TOTAL_KEY, decodeUsage, encodeUsage, mailboxUsageKey, shareKey } from './keys.js'
import { rebuildCounters } from './rebuild.js'
import { SourceCounters, chargeOf, sourceTag } from './usage.js'
import type { Budgets, PutSource, Usage } from './usage.js'
import { entryOf, tallyOf } from './tally.js'
import type { Change, Entry, Tally } from './tally.js'

export type { Entry } from './tally.js'

/** Mailboxes whose usage is cached at once. */
export const USAGE_CACHE_SIZE = 10_000
/** Source tags cached at once. */
const TAG_CACHE_SIZE = 10_000
/** Shares (a source in a mailbox) cached at once. */
export const SHARE_CACHE_SIZE = 50_000

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
  /** Mailboxes holding at least one envelope on disk (counted at open, then kept as batches fill and empty them). */
  mailboxCount = 0
  private readonly totals: Tally = tallyOf({ count: 0, bytes: 0 })
  /** Mailboxes' tallies by mailbox (hex); one is dropped only when no work holds its mailbox. */
  private readonly mailboxes = new Map<string, Tally>()
  /**
   * Shares by mailbox and tag (hex): read once, then kept by the entries
   * that change them. A batch that fails drops its shares once no entry
   * holds them, so they are read again: a failure that left the batch on
   * disk after all cannot leave them below the disk.
   */
  private readonly shares = new Map<string, Tally>()
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

  /** Envelopes the relay holds and their charged bytes, as the checks see them (charges under way included). */
  get total (): Usage {
    return this.totals.live
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
    const held = total !== undefined ? decodeUsage(total) : await rebuildCounters(this.store)
    Object.assign(this.totals.live, held)
    Object.assign(this.totals.disk, held)
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

  /** A mailbox's usage as the checks see it (the live cached object; under the mailbox's lock). */
  async mailbox (mailbox: Uint8Array): Promise<Usage> {
    return (await this.mailboxTally(mailbox)).live
  }

  /**
   * Charges an envelope of `size` bytes from `from` to `mailbox`, or refuses.
   *
   * @throws {QuotaExceededError} naming the first budget it would exceed; nothing changes then
   */
  async charge (mailbox: Uint8Array, tag: Uint8Array, size: number, from: PutSource): Promise<Entry> {
    const box = await this.holdMailbox(mailbox)
    const shareId = toHex(mailbox) + toHex(tag)
    let share: Tally | undefined
    try {
      if (box.live.count + 1 > this.budgets.maxEnvelopesPerMailbox || box.live.bytes + size > this.budgets.maxBytesPerMailbox) {
        throw new QuotaExceededError(`the mailbox is full: it holds ${box.live.count} envelopes (${box.live.bytes} bytes), the most it may`, 'mailbox-full')
      }
      const linked = from.linked === true
      share = await this.holdShare(shareId, mailbox, tag)
      if (!linked && (share.live.count + 1 > this.budgets.maxEnvelopesPerMailboxPerSource || share.live.bytes + size > this.budgets.maxBytesPerMailboxPerSource)) {
        throw new QuotaExceededError(`your share of this mailbox is used up: ${share.live.count} envelopes (${share.live.bytes} bytes) from your address are waiting in it`, 'mailbox-share')
      }
      const charge = chargeOf(size)
      const source = await this.sources.pin(tag)
      // From here to the entry nothing awaits.
      const budget = linked ? this.budgets.maxBytesPerLinkedRelay : this.budgets.maxBytesPerSource
      let refusal: QuotaKind | undefined
      if (source.live.bytes + charge > budget) refusal = 'source-budget'
      else if (this.totals.live.bytes + charge > this.budgets.maxTotalBytes) refusal = 'relay-full'
      if (refusal !== undefined) {
        this.sources.unpin(tag)
        throw refusal === 'source-budget'
          ? new QuotaExceededError(`this relay holds ${source.live.bytes} bytes from your address, the most it keeps for one source`, refusal)
          : new QuotaExceededError(`this relay's storage is full (${this.totals.live.bytes} bytes)`, refusal)
      }
      const held = share
      return entryOf([
        this.shareChange(held, mailbox, tag, 1, size),
        this.mailboxChange(box, mailbox, 1, size),
        this.sourceChange(source, tag, 1, charge),
        { tally: this.totals, count: 1, bytes: charge, write: totalOp }
      ], (durable) => {
        this.releaseShare(shareId, held, !durable)
        this.releaseMailbox(mailbox, box, !durable)
        this.sources.unpin(tag, !durable)
      })
    } catch (err) {
      if (share !== undefined) this.releaseShare(shareId, share, false)
      this.releaseMailbox(mailbox, box, false)
      throw err
    }
  }

  /** Gives back what removed envelopes of `mailbox` held (less what their tombstones keep). */
  async refund (mailbox: Uint8Array, removed: readonly Removed[]): Promise<Entry> {
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
    const box = await this.holdMailbox(mailbox)
    const shares: Array<{ id: string, tally: Tally }> = []
    const tags: Uint8Array[] = []
    const release = (forget: boolean): void => {
      for (const s of shares) this.releaseShare(s.id, s.tally, forget)
      for (const tag of tags) this.sources.unpin(tag, forget)
      this.releaseMailbox(mailbox, box, forget)
    }
    const changes: Change[] = []
    let count = 0
    let charge = 0
    try {
      for (const group of bySource.values()) {
        const id = toHex(mailbox) + toHex(group.tag)
        const share = await this.holdShare(id, mailbox, group.tag)
        shares.push({ id, tally: share })
        changes.push(this.shareChange(share, mailbox, group.tag, -group.envelopes, -group.size))
        const source = await this.sources.pin(group.tag)
        tags.push(group.tag)
        changes.push(this.sourceChange(source, group.tag, -group.count, -group.charge))
        count += group.count
        charge += group.charge
      }
    } catch (err) {
      release(false)
      throw err
    }
    changes.push({ tally: this.totals, count: -count, bytes: -charge, write: totalOp }, this.mailboxChange(box, mailbox, -removed.length, -bytes))
    return entryOf(changes, (durable) => { release(!durable) })
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
    const pinned: Array<{ charge: SourceCharge, tally: Tally }> = []
    const release = (forget: boolean): void => {
      for (const p of pinned) this.sources.unpin(p.charge.tag, forget)
    }
    try {
      for (const charge of charges) pinned.push({ charge, tally: await this.sources.pin(charge.tag) })
    } catch (err) {
      release(false)
      throw err
    }
    // From here to the entry nothing awaits, as in charge.
    if (from !== undefined) {
      const budget = from.linked === true ? this.budgets.maxBytesPerLinkedRelay : this.budgets.maxBytesPerSource
      const adding = charges.reduce((n, c) => n + Math.max(0, c.bytes), 0)
      const refused = pinned.find(p => p.charge.bytes > 0 && p.tally.live.bytes + p.charge.bytes > budget)
      if (refused != null || this.totals.live.bytes + adding > this.budgets.maxTotalBytes) {
        release(false)
        throw refused != null
          ? new QuotaExceededError(`this relay holds ${refused.tally.live.bytes} bytes from this source, the most it keeps for one`, 'source-budget')
          : new QuotaExceededError(`this relay's storage is full (${this.totals.live.bytes} bytes)`, 'relay-full')
      }
    }
    const changes: Change[] = pinned.map(p => this.sourceChange(p.tally, p.charge.tag, p.charge.count, p.charge.bytes))
    const count = charges.reduce((n, c) => n + c.count, 0)
    const bytes = charges.reduce((n, c) => n + c.bytes, 0)
    changes.push({ tally: this.totals, count, bytes, write: totalOp })
    return entryOf(changes, (durable) => { release(!durable) })
  }

  private shareChange (tally: Tally, mailbox: Uint8Array, tag: Uint8Array, count: number, bytes: number): Change {
    return { tally, count, bytes, write: (u) => usageOp(shareKey(mailbox, tag), u.count, u.bytes) }
  }

  private mailboxChange (tally: Tally, mailbox: Uint8Array, count: number, bytes: number): Change {
    return {
      tally,
      count,
      bytes,
      write: (u) => usageOp(mailboxUsageKey(mailbox), u.count, u.bytes),
      crossed: (delta) => { this.mailboxCount += delta }
    }
  }

  private sourceChange (tally: Tally, tag: Uint8Array, count: number, bytes: number): Change {
    return { tally, count, bytes, write: (u) => this.sources.op(tag, u) }
  }

  /** A mailbox's tally, cached (under the mailbox's lock). */
  private async mailboxTally (mailbox: Uint8Array): Promise<Tally> {
    const hex = toHex(mailbox)
    const cached = this.mailboxes.get(hex)
    if (cached !== undefined) return cached
    const tally = tallyOf(decodeUsage(await this.store.get('relay', mailboxUsageKey(mailbox))))
    const meanwhile = this.mailboxes.get(hex)
    if (meanwhile !== undefined) return meanwhile
    this.mailboxes.set(hex, tally)
    if (this.mailboxes.size > USAGE_CACHE_SIZE) {
      // Only a mailbox no work holds may go: its usage is read back on next touch.
      for (const [key, other] of this.mailboxes) {
        if (key !== hex && other.busy === 0 && !this.isBusy(key)) {
          this.mailboxes.delete(key)
          break
        }
      }
    }
    return tally
  }

  private async holdMailbox (mailbox: Uint8Array): Promise<Tally> {
    const tally = await this.mailboxTally(mailbox)
    tally.busy++
    return tally
  }

  /** `forget`: once nothing holds it, the mailbox's usage is read from the disk again (a batch failed: it may be on disk after all). */
  private releaseMailbox (mailbox: Uint8Array, tally: Tally, forget: boolean): void {
    tally.busy--
    const hex = toHex(mailbox)
    if (forget && tally.busy <= 0 && this.mailboxes.get(hex) === tally) this.mailboxes.delete(hex)
  }

  /** A source's share of a mailbox, held (not dropped from the cache) until {@link releaseShare}; under the mailbox's lock. */
  private async holdShare (id: string, mailbox: Uint8Array, tag: Uint8Array): Promise<Tally> {
    let share = this.shares.get(id)
    if (share === undefined) {
      const read = tallyOf(decodeUsage(await this.store.get('relay', shareKey(mailbox, tag))))
      share = this.shares.get(id) ?? read
    }
    share.busy++
    // Most recently used last; past the bound, the oldest no entry holds goes.
    this.shares.delete(id)
    this.shares.set(id, share)
    if (this.shares.size > SHARE_CACHE_SIZE) {
      for (const [key, other] of this.shares) {
        if (other.busy <= 0) {
          this.shares.delete(key)
          break
        }
      }
    }
    return share
  }

  /** `forget`: once nothing holds it, the share is read from the disk again (see {@link shares}). */
  private releaseShare (id: string, tally: Tally, forget: boolean): void {
    tally.busy--
    if (forget && tally.busy <= 0 && this.shares.get(id) === tally) this.shares.delete(id)
  }
}
