/**
 * The Double Ratchet message and its encrypted header (Double Ratchet spec
 * §4, "Double Ratchet with header encryption";
 * https://signal.org/docs/specifications/doubleratchet/#double-ratchet-with-header-encryption).
 *
 * Ratchet message, version 1 (big-endian):
 *
 *   offset  size  field
 *   0       1     type = 0x01 (ratchet message)
 *   1       12    header nonce (random)
 *   13      56    encrypted header: AES-256-GCM(HK, nonce, header, aad = type byte), 40 + 16-byte tag
 *   69      n+16  body: AES-256-GCM(MK, zero nonce, plaintext, aad = AD || extra AD || bytes 0..68)
 *
 *   header = ratchet public key (32) || PN u32 || N u32
 *
 * Overhead: 85 bytes per message. The header key is used for a whole
 * sending chain, so each header gets a random 96-bit nonce; each message
 * key encrypts exactly one body, so the body nonce can be fixed.
 */
import { InvalidMessageError } from './errors.js'
import type { Crypto } from './index.js'

export const RATCHET_MESSAGE_TYPE = 0x01
export const HEADER_NONCE_LENGTH = 12
export const HEADER_LENGTH = 40
export const ENCRYPTED_HEADER_LENGTH = HEADER_LENGTH + 16
/** type || nonce || encrypted header */
export const RATCHET_PREFIX_LENGTH = 1 + HEADER_NONCE_LENGTH + ENCRYPTED_HEADER_LENGTH
/** Bytes a ratchet message adds to its plaintext. */
export const RATCHET_OVERHEAD = RATCHET_PREFIX_LENGTH + 16

const TYPE_AAD = new Uint8Array([RATCHET_MESSAGE_TYPE])

/** A decrypted header. */
export interface Header {
  dh: Uint8Array
  pn: number
  n: number
}

/** A ratchet message split into its parts (no decryption). */
export interface RatchetMessageParts {
  /** type || nonce || encrypted header: authenticated as part of the body's AAD. */
  prefix: Uint8Array
  nonce: Uint8Array
  encryptedHeader: Uint8Array
  body: Uint8Array
}

/** Splits a ratchet message; InvalidMessageError when too short or of another type. */
export function parseRatchetMessage (message: Uint8Array): RatchetMessageParts {
  if (message.length < RATCHET_OVERHEAD) throw new InvalidMessageError(`ratchet message of ${message.length} bytes is shorter than its ${RATCHET_OVERHEAD}-byte overhead`)
  if (message[0] !== RATCHET_MESSAGE_TYPE) throw new InvalidMessageError(`not a ratchet message (type ${message[0]})`)
  return {
    prefix: message.subarray(0, RATCHET_PREFIX_LENGTH),
    nonce: message.subarray(1, 1 + HEADER_NONCE_LENGTH),
    encryptedHeader: message.subarray(1 + HEADER_NONCE_LENGTH, RATCHET_PREFIX_LENGTH),
    body: message.subarray(RATCHET_PREFIX_LENGTH)
  }
}

/** HENCRYPT: the message prefix (type || nonce || encrypted header). */
export async function encryptHeader (crypto: Crypto, hk: Uint8Array, header: Header): Promise<Uint8Array> {
  const plain = new Uint8Array(HEADER_LENGTH)
  plain.set(header.dh, 0)
  const view = new DataView(plain.buffer)
  view.setUint32(32, header.pn, false)
  view.setUint32(36, header.n, false)
  const nonce = crypto.randomBytes(HEADER_NONCE_LENGTH)
  const sealed = await crypto.aead.encrypt(hk, nonce, plain, TYPE_AAD)
  const prefix = new Uint8Array(RATCHET_PREFIX_LENGTH)
  prefix[0] = RATCHET_MESSAGE_TYPE
  prefix.set(nonce, 1)
  prefix.set(sealed, 1 + HEADER_NONCE_LENGTH)
  return prefix
}

/** HDECRYPT: the header, or undefined when `hk` does not authenticate it. */
export async function decryptHeader (crypto: Crypto, hk: Uint8Array, parts: RatchetMessageParts): Promise<Header | undefined> {
  let plain: Uint8Array
  try {
    plain = await crypto.aead.decrypt(hk, parts.nonce, parts.encryptedHeader, TYPE_AAD)
  } catch {
    return undefined
  }
  const view = new DataView(plain.buffer, plain.byteOffset, plain.byteLength)
  return { dh: plain.slice(0, 32), pn: view.getUint32(32, false), n: view.getUint32(36, false) }
}
