/**
 * Key layout of the relay's envelopes in the store's `relay` namespace.
 * Every field is fixed-width and big-endian, so byte order is the order the
 * relay needs:
 *
 *   envelope  'E' || mailbox (32) || position (12) || id (16)  → envelope bytes
 *   index     'I' || mailbox (32) || id (16)                    → position (12) || size (u32)
 *   expiry    'T' || position (12) || mailbox (32) || id (16)   → empty
 *
 * position = storedAt (u64 ms) || sequence (u32): arrival order, unique even
 * for envelopes stored in the same millisecond. The index de-duplicates and
 * finds an envelope by id; the expiry keys list envelopes oldest first for
 * the retention sweep. A fetch cursor is position || id (opaque to clients).
 */
import { concatBytes } from '../crypto/bytes.js'
import { ENVELOPE_ID_LENGTH } from '../crypto/envelope.js'
import { MAILBOX_LENGTH } from '../protocols/store/constants.js'

const ENVELOPE = 0x45 // 'E'
const INDEX = 0x49 // 'I'
const EXPIRY = 0x54 // 'T'

/** storedAt (8) + sequence (4). */
export const POSITION_LENGTH = 12
/** A fetch cursor: position || id. */
export const CURSOR_LENGTH = POSITION_LENGTH + ENVELOPE_ID_LENGTH

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

export function indexKey (mailbox: Uint8Array, id: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([INDEX]), mailbox, id)
}

/** Where a mailbox's index entries start: 'I' || mailbox. */
export function indexPrefix (mailbox: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([INDEX]), mailbox)
}

/** Index value: position || size. */
export function encodeIndexValue (position: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(POSITION_LENGTH + 4)
  out.set(position)
  new DataView(out.buffer).setUint32(POSITION_LENGTH, size, false)
  return out
}

export function decodeIndexValue (value: Uint8Array): { position: Uint8Array, size: number } {
  return {
    position: value.slice(0, POSITION_LENGTH),
    size: new DataView(value.buffer, value.byteOffset, value.byteLength).getUint32(POSITION_LENGTH, false)
  }
}

export function expiryKey (position: Uint8Array, mailbox: Uint8Array, id: Uint8Array): Uint8Array {
  return concatBytes(new Uint8Array([EXPIRY]), position, mailbox, id)
}

/** Every expiry key of envelopes stored before `storedAt`. */
export function expiryRangeBefore (storedAt: number): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: new Uint8Array([EXPIRY]), lt: concatBytes(new Uint8Array([EXPIRY]), encodePosition(storedAt, 0)) }
}

/** The parts of an expiry key. */
export function decodeExpiryKey (key: Uint8Array): { position: Uint8Array, mailbox: Uint8Array, id: Uint8Array } {
  return {
    position: key.slice(1, 1 + POSITION_LENGTH),
    mailbox: key.slice(1 + POSITION_LENGTH, 1 + POSITION_LENGTH + MAILBOX_LENGTH),
    id: key.slice(1 + POSITION_LENGTH + MAILBOX_LENGTH)
  }
}
