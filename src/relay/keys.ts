/**
 * Key layout of the relay's envelopes in the store's `relay` namespace.
 * Every field is fixed-width and big-endian, so byte order is the order the
 * relay needs:
 *
 *   envelope  'E' || mailbox (32) || position (12) || id (16)  → envelope bytes
 *   index     'H' || mailbox (32) || id (16) || hash (32)      → position (12) || size (u32) || source tag (8)
 *   expiry    'T' || position (12) || mailbox (32) || id (16) || hash (32) → empty
 *   source    'S' || source tag (8)                             → usage of that source
 *   share     'Q' || mailbox (32) || source tag (8)             → usage of that source in that mailbox
 *   mailbox   'M' || mailbox (32)                               → usage of that mailbox
 *   total     'U'                                               → usage of the whole relay
 *   secret    'K'                                               → the key of the source tags (32)
 *   tombstone 'D' || mailbox (32) || id (16) || hash (32)        → expiresAt (u64) || proof digest (32)
 *                                                                  || source tag (8) || charge (u32)
 *   dead-by   'R' || expiresAt (u64) || mailbox || id || hash     → empty
 *   proof     'P' || expiresAt (u64) || proof digest (32)         → the owner's signed delete (GossipDelete)
 *
 * An envelope is known by mailbox, id AND hash (SHA-256 of its bytes): the
 * same id may be held with other bytes beside it (a sender seals a copy
 * per hand-over, and anyone can put junk under an id it has seen), and no
 * version shadows another. The index key is the relay-sync item key
 * (mailbox || id || hash) behind its tag.
 *
 * usage = count (u32) || bytes (u64): envelope bytes for mailboxes and
 * shares, charged bytes (envelope + overhead) for sources and the total. A
 * source tag is a keyed hash of the source (see usage.ts), so no address is
 * kept in the clear.
 *
 * position = storedAt (u64 ms) || sequence (u32): arrival order, unique even
 * for envelopes stored in the same millisecond (a put makes sure no other
 * version of the id holds the same position). The index de-duplicates and
 * finds an envelope; the expiry keys list envelopes oldest first for the
 * retention sweep. A fetch cursor is position || id (opaque to clients).
 *
 * Stores written before versions were kept side by side have index keys
 * 'I' || mailbox || id (values position || size, then source tag || hash
 * once those existed) and expiry keys without the hash: migrate.ts moves
 * them to this layout when the store opens.
 *
 * A tombstone says the owner deleted the envelope with that id and hash
 * (tombstones.ts): its proof is the owner's signed delete, kept once for
 * all the tombstones it names and found from the tombstone by
 * expiresAt || digest; all of them expire together (expiresAt derives from
 * the signing time), and the 'R' keys list them oldest first for the sweep.
 */
import { concatBytes } from '../crypto/bytes.js'
import { ENVELOPE_ID_LENGTH } from '../crypto/envelope.js'
import { MAILBOX_LENGTH } from '../protocols/store/constants.js'
import { prefixRange } from '../store/keys.js'

const ENVELOPE = 0x45 // 'E'
const INDEX = 0x48 // 'H'
const LEGACY_INDEX = 0x49 // 'I'
const EXPIRY = 0x54 // 'T'
const SOURCE = 0x53 // 'S'
const SHARE = 0x51 // 'Q'
const TOTAL = 0x55 // 'U'
const SECRET = 0x4b // 'K'
const MAILBOX = 0x4d // 'M'
const TOMBSTONE = 0x44 // 'D'
const DEAD_BY = 0x52 // 'R'
const PROOF = 0x50 // 'P'

/** storedAt (8) + sequence (4). */
export const POSITION_LENGTH = 12
/** A fetch cursor: position || id. */
export const CURSOR_LENGTH = POSITION_LENGTH + ENVELOPE_ID_LENGTH
/** SHA-256. */
export const HASH_LENGTH = 32

/** A position from its parts. */
export function encodePosition (storedAt: number, sequence: number): Uint8Array {
  const out = new Uint8Array(POSITION_LENGTH)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(storedAt), false)
  view.setUint32(8, sequence >>> 0, false)
  return out
}

/** The storedAt of a position. */
export function positionTime (position: Uint8Array): number {
  return Number(new DataView(position.buffer, position.byteOffset, POSITION_LENGTH).getBigUint64(0, false))
}

/** Where a mailbox's envelopes start: 'E' || mailbox. */
export function envelopePrefix (mailbox: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([ENVELOPE]), mailbox)
}

export function envelopeKey (mailbox: Uint8Array, position: Uint8Array, id: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([ENVELOPE]), mailbox, position, id)
}

/** The cursor (position || id) at the end of an envelope key. */
export function cursorOfEnvelopeKey (key: Uint8Array): Uint8Array {
  return key.slice(1 + MAILBOX_LENGTH)
}

