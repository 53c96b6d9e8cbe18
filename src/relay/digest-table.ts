/**
 * The top of a relay's sync tree in memory: the sum and count of every node
 * of the first four levels (paths of up to four nibbles: the first 16 bits
 * of the mailbox id, 65,536 buckets at the bottom, about 2.5 MB in all),
 * kept up to date as envelopes and tombstones come and go. Comparing two
 * relays' roots, and the four levels below them, then reads nothing from
 * disk and costs a few additions per node: a linked relay asking for them
 * again and again cannot make this relay loop over the buckets. Deeper
 * nodes are summed from the store when asked (sync-items.ts): a bucket holds
 * N / 65,536 items on average.
 *
 * A path of fewer than two nibbles does not fix the mailbox's first byte,
 * hence not its shard: levels 0 and 1 are kept per shard.
 */
import { ChildSums, SUM_WORDS, addHash, fingerprint, itemHash } from '../protocols/relay-sync/tree.js'
import type { ChildSummary, Summary, SyncItem } from '../protocols/relay-sync/tree.js'
import { SHARDS } from '../protocols/relay-sync/constants.js'

/** Nibbles of the key the table covers (its buckets are the paths of this length). */
export const TABLE_NIBBLES = 4

/** Sums and counts of one level's nodes. */
class Level {
  readonly sums: Uint32Array
  readonly counts: Uint32Array

  constructor (nodes: number) {
    this.sums = new Uint32Array(nodes * SUM_WORDS)
    this.counts = new Uint32Array(nodes)
  }

  apply (node: number, hash: Uint8Array, remove: boolean): void {
    addHash(this.sums, node * SUM_WORDS, hash, remove)
    this.counts[node] = remove ? Math.max(0, this.counts[node] - 1) : this.counts[node] + 1
  }
}

/** The first four levels of the tree (see the file comment). */
export class DigestTable {
  /**
   * levels[0]: one node per shard; levels[1]: per shard and first nibble;
   * levels[k] for k >= 2: per path of k nibbles (its shard is fixed).
   */
  private readonly levels = [new Level(SHARDS), new Level(SHARDS * 16), new Level(16 ** 2), new Level(16 ** 3), new Level(16 ** 4)]

  /** Adds an item (or with `remove`, takes it out). */
  apply (item: SyncItem, remove = false): void {
    const hash = itemHash(item)
    const shard = item.key[0] % SHARDS
    const prefix = (item.key[0] << 8) | item.key[1]
    this.levels[0].apply(shard, hash, remove)
    this.levels[1].apply(shard * 16 + (prefix >> 12), hash, remove)
    for (let k = 2; k <= TABLE_NIBBLES; k++) this.levels[k].apply(prefix >> (4 * (TABLE_NIBBLES - k)), hash, remove)
  }

  /** Items in the table. */
  get size (): number {
    return this.levels[0].counts.reduce((n, c) => n + c, 0)
  }

  /** The summary of each shard's root. */
  roots (): Summary[] {
    const level = this.levels[0]
    return Array.from({ length: SHARDS }, (_, shard) => ({ count: level.counts[shard], fingerprint: fingerprint(level.sums, shard * SUM_WORDS, level.counts[shard]) }))
  }

  /**
   * The non-empty children of the node at `path` (fewer than
   * {@link TABLE_NIBBLES} nibbles) in `shard`.
   */
  children (shard: number, path: Uint8Array): ChildSummary[] {
    if (path.length >= TABLE_NIBBLES) throw new RangeError(`the table holds paths of fewer than ${TABLE_NIBBLES} nibbles`)
    const level = this.levels[path.length + 1]
    let base = 0
    for (const n of path) base = (base << 4) | n
    const sums = new ChildSums()
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = (base << 4) | nibble
      if (path.length === 0) node = shard * 16 + nibble
      // Two nibbles fix the first byte: a child of another shard holds nothing of this one.
      else if (path.length === 1 && node % SHARDS !== shard) continue
      const count = level.counts[node]
      if (count > 0) sums.addSum(nibble, level.sums, node * SUM_WORDS, count)
    }
    return sums.summaries()
  }
}
