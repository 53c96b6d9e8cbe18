/**
 * The tree both sides of `/starling/relay-sync/1.0.0` compare: items keyed
 * mailbox (32) || envelope id (16) || SHA-256 of the envelope (32), placed
 * by the nibbles of their key (16-way fan-out), one tree per mailbox shard.
 *
 * A node's digest is the sum modulo 2^256 of its items' hashes plus their
 * count, so it can be kept up to date one item at a time and the order of
 * items does not matter (as in range-based set reconciliation, e.g.
 * Negentropy). Only digests that differ are descended into. A sum can be
 * forced to collide by someone who chooses many items of a node (a
 * generalised birthday search): that only hides the chooser's own items
 * from reconciliation, never another sender's, whose envelope bytes (hence
 * hashes) they do not know.
 *
 * item hash   = SHA-256("starling-relay-sync-v1 item" || 0x00 || kind || key), kind 'E' or 'T'
 * fingerprint = first 16 bytes of SHA-256(sum (32, little-endian words) || count (u32 BE))
 * path        = nibbles from the start of the key, one per byte (0..15)
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '../../crypto/bytes.js'
import { FINGERPRINT_LENGTH, ITEM_KEY_LENGTH, MAX_PATH_NIBBLES, SHARDS } from './constants.js'

const ITEM_PREFIX = concatBytes(new TextEncoder().encode('starling-relay-sync-v1 item'), new Uint8Array([0]))
const ENVELOPE_KIND = 0x45 // 'E'
const TOMBSTONE_KIND = 0x54 // 'T'

/** Words (u32) in a sum. */
export const SUM_WORDS = 8

/** One item of a relay's set: an envelope it holds, or the tombstone of one its owner deleted. */
export interface SyncItem {
  /** mailbox || id || hash ({@link ITEM_KEY_LENGTH} bytes). */
  key: Uint8Array
  tombstone: boolean
}

/** How many items a node holds and their digest. */
export interface Summary {
  count: number
  fingerprint: Uint8Array
}

/** A non-empty child of a node. */
export interface ChildSummary extends Summary {
  nibble: number
}

/** The hash an item adds to the sums of the nodes above it. */
export function itemHash (item: SyncItem): Uint8Array {
  return sha256(concatBytes(ITEM_PREFIX, new Uint8Array([item.tombstone ? TOMBSTONE_KIND : ENVELOPE_KIND]), item.key))
}

/** Adds (or with `negate`, subtracts) a 32-byte hash to the sum at `sums[at..at+8]`, modulo 2^256. */
export function addHash (sums: Uint32Array, at: number, hash: Uint8Array, negate = false): void {
  const view = new DataView(hash.buffer, hash.byteOffset, 32)
  let carry = 0
  for (let i = 0; i < SUM_WORDS; i++) {
    const word = view.getUint32(i * 4, true)
    const next = negate ? sums[at + i] - word - carry : sums[at + i] + word + carry
    if (negate) carry = next < 0 ? 1 : 0
    else carry = next > 0xffffffff ? 1 : 0
    sums[at + i] = next >>> 0
  }
}

/** Adds the sum at `from[fromAt..]` into `into[intoAt..]`. */
export function addSum (into: Uint32Array, intoAt: number, from: Uint32Array, fromAt: number): void {
  let carry = 0
  for (let i = 0; i < SUM_WORDS; i++) {
    const next = into[intoAt + i] + from[fromAt + i] + carry
    carry = next > 0xffffffff ? 1 : 0
    into[intoAt + i] = next >>> 0
  }
}

/** The fingerprint of a node from its sum and count. */
export function fingerprint (sum: Uint32Array, at: number, count: number): Uint8Array {
  const bytes = new Uint8Array(SUM_WORDS * 4 + 4)
  const view = new DataView(bytes.buffer)
  for (let i = 0; i < SUM_WORDS; i++) view.setUint32(i * 4, sum[at + i], true)
  view.setUint32(SUM_WORDS * 4, count, false)
  return sha256(bytes).subarray(0, FINGERPRINT_LENGTH)
}

/** Running sums per child nibble of one node. */
export class ChildSums {
  readonly counts = new Uint32Array(16)
  readonly sums = new Uint32Array(16 * SUM_WORDS)

  /** Adds an item's hash to child `nibble`. */
  add (nibble: number, hash: Uint8Array): void {
    this.counts[nibble]++
    addHash(this.sums, nibble * SUM_WORDS, hash)
  }

  /** Adds a whole sum (of `count` items) to child `nibble`. */
  addSum (nibble: number, sum: Uint32Array, at: number, count: number): void {
    this.counts[nibble] += count
    addSum(this.sums, nibble * SUM_WORDS, sum, at)
  }