/** The id at the end of an envelope key. */
export function idOfEnvelopeKey (key: Uint8Array): Uint8Array {
  return key.slice(1 + MAILBOX_LENGTH + POSITION_LENGTH)
}

/** mailbox || id || hash: how the index, a tombstone and a sync item name an envelope. */
export const ITEM_LENGTH = MAILBOX_LENGTH + ENVELOPE_ID_LENGTH + HASH_LENGTH

/** The index key of one version of an envelope. */
export function indexKey (mailbox: Uint8Array, id: Uint8Array, hash: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([INDEX]), mailbox, id, hash)
}

/** The index key of an item key (mailbox || id || hash). */
export function indexKeyOfItem (item: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([INDEX]), item)
}

/** Every index key of one id in a mailbox (each version of it). */
export function idIndexRange (mailbox: Uint8Array, id: Uint8Array): { gte: Uint8Array, lt: Uint8Array } {
  const gte = concatBytes(new Uint8Array([INDEX]), mailbox, id)
  return { gte, lt: concatBytes(gte, new Uint8Array(HASH_LENGTH).fill(0xff), new Uint8Array([0xff])) }
}

/** A source tag: 8 bytes of a keyed hash of the source. */
export const SOURCE_TAG_LENGTH = 8
/** The tag of envelopes stored before tags existed. */
export const LEGACY_SOURCE_TAG = new Uint8Array(SOURCE_TAG_LENGTH)

const INDEX_LENGTH = POSITION_LENGTH + 4 + SOURCE_TAG_LENGTH

/** What the index says of one version of an envelope. */
export interface IndexValue {
  position: Uint8Array
  size: number
  source: Uint8Array
}

/** Index value: position || size || source tag. */
export function encodeIndexValue (position: Uint8Array, size: number, source: Uint8Array): Uint8Array {
  const out = new Uint8Array(INDEX_LENGTH)
  out.set(position)
  new DataView(out.buffer).setUint32(POSITION_LENGTH, size, false)
  out.set(source, POSITION_LENGTH + 4)
  return out
}

export function decodeIndexValue (value: Uint8Array): IndexValue {
  return {
    position: value.slice(0, POSITION_LENGTH),
    size: new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(POSITION_LENGTH, false),
    source: value.slice(POSITION_LENGTH + 4, INDEX_LENGTH)
  }
}

/** The mailbox, id and hash of an index key. */
export function decodeIndexKey (key: Uint8Array): { mailbox: Uint8Array, id: Uint8Array, hash: Uint8Array } {
  return {
    mailbox: key.slice(1, 1 + MAILBOX_LENGTH),
    id: key.slice(1 + MAILBOX_LENGTH, 1 + MAILBOX_LENGTH + ENVELOPE_ID_LENGTH),
    hash: key.slice(1 + MAILBOX_LENGTH + ENVELOPE_ID_LENGTH)
  }
}

/** Every index key of every mailbox. */
export function allIndexRange (): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: new Uint8Array([INDEX]), lt: new Uint8Array([INDEX + 1]) }
}

/** Every index key of the layout before versions (migrate.ts). */
export function legacyIndexRange (): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: new Uint8Array([LEGACY_INDEX]), lt: new Uint8Array([LEGACY_INDEX + 1]) }
}

/** An index key of the layout before versions (tests write them to check the migration). */
export function legacyIndexKey (mailbox: Uint8Array, id: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([LEGACY_INDEX]), mailbox, id)
}

/** What a legacy index entry says: its key's mailbox and id, and a value of 16 bytes (no tag, no hash) or 56. */
export function decodeLegacyIndex (key: Uint8Array, value: Uint8Array): { mailbox: Uint8Array, id: Uint8Array, position: Uint8Array, size: number, source: Uint8Array, hash?: Uint8Array } {
  const base = {
    mailbox: key.slice(1, 1 + MAILBOX_LENGTH),
    id: key.slice(1 + MAILBOX_LENGTH),
    position: value.slice(0, POSITION_LENGTH),
    size: new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(POSITION_LENGTH, false)
  }
  if (value.length < INDEX_LENGTH + HASH_LENGTH) return { ...base, source: LEGACY_SOURCE_TAG }
  return { ...base, source: value.slice(POSITION_LENGTH + 4, INDEX_LENGTH), hash: value.slice(INDEX_LENGTH, INDEX_LENGTH + HASH_LENGTH) }
}

export function sourceKey (source: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([SOURCE]), source)
}

export function mailboxUsageKey (mailbox: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([MAILBOX]), mailbox)
}

/** The range of every mailbox's usage key: one per mailbox that holds envelopes. */
export const MAILBOX_USAGE_RANGE = prefixRange(new Uint8Array([MAILBOX]))

