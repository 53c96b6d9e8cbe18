/**
 * Tree receipts: one relay signature for the custody receipts of a whole
 * batch of puts. Signing each receipt was a sixth of a relay's CPU per
 * stored envelope and verifying it half of a sending client's (bench:relay
 * profiles); with a tree both pay one signature per batch.
 *
 * The receipts of a batch are the leaves of a Merkle tree built as RFC 9162
 * (Certificate Transparency 2.0) builds one, with its domain separation:
 *
 *   leaf hash = SHA-256(0x00 || receipt payload)      (the bytes a single receipt signs)
 *   node hash = SHA-256(0x01 || left || right)        (left: the largest power of two of leaves below n)
 *
 * and the relay signs TREE_DOMAIN || 0x00 || u32 leaves || root. A receipt
 * carries its leaf index, the leaf count and the sibling hashes from its
 * leaf up (its inclusion proof), so each stays a proof on its own: it
 * promises exactly what a single receipt with the same payload promises,
 * and shows nothing of the batch's other envelopes but hashes.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes } from '../../crypto/bytes.js'
import { ENVELOPE_HASH_LENGTH, MAX_PUT_BATCH } from './constants.js'

const LEAF_PREFIX = new Uint8Array([0])
const NODE_PREFIX = new Uint8Array([1])

/**
 * Most sibling hashes an inclusion proof carries: a batch holds at most
 * {@link MAX_PUT_BATCH} receipts, so no path is longer than the height of
 * a tree of that many leaves (also the decoder's bound).
 */
export const MAX_RECEIPT_PATH = Math.ceil(Math.log2(MAX_PUT_BATCH))

/** The hash of one leaf: a receipt payload. */
export function leafHash (payload: Uint8Array): Uint8Array {
  return sha256(concatBytes(LEAF_PREFIX, payload))
}

function nodeHash (left: Uint8Array, right: Uint8Array): Uint8Array {
  return sha256(concatBytes(NODE_PREFIX, left, right))
}

/** The largest power of two below `n` (n ≥ 2). */
function split (n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** A tree over leaf hashes: its root, and each leaf's inclusion proof (bottom-up). */
export interface ReceiptTree {
  root: Uint8Array
  paths: Uint8Array[][]
}

/**
 * Builds the tree over `leaves` (leaf hashes, in order).
 *
 * @throws {RangeError} for no leaves
 */
export function buildTree (leaves: readonly Uint8Array[]): ReceiptTree {
  if (leaves.length === 0) throw new RangeError('a receipt tree has at least one leaf')
  if (leaves.length === 1) return { root: leaves[0], paths: [[]] }
  const k = split(leaves.length)
  const left = buildTree(leaves.slice(0, k))
  const right = buildTree(leaves.slice(k))
  return {
    root: nodeHash(left.root, right.root),
    paths: [...left.paths.map(p => [...p, right.root]), ...right.paths.map(p => [...p, left.root])]
  }
}

/**
 * The root that leaf `index` of a tree of `leaves` leaves, with inclusion
 * proof `path`, belongs to (RFC 9162, 2.1.3.2); undefined when the proof
 * cannot be one for that position (index out of range, a path too short or
 * too long, a hash of the wrong length).
 */
export function rootFromPath (leaf: Uint8Array, index: number, leaves: number, path: readonly Uint8Array[]): Uint8Array | undefined {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(leaves) || leaves < 1 || leaves > MAX_PUT_BATCH || index < 0 || index >= leaves) return undefined
  if (path.length > MAX_RECEIPT_PATH) return undefined
  let fn = index
  let sn = leaves - 1
  let r = leaf
  for (const sibling of path) {
    if (sibling.length !== ENVELOPE_HASH_LENGTH || sn === 0) return undefined
    if ((fn & 1) === 1 || fn === sn) {
      r = nodeHash(sibling, r)
      while ((fn & 1) === 0 && fn !== 0) {
        fn >>= 1
        sn >>= 1
      }
    } else {
      r = nodeHash(r, sibling)
    }
    fn >>= 1
    sn >>= 1
  }
  return sn === 0 ? r : undefined
}
