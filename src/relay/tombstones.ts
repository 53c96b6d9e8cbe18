/**
 * Tombstones: what a relay keeps of an envelope its owner deleted, so that
 * relays reconciling later (relay-sync) apply the delete where it was
 * missed and never fetch the envelope back from a relay that still has it.
 * A tombstone names the envelope by mailbox, id and SHA-256 of its bytes,
 * and keeps the owner's signed delete as proof (once for every tombstone
 * it names), for the other relays to verify.
 *
 * A tombstone lives until the envelope it replaces would have expired on
 * any relay: the signing time plus the retention plus a day (an envelope
 * was stored before its owner fetched and deleted it; a day covers clocks
 * and gossip that arrived late). It is charged to a source like an
 * envelope (usage.ts): one made from an envelope this relay held keeps
 * that envelope's count and {@link TOMBSTONE_CHARGE} of its charge on the
 * sender's source; one fetched from a linked relay is charged to that
 * relay's budget. The proof's bytes are charged once, with the first
 * tombstone that stores it.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { BatchOp } from '../store/store.js'
import { ITEM_KEY_LENGTH } from '../protocols/relay-sync/constants.js'
import { deadByKey, encodeTombstoneValue, proofKey, tombstoneKey } from './keys.js'
import { ENTRY_OVERHEAD_BYTES } from './usage.js'

/** What a tombstone is charged, besides the proof's bytes: the keys of a tombstone cost about what an envelope's do. */
export const TOMBSTONE_CHARGE = ENTRY_OVERHEAD_BYTES

/** A tombstone lives this long past the retention, counted from its delete's signing. */
export const TOMBSTONE_MARGIN_MS = 24 * 60 * 60 * 1000

/** The owner's signed delete behind tombstones. */
export interface DeleteProof {
  /** The signed delete as a GossipDelete of /starling/store/3.0.0. */
  signed: Uint8Array
  /** When its owner signed it (ms since the epoch), verified. */
  timestamp: number
}

/** The item key of an envelope: mailbox || id || hash. */
export function itemKey (mailbox: Uint8Array, id: Uint8Array, hash: Uint8Array): Uint8Array {
  const key = new Uint8Array(ITEM_KEY_LENGTH)
  key.set(mailbox)
  key.set(id, mailbox.length)
  key.set(hash, mailbox.length + id.length)
  return key
}

/** A proof as it is stored: where, and the operation that writes it unless it is there already. */
export interface StoredProof {
  expiresAt: number
  digest: Uint8Array
  bytes: number
  op: BatchOp
}

/** Where a proof goes, and when it and its tombstones expire. */
export function proofOf (proof: DeleteProof, lifetimeMs: number): StoredProof {
  const expiresAt = proof.timestamp + lifetimeMs
  const digest = sha256(proof.signed)
  return { expiresAt, digest, bytes: proof.signed.length, op: { type: 'put', namespace: 'relay', key: proofKey(expiresAt, digest), value: proof.signed } }
}

/** The operations that write one tombstone. */
export function tombstoneOps (item: Uint8Array, proof: StoredProof, source: Uint8Array, charge: number): BatchOp[] {
  return [
    { type: 'put', namespace: 'relay', key: tombstoneKey(item), value: encodeTombstoneValue({ expiresAt: proof.expiresAt, proof: proof.digest, source, charge }) },
    { type: 'put', namespace: 'relay', key: deadByKey(proof.expiresAt, item), value: new Uint8Array(0) }
  ]
}
