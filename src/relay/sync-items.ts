/**
 * A relay's sync set read from its store (the {@link SyncSource} of
 * `/starling/relay-sync/1.0.0`): every envelope in the index and every
 * tombstone, as items keyed mailbox || id || hash, in key order (an
 * envelope before the tombstone of the same key). The top four levels of
 * the tree come from the {@link DigestTable}; below them a node is summed
 * by reading its key range, one unit of work per item read.
 *
 * The tree holds what the index holds, expired or not (the sweep removes
 * both); what is served skips what has expired.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { Range, Store } from '../store/store.js'
import { bytesEqual } from '../crypto/bytes.js'
import { MAX_PATH_NIBBLES } from '../protocols/relay-sync/constants.js'
import type { LocalState, NodeExpansion, SyncedEnvelopeEntry, SyncSource, Work } from '../protocols/relay-sync/relay-sync.js'
import {
  ChildSums, commonNibbles, compareBytes, compareItems, itemHash, nibbleAt, pathBounds, pathInShard, pathOf, shardOfKey
} from '../protocols/relay-sync/tree.js'
import type { ChildSummary, Summary, SyncItem } from '../protocols/relay-sync/tree.js'
import { splitKey } from '../protocols/relay-sync/verify.js'
import { TABLE_NIBBLES } from './digest-table.js'
import type { DigestTable } from './digest-table.js'
import {
  INDEX_TAG, TOMBSTONE_TAG, decodeIndexValue, decodeTombstoneValue, envelopeKey, indexKeyOfItem, positionTime, proofKey, tombstoneKey
} from './keys.js'

function tagged (tag: number, bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + bytes.length)
  out[0] = tag
  out.set(bytes, 1)
  return out
}

/** The store range of the keys under `path` for one key kind (index and tombstone keys are both the item key behind a tag). */
function rangeOf (tag: number, path: Uint8Array): Range {
  const bounds = pathBounds(path)
  return { gte: tagged(tag, bounds.gte), lt: bounds.lt == null ? new Uint8Array([tag + 1]) : tagged(tag, bounds.lt) }
}

/** What a relay reads of its own store for sync (see the file comment). */
export class SyncItems implements SyncSource {
  constructor (
    private readonly store: Store,
    private readonly table: DigestTable,
    private readonly clock: { now(): number, readonly retentionMs: number },
    /** Resolves once the store is open and the table built (every read but {@link chunk} waits for it). */
    private readonly ready: () => Promise<void>
  ) {}

  async roots (work: Work): Promise<Summary[]> {
    await this.ready()
    work.units += 16
    return this.table.roots()
  }

  async children (shard: number, path: Uint8Array, work: Work): Promise<ChildSummary[]> {
    await this.ready()
    if (!pathInShard(shard, path) || path.length >= MAX_PATH_NIBBLES) return []
    if (path.length < TABLE_NIBBLES) {
      work.units += 16
      return this.table.children(shard, path)
    }
    const sums = new ChildSums()
    for await (const item of this.items(shard, path)) {
      work.units++
      sums.add(nibbleAt(item.key, path.length), itemHash(item))
    }
    return sums.summaries()
  }

  async expand (shard: number, asked: Uint8Array, work: Work): Promise<NodeExpansion> {
    await this.ready()
    let path = asked
    if (!pathInShard(shard, path)) return { path, children: [] }
    while (path.length < TABLE_NIBBLES) {
      const children = await this.children(shard, path, work)
      if (children.length !== 1) return { path, children }
      path = Uint8Array.from([...path, children[0].nibble])
    }
    // Below the table: every item under the node shares what its first and last share.
    const first = await this.edge(path, false, work)
    const last = await this.edge(path, true, work)
    if (first == null || last == null) return { path, children: [] }
    const shared = commonNibbles(first.key, last.key)
    path = pathOf(first.key, shared)
    return { path, children: await this.children(shard, path, work) }
  }

  async list (shard: number, paths: Uint8Array[], after: SyncItem | undefined, limit: number, work: Work): Promise<{ items: SyncItem[], more: boolean }> {
    await this.ready()
    const items: SyncItem[] = []
    for (const path of paths) {
      for await (const item of this.items(shard, path, after)) {
        work.units++
        if (items.length >= limit) return { items, more: true }
        items.push(item)
      }
    }
    return { items, more: false }
  }

