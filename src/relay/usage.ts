/**
 * What a relay's envelopes cost, and who may still spend: the budgets an
 * {@link EnvelopeStore} enforces, the tags that name a source on disk, and
 * the per-source counters.
 *
 * A peer id costs nothing to make, so every budget that must hold against a
 * stranger is kept per source (src/net/source.ts), and the counters live on
 * disk beside the envelopes (written in the same batches), so that neither
 * fresh peer ids nor a restart give a source a new budget. In memory only a
 * bounded cache of them is kept.
 *
 * On disk a source is named by a tag: 8 bytes of HMAC-SHA256 under a key
 * the relay makes once and keeps in its store, so the relay's files hold no
 * sender address in the clear (an operator who reads the key can still test
 * guesses; it only keeps addresses out of backups and casual reads).
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import type { BatchOp, Store } from '../store/store.js'
import { SOURCE_TAG_LENGTH, decodeUsage, encodeUsage, sourceKey } from './keys.js'
import { tallyOf } from './tally.js'
import type { Tally } from './tally.js'

/**
 * Bytes a stored envelope costs on disk besides its own: three keys of 49-61
 * bytes, a 56-byte index value and LevelDB's per-entry bookkeeping. Budgets
 * count envelope + this, so that they bound the disk, not only the payloads.
 */
export const ENTRY_OVERHEAD_BYTES = 512

/** The whole relay's storage budget (8 GiB). */
export const MAX_TOTAL_BYTES = 8 * 1024 ** 3
/** What one source may keep on the relay (512 MiB): a home or a carrier NAT holds many people. */
export const MAX_BYTES_PER_SOURCE = 512 * 1024 ** 2
/** What the gossip of one linked relay may keep here (half the total by default: see {@link resolveBudgets}). */
export const LINKED_RELAY_SHARE = 0.5
/** Most envelopes one mailbox may hold. */
export const MAX_ENVELOPES_PER_MAILBOX = 10_000
/** Most envelope bytes one mailbox may hold (200 MB). */
export const MAX_BYTES_PER_MAILBOX = 200_000_000
/**
 * The share of a mailbox one source may fill: a quarter, so that one source
 * cannot fill anyone's mailbox, while a friend's thousand queued messages or
 * a 10 MB attachment still fit.
 */
export const MAX_ENVELOPES_PER_MAILBOX_PER_SOURCE = 2_500
export const MAX_BYTES_PER_MAILBOX_PER_SOURCE = 50_000_000
/** Source counters cached in memory at once. */
export const SOURCE_CACHE_SIZE = 10_000

/** Every budget of an {@link EnvelopeStore}; each one is configurable. */
export interface Budgets {
  /** Charged bytes the relay holds at most. */
  maxTotalBytes: number
  /** Charged bytes one source may hold. */
  maxBytesPerSource: number
  /** Charged bytes the gossip of one linked relay may hold. */
  maxBytesPerLinkedRelay: number
  maxEnvelopesPerMailbox: number
  /** Envelope bytes (what the user sees) one mailbox may hold. */
  maxBytesPerMailbox: number
  /** Envelopes one source may keep in one mailbox (gossip of linked relays is exempt: they apply it at their door). */
  maxEnvelopesPerMailboxPerSource: number
  maxBytesPerMailboxPerSource: number
}

/** Defaults for every budget not given. */
export function resolveBudgets (init: Partial<Budgets> = {}): Budgets {
  const maxTotalBytes = init.maxTotalBytes ?? MAX_TOTAL_BYTES
  return {
    maxTotalBytes,
    maxBytesPerSource: init.maxBytesPerSource ?? MAX_BYTES_PER_SOURCE,
    maxBytesPerLinkedRelay: init.maxBytesPerLinkedRelay ?? Math.floor(maxTotalBytes * LINKED_RELAY_SHARE),
    maxEnvelopesPerMailbox: init.maxEnvelopesPerMailbox ?? MAX_ENVELOPES_PER_MAILBOX,
    maxBytesPerMailbox: init.maxBytesPerMailbox ?? MAX_BYTES_PER_MAILBOX,
    maxEnvelopesPerMailboxPerSource: init.maxEnvelopesPerMailboxPerSource ?? MAX_ENVELOPES_PER_MAILBOX_PER_SOURCE,
    maxBytesPerMailboxPerSource: init.maxBytesPerMailboxPerSource ?? MAX_BYTES_PER_MAILBOX_PER_SOURCE
  }
}

/** What a put is charged against the source and relay budgets. */
export function chargeOf (envelopeLength: number): number {
  return envelopeLength + ENTRY_OVERHEAD_BYTES
}

export type { PutSource } from '../protocols/store/store.js'

/** Envelopes and bytes. */
export interface Usage {
  count: number
  bytes: number
}

/** The 8-byte tag of a source under the relay's key. */
export function sourceTag (key: Uint8Array, source: string): Uint8Array {
  return hmac(sha256, key, new TextEncoder().encode(source)).slice(0, SOURCE_TAG_LENGTH)
}

function hex (bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

interface Cached {
  tally: Tally
  pins: number
  /** Settles once `tally` holds what the disk says. */
  ready: Promise<void>
}

/**
 * Per-source usage: on disk under 'S' keys, cached in memory up to a bound.
 * A caller pins a source's counter while it checks and changes it (until
 * its entry settles), so that concurrent puts to different mailboxes of one
 * source change one tally; only unpinned counters are dropped from the
 * cache (the disk has them).
 */
export class SourceCounters {
  private readonly entries = new Map<string, Cached>()

  constructor (private readonly store: Store, private readonly max = SOURCE_CACHE_SIZE) {}

  /** The tally of a source (tally.ts); call {@link unpin} when done. */
  async pin (tag: Uint8Array): Promise<Tally> {
    const key = hex(tag)
    let entry = this.entries.get(key)
    if (entry == null) {
      const tally = tallyOf({ count: 0, bytes: 0 })
      const ready = this.store.get('relay', sourceKey(tag)).then(value => {
        const usage = decodeUsage(value)
        Object.assign(tally.live, usage)
        Object.assign(tally.disk, usage)
      })
      entry = { tally, pins: 0, ready }
    }
    // Pinned before the first await, so nobody evicts it while it loads; most recently used last.
    this.entries.delete(key)
    this.entries.set(key, entry)
    entry.pins++
    try {
      await entry.ready
    } catch (err) {
      entry.pins--
      if (this.entries.get(key) === entry) this.entries.delete(key)
      throw err
    }
    return entry.tally
  }

  /**
   * Gives a pin back. `forget`: once nothing pins it, the counter is read
   * from the disk again on next use (a batch failed: it may have reached
   * the disk after all, and the disk must never count more than memory).
   */
  unpin (tag: Uint8Array, forget = false): void {
    const key = hex(tag)
    const entry = this.entries.get(key)
    if (entry == null) return
    entry.pins--
    if (forget && entry.pins <= 0) this.entries.delete(key)
    this.evict()
  }

  /** The batch operation that writes a counter as it stands now. */
  op (tag: Uint8Array, usage: Usage): BatchOp {
    if (usage.count <= 0) return { type: 'del', namespace: 'relay', key: sourceKey(tag) }
    return { type: 'put', namespace: 'relay', key: sourceKey(tag), value: encodeUsage(usage.count, usage.bytes) }
  }

  /** Counters held in memory (for tests and metrics). */
  get cached (): number {
    return this.entries.size
  }

  private evict (): void {
    if (this.entries.size <= this.max) return
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.max) break
      if (entry.pins <= 0) this.entries.delete(key)
    }
  }
}