export function shareKey (mailbox: Uint8Array, source: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([SHARE]), mailbox, source)
}

export const TOTAL_KEY = new Uint8Array([TOTAL])
export const SECRET_KEY = new Uint8Array([SECRET])

/** count (u32) || bytes (u64). */
export function encodeUsage (count: number, bytes: number): Uint8Array {
  const out = new Uint8Array(12)
  const view = new DataView(out.buffer)
  view.setUint32(0, Math.max(0, count), false)
  view.setBigUint64(4, BigInt(Math.max(0, bytes)), false)
  return out
}

export function decodeUsage (value: Uint8Array | undefined): { count: number, bytes: number } {
  if (value?.length !== 12) return { count: 0, bytes: 0 }
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  return { count: view.getUint32(0, false), bytes: Number(view.getBigUint64(4, false)) }
}

export function expiryKey (position: Uint8Array, mailbox: Uint8Array, id: Uint8Array, hash: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([EXPIRY]), position, mailbox, id, hash)
}

/** The expiry key the layout before versions wrote (no hash; migrate.ts). */
export function legacyExpiryKey (position: Uint8Array, mailbox: Uint8Array, id: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([EXPIRY]), position, mailbox, id)
}

/** Every expiry key of envelopes stored before `storedAt`. */
export function expiryRangeBefore (storedAt: number): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: new Uint8Array([EXPIRY]), lt: concatBytes(new Uint8Array([EXPIRY]), encodePosition(storedAt, 0)) }
}

/** The parts of an expiry key. */
export function decodeExpiryKey (key: Uint8Array): { position: Uint8Array, mailbox: Uint8Array, id: Uint8Array, hash: Uint8Array } {
  const idAt = 1 + POSITION_LENGTH + MAILBOX_LENGTH
  return {
    position: key.slice(1, 1 + POSITION_LENGTH),
    mailbox: key.slice(1 + POSITION_LENGTH, idAt),
    id: key.slice(idAt, idAt + ENVELOPE_ID_LENGTH),
    hash: key.slice(idAt + ENVELOPE_ID_LENGTH)
  }
}

/** Where tombstones start and end. */
export function allTombstonesRange (): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: new Uint8Array([TOMBSTONE]), lt: new Uint8Array([TOMBSTONE + 1]) }
}

/** The tag byte of tombstone keys (sync ranges are built on it). */
export const TOMBSTONE_TAG = TOMBSTONE
/** The tag byte of index keys. */
export const INDEX_TAG = INDEX

/** A tombstone's key from its item key (mailbox || id || hash). */
export function tombstoneKey (item: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([TOMBSTONE]), item)
}

/** What a tombstone says besides its key. */
export interface TombstoneValue {
  expiresAt: number
  /** SHA-256 of the signed delete. */
  proof: Uint8Array
  /** Who it is charged to, and how much. */
  source: Uint8Array
  charge: number
}

export function encodeTombstoneValue (value: TombstoneValue): Uint8Array {
  const out = new Uint8Array(8 + HASH_LENGTH + SOURCE_TAG_LENGTH + 4)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, BigInt(value.expiresAt), false)
  out.set(value.proof, 8)
  out.set(value.source, 8 + HASH_LENGTH)
  view.setUint32(8 + HASH_LENGTH + SOURCE_TAG_LENGTH, value.charge, false)
  return out
}

export function decodeTombstoneValue (value: Uint8Array): TombstoneValue {
  const view = new DataView(value.buffer, value.byteOffset, value.byteLength)
  return {
    expiresAt: Number(view.getBigUint64(0, false)),
    proof: value.slice(8, 8 + HASH_LENGTH),
    source: value.slice(8 + HASH_LENGTH, 8 + HASH_LENGTH + SOURCE_TAG_LENGTH),
    charge: view.getUint32(8 + HASH_LENGTH + SOURCE_TAG_LENGTH, false)
  }
}

function u64 (n: number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n), false)
  return out
}

export function deadByKey (expiresAt: number, item: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([DEAD_BY]), u64(expiresAt), item)
}

/** The item key at the end of a dead-by key. */
export function itemOfDeadByKey (key: Uint8Array): Uint8Array {
  return key.slice(1 + 8)
}

/** Every dead-by key of tombstones that expire at or before `time`. */
export function deadByRangeThrough (time: number): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: new Uint8Array([DEAD_BY]), lt: concatBytes(new Uint8Array([DEAD_BY]), u64(time + 1)) }
}

export function proofKey (expiresAt: number, digest: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([PROOF]), u64(expiresAt), digest)
}

/** Every proof that expires at or before `time`. */
export function proofRangeThrough (time: number): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: new Uint8Array([PROOF]), lt: concatBytes(new Uint8Array([PROOF]), u64(time + 1)) }
}
