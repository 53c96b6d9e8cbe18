/**
 * The top of a relay's sync tree in memory: one sum and count per bucket of
 * the first 16 bits of the mailbox id (65,536 buckets, 2.3 MB), kept up to
 * date as envelopes and tombstones come and go, so that comparing two
 * relays' roots, and the first four levels below them, reads nothing from
 * disk. Deeper nodes are summed from the store when asked (sync-items.ts):
 * a bucket holds N / 65,536 items on average.
 */
import { ChildSums, SUM_WORDS, addHash, addSum, fingerprint, itemHash } from '../protocols/relay-sync/tree.js'
import type { ChildSummary, Summary, SyncItem } from '../protocols/relay-sync/tree.js'
import { SHARDS } from '../protocols/relay-sync/constants.js'

/** Nibbles of the key the table covers (its buckets are the paths of this length). */
export const TABLE_NIBBLES = 4

const BUCKETS = 16 ** TABLE_NIBBLES

/** The shard of a bucket: its first byte modulo the shard count. */
function shardOfBucket (bucket: number): number {
  return (bucket >> 8) % SHARDS
}

/** Sums and counts per bucket (see the file comment). */
export class DigestTable {
  private readonly sums = new Uint32Array(BUCKETS * SUM_WORDS)
  private readonly counts = new Uint32Array(BUCKETS)

  /** Adds an item (or with `remove`, takes it out). */
  apply (item: SyncItem, remove = false): void {
    const bucket = (item.key[0] << 8) | item.key[1]
    addHash(this.sums, bucket * SUM_WORDS, itemHash(item), remove)
    this.counts[bucket] = remove ? Math.max(0, this.counts[bucket] - 1) : this.counts[bucket] + 1
  }

  /** Items in the table. */
  get size (): number {
    let n = 0
    for (const c of this.counts) n += c
    return n
  }

  /** The summary of each shard's root. */
  roots (): Summary[] {
    const sums = new Uint32Array(SHARDS * SUM_WORDS)
    const counts = new Array<number>(SHARDS).fill(0)
    for (let bucket = 0; bucket < BUCKETS; bucket++) {
      if (this.counts[bucket] === 0) continue
      const shard = shardOfBucket(bucket)
      counts[shard] += this.counts[bucket]
      addSum(sums, shard * SUM_WORDS, this.sums, bucket * SUM_WORDS)
    }
    return counts.map((count, shard) => ({ count, fingerprint: fingerprint(sums, shard * SUM_WORDS, count) }))
  }

  /**
   * The non-empty children of the node at `path` (fewer than
   * {@link TABLE_NIBBLES} nibbles) in `shard`.
   */
  children (shard: number, path: Uint8Array): ChildSummary[] {
    if (path.length >= TABLE_NIBBLES) throw new RangeError(`the table holds paths of fewer than ${TABLE_NIBBLES} nibbles`)
    let base = 0
    for (const n of path) base = (base << 4) | n
    const span = 16 ** (TABLE_NIBBLES - path.length - 1)
    const first = base * 16 * span
    const sums = new ChildSums()
    for (let nibble = 0; nibble < 16; nibble++) {
      for (let bucket = first + nibble * span; bucket < first + (nibble + 1) * span; bucket++) {
        const count = this.counts[bucket]
        if (count > 0 && shardOfBucket(bucket) === shard) sums.addSum(nibble, this.sums, bucket * SUM_WORDS, count)
      }
    }
    return sums.summaries()
  }
}
