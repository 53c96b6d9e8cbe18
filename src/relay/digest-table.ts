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
 *
 * At start the table is built from the store in the background, one chunk
 * (the items whose mailbox starts with one byte) at a time, while the store
 * serves puts and fetches. A change to a chunk not yet read is left to the
 * read (the store has it); a change to the chunk being read makes it read
 * again; a change to a chunk already in is applied. Only reconciliation
 * waits for the whole table.
 */
import { ChildSums, SUM_WORDS, addHash, addSum, fingerprint, itemHash } from '../protocols/relay-sync/tree.js'
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

  /** Adds node `from` of `other` into node `node`. */
  add (node: number, other: Level, from: number): void {
    addSum(this.sums, node * SUM_WORDS, other.sums, from * SUM_WORDS)
    this.counts[node] += other.counts[from]
  }
}

/** Chunks of the build: one per first byte of the mailbox id. */
const CHUNKS = 256
const UNBUILT = 0
const BUILDING = 1
const BUILT = 2

/** The first four levels of the tree (see the file comment). */
export class DigestTable {
  /**
   * levels[0]: one node per shard; levels[1]: per shard and first nibble;
   * levels[k] for k >= 2: per path of k nibbles (its shard is fixed).
   */
  private readonly levels = [new Level(SHARDS), new Level(SHARDS * 16), new Level(16 ** 2), new Level(16 ** 3), new Level(16 ** 4)]
  private readonly chunks = new Uint8Array(CHUNKS).fill(UNBUILT)
  private readonly dirty = new Uint8Array(CHUNKS)

  /** Adds an item (or with `remove`, takes it out), once its chunk is built (see the file comment). */
  apply (item: SyncItem, remove = false): void {
    const chunk = item.key[0]
    if (this.chunks[chunk] === BUILDING) this.dirty[chunk] = 1
    if (this.chunks[chunk] !== BUILT) return
    const hash = itemHash(item)
    const shard = item.key[0] % SHARDS
    const prefix = (item.key[0] << 8) | item.key[1]
    this.levels[0].apply(shard, hash, remove)
    this.levels[1].apply(shard * 16 + (prefix >> 12), hash, remove)
    for (let k = 2; k <= TABLE_NIBBLES; k++) this.levels[k].apply(prefix >> (4 * (TABLE_NIBBLES - k)), hash, remove)
  }

  /**
   * Builds the table from the store: `read(chunk)` yields the items whose
   * mailbox starts with that byte. A chunk changed while it was read is
   * read again (after a pause once it keeps changing).
   */
  async build (read: (chunk: number) => AsyncIterable<SyncItem>): Promise<void> {
    for (let chunk = 0; chunk < CHUNKS; chunk++) {
      for (let attempt = 0; ; attempt++) {
        this.chunks[chunk] = BUILDING
        this.dirty[chunk] = 0
        const part = new Level(256)
        for await (const item of read(chunk)) part.apply(item.key[1], itemHash(item), false)
        if (this.dirty[chunk] === 0) {
          this.merge(chunk, part)
          this.chunks[chunk] = BUILT
          break
        }
        if (attempt >= 3) await new Promise(resolve => setTimeout(resolve, 10 * attempt))
      }
    }
  }

  /** Adds a chunk read from the store to every level (nothing awaits: no change comes in between). */
  private merge (chunk: number, part: Level): void {
    const shard = chunk % SHARDS
    for (let second = 0; second < 256; second++) {
      if (part.counts[second] === 0) continue
      const prefix = (chunk << 8) | second
      this.levels[0].add(shard, part, second)
      this.levels[1].add(shard * 16 + (chunk >> 4), part, second)
      for (let k = 2; k <= TABLE_NIBBLES; k++) this.levels[k].add(prefix >> (4 * (TABLE_NIBBLES - k)), part, second)
    }
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
