/**
 * Which envelopes might have a tombstone, in memory, so that a put need not
 * read the store for one (tombstones.ts): a Bloom filter of item keys
 * (mailbox || id || hash). It answers "maybe" for every tombstone kept, and
 * "no" only for items that have none, so a "maybe" is checked on disk and
 * a "no" is the truth. It never forgets an item (a Bloom filter cannot):
 * expired tombstones leave it when the relay restarts.
 *
 * Crash safety: the filter lives in memory only and is built from the
 * store's tombstone keys when the store opens; until it is built every
 * question answers "maybe". Items are added before
 * the batch that writes their tombstones, so no put can see "no" for a
 * tombstone being written. The caller holds the mailbox's lock while it
 * asks and while it adds, as for every write of the mailbox.
 */
import type { Store } from '../store/store.js'
import { ITEM_LENGTH, allTombstonesRange } from './keys.js'

/** Items the filter is sized for (≈ 2 % false "maybe" when full: one extra read). */
export const TOMBSTONE_FILTER_CAPACITY = 1_000_000
/** Bits per item and probes per item (8 Mi bits, 1 MiB, for the default capacity). */
const BITS_PER_ITEM = 8.4
const PROBES = 4

class Bloom {
  readonly bits: Uint32Array
  readonly size: number
  count = 0

  constructor (capacity: number) {
    this.size = Math.max(1024, Math.ceil(capacity * BITS_PER_ITEM))
    this.bits = new Uint32Array(Math.ceil(this.size / 32))
  }

  /** Probe positions: words of the item's hash, mixed with its mailbox and id (an attacker who grinds them only costs itself a read). */
  private probe (item: Uint8Array, i: number): number {
    const view = new DataView(item.buffer, item.byteOffset, item.byteLength)
    const hashAt = ITEM_LENGTH - 32
    const word = view.getUint32(hashAt + 4 * i, false) ^ view.getUint32(4 * i, false) ^ view.getUint32(32 + 4 * i, false)
    return (word >>> 0) % this.size
  }

  add (item: Uint8Array): void {
    for (let i = 0; i < PROBES; i++) {
      const bit = this.probe(item, i)
      this.bits[bit >>> 5] |= 1 << (bit & 31)
    }
    this.count++
  }

  has (item: Uint8Array): boolean {
    for (let i = 0; i < PROBES; i++) {
      const bit = this.probe(item, i)
      if ((this.bits[bit >>> 5] & (1 << (bit & 31))) === 0) return false
    }
    return true
  }
}

/** The tombstone filter (see the file comment). */
export class TombstoneFilter {
  private current?: Bloom
  /** The filter being built from the store: items added meanwhile go to it too. */
  private readonly next: Bloom
  private built?: Promise<void>

  constructor (private readonly store: Store, capacity = TOMBSTONE_FILTER_CAPACITY) {
    this.next = new Bloom(capacity)
  }

  /** Whether the filter answers yet. */
  get ready (): boolean {
    return this.current != null
  }

  /** Whether `item` might have a tombstone: false only when it surely has none. */
  mightHold (item: Uint8Array): boolean {
    if (item.length !== ITEM_LENGTH) return true
    return this.current?.has(item) ?? true
  }

  /** Records a tombstone about to be written (before its batch is committed). */
  add (item: Uint8Array): void {
    if (item.length === ITEM_LENGTH) this.next.add(item)
  }

  /**
   * Adds the tombstone keys the store holds, once (when the store opens,
   * before anything can write one); answers from then on. Past its capacity
   * it answers "maybe" more often: more reads, never a wrong "no".
   */
  async build (): Promise<void> {
    this.built ??= (async () => {
      for await (const [key] of this.store.iterate('relay', allTombstonesRange())) this.next.add(key.subarray(1))
      this.current = this.next
    })()
    await this.built
  }
}