  /** The non-empty children, in nibble order. */
  summaries (): ChildSummary[] {
    const out: ChildSummary[] = []
    for (let nibble = 0; nibble < 16; nibble++) {
      const count = this.counts[nibble]
      if (count > 0) out.push({ nibble, count, fingerprint: fingerprint(this.sums, nibble * SUM_WORDS, count) })
    }
    return out
  }
}

/** The nibble of `key` at position `i`. */
export function nibbleAt (key: Uint8Array, i: number): number {
  const byte = key[i >> 1]
  return (i & 1) === 0 ? byte >> 4 : byte & 0x0f
}

/** Whether `key` starts with `path`. */
export function keyHasPath (key: Uint8Array, path: Uint8Array): boolean {
  for (let i = 0; i < path.length; i++) {
    if (nibbleAt(key, i) !== path[i]) return false
  }
  return true
}

/** Whether `path` starts with `prefix`. */
export function pathHasPrefix (path: Uint8Array, prefix: Uint8Array): boolean {
  if (path.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) {
    if (path[i] !== prefix[i]) return false
  }
  return true
}

/** The first `nibbles` nibbles of a key, as a path. */
export function pathOf (key: Uint8Array, nibbles: number): Uint8Array {
  const out = new Uint8Array(nibbles)
  for (let i = 0; i < nibbles; i++) out[i] = nibbleAt(key, i)
  return out
}

/** Nibbles two keys share from their start, at most `max`. */
export function commonNibbles (a: Uint8Array, b: Uint8Array, max = MAX_PATH_NIBBLES): number {
  let i = 0
  while (i < max && nibbleAt(a, i) === nibbleAt(b, i)) i++
  return i
}

/** Whether `path` is a well-formed path (nibbles 0..15, not deeper than a key). */
export function isPath (path: Uint8Array): boolean {
  if (path.length > MAX_PATH_NIBBLES) return false
  for (const n of path) {
    if (n > 15) return false
  }
  return true
}

/** Whether `shard` is a shard number. */
export function isShard (shard: number): boolean {
  return Number.isInteger(shard) && shard >= 0 && shard < SHARDS
}

/** The shard of an item key (its mailbox's first byte modulo the shard count). */
export function shardOfKey (key: Uint8Array): number {
  return key[0] % SHARDS
}

/**
 * Whether a node of `shard` at `path` may hold anything: a path of two
 * nibbles or more fixes the mailbox's first byte, hence its shard.
 */
export function pathInShard (shard: number, path: Uint8Array): boolean {
  return path.length < 2 || ((path[0] << 4) | path[1]) % SHARDS === shard
}

/**
 * The key range (over raw item keys) of the items under `path`: `gte`, and
 * `lt` unless the range runs to the end of the key space.
 */
export function pathBounds (path: Uint8Array): { gte: Uint8Array, lt?: Uint8Array } {
  const gte = pathToBytes(path)
  // The next path of the same length: the last nibble below 15 goes up by one, the ones after it go.
  let end = path.length
  while (end > 0 && path[end - 1] === 15) end--
  if (end === 0) return { gte }
  // A copy: a path decoded from the wire may be a Node Buffer, whose slice() is a view.
  const next = Uint8Array.from(path.subarray(0, end))
  next[end - 1]++
  return { gte, lt: pathToBytes(next) }
}

/** The bytes a path fixes (an odd path ends in a byte whose low nibble is 0). */
function pathToBytes (path: Uint8Array): Uint8Array {
  const out = new Uint8Array(Math.ceil(path.length / 2))
  for (let i = 0; i < path.length; i++) out[i >> 1] |= (i & 1) === 0 ? path[i] << 4 : path[i]
  return out
}

/** Byte-wise comparison. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return a.length - b.length
}

/** Item order: by key, an envelope before the tombstone of the same key. */
export function compareItems (a: SyncItem, b: SyncItem): number {
  return compareBytes(a.key, b.key) || Number(a.tombstone) - Number(b.tombstone)
}

/** A list cursor: the key of the last item and its kind (0 envelope, 1 tombstone). */
export function itemCursor (item: SyncItem): Uint8Array {
  return concatBytes(item.key, new Uint8Array([item.tombstone ? 1 : 0]))
}

/** The item a cursor names, or undefined for one that is not a cursor. */
export function itemOfCursor (cursor: Uint8Array): SyncItem | undefined {
  if (cursor.length !== ITEM_KEY_LENGTH + 1 || cursor[ITEM_KEY_LENGTH] > 1) return undefined
  return { key: Uint8Array.from(cursor.subarray(0, ITEM_KEY_LENGTH)), tombstone: cursor[ITEM_KEY_LENGTH] === 1 }
}