  async envelopes (keys: Uint8Array[], maxBytes: number, work: Work): Promise<{ envelopes: SyncedEnvelopeEntry[], answered: number }> {
    await this.ready()
    const envelopes: SyncedEnvelopeEntry[] = []
    let bytes = 0
    let answered = 0
    const cutoff = this.clock.now() - this.clock.retentionMs
    for (const key of keys) {
      if (envelopes.length > 0 && bytes >= maxBytes) break
      answered++
      work.units++
      const { mailbox, id, hash } = splitKey(key)
      const value = await this.store.get('relay', indexKeyOfItem(key))
      if (value === undefined) continue
      const entry = decodeIndexValue(value)
      const storedAt = positionTime(entry.position)
      if (storedAt <= cutoff) continue
      const envelope = await this.store.get('relay', envelopeKey(mailbox, entry.position, id))
      // Checked again: what is served under a key must hash to it, whatever the disk says.
      if (envelope === undefined || !bytesEqual(sha256(envelope), hash)) continue
      work.units += Math.ceil(envelope.length / 1024)
      envelopes.push({ key, envelope, storedAt })
      bytes += envelope.length
    }
    return { envelopes, answered }
  }

  async deletes (keys: Uint8Array[], maxBytes: number, work: Work): Promise<{ deletes: Uint8Array[], answered: number }> {
    await this.ready()
    const deletes: Uint8Array[] = []
    const served = new Set<string>()
    let bytes = 0
    let answered = 0
    for (const key of keys) {
      if (deletes.length > 0 && bytes >= maxBytes) break
      answered++
      work.units++
      const value = await this.store.get('relay', tombstoneKey(key))
      if (value === undefined) continue
      const tombstone = decodeTombstoneValue(value)
      const digest = `${tombstone.expiresAt}:${tombstone.proof.join(',')}`
      if (served.has(digest)) continue
      const proof = await this.store.get('relay', proofKey(tombstone.expiresAt, tombstone.proof))
      if (proof === undefined) continue
      served.add(digest)
      work.units += Math.ceil(proof.length / 1024)
      deletes.push(proof)
      bytes += proof.length
    }
    return { deletes, answered }
  }

  /** What this relay has under an item's key (other bytes under the same id are another item). */
  async lookup (item: SyncItem): Promise<LocalState> {
    await this.ready()
    if (await this.store.get('relay', tombstoneKey(item.key)) !== undefined) return 'tombstone'
    return await this.store.get('relay', indexKeyOfItem(item.key)) === undefined ? 'absent' : 'held'
  }

  /** The items whose mailbox starts with byte `chunk` (to build the table). */
  async * chunk (chunk: number): AsyncGenerator<SyncItem> {
    const path = Uint8Array.from([chunk >> 4, chunk & 0x0f])
    yield * this.indexItems(path)
    yield * this.tombstoneItems(path)
  }

  /** The items under `path` in `shard`, in item order, after `after` when given. */
  async * items (shard: number, path: Uint8Array, after?: SyncItem): AsyncGenerator<SyncItem> {
    const envelopes = this.indexItems(path, after)
    const tombstones = this.tombstoneItems(path, after)
    let e = await envelopes.next()
    let t = await tombstones.next()
    while (e.done !== true || t.done !== true) {
      let item: SyncItem
      if (t.done === true || (e.done !== true && compareItems(e.value, t.value) < 0)) {
        item = e.value as SyncItem
        e = await envelopes.next()
      } else {
        item = t.value
        t = await tombstones.next()
      }
      // A path shorter than a byte does not fix the shard.
      if (path.length >= 2 || shardOfKey(item.key) === shard) yield item
    }
  }

  /** The first (or last) item under a path that fixes its shard. */
  private async edge (path: Uint8Array, last: boolean, work: Work): Promise<SyncItem | undefined> {
    let found: SyncItem | undefined
    for (const source of [this.indexItems(path, undefined, last), this.tombstoneItems(path, undefined, last)]) {
      const next = await source.next()
      await source.return(undefined)
      work.units++
      if (next.done === true) continue
      if (found == null || (compareItems(next.value, found) < 0) !== last) found = next.value
    }
    return found
  }

  private async * indexItems (path: Uint8Array, after?: SyncItem, reverse = false): AsyncGenerator<SyncItem> {
    yield * this.taggedItems(INDEX_TAG, false, path, after, reverse)
  }

  private async * tombstoneItems (path: Uint8Array, after?: SyncItem, reverse = false): AsyncGenerator<SyncItem> {
    yield * this.taggedItems(TOMBSTONE_TAG, true, path, after, reverse)
  }

  /** The items of one key kind under `path`, in key order (or reversed), after `after`. */
  private async * taggedItems (tag: number, tombstone: boolean, path: Uint8Array, after?: SyncItem, reverse = false): AsyncGenerator<SyncItem> {
    const range = rangeOf(tag, path)
    if (after != null && !reverse) {
      const from = tagged(tag, after.key)
      if (range.gte == null || compareBytes(from, range.gte) > 0) range.gte = from
    }
    for await (const [key] of this.store.iterate('relay', { ...range, reverse })) {
      const item = { key: key.slice(1), tombstone }
      if (after != null && compareItems(item, after) <= 0) continue
      yield item
    }
  }
}
