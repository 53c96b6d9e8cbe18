/**
 * Byte helpers and sizes shared by the providers and the protocols built on
 * them. Validation happens here, at the boundary, so every provider rejects
 * the same malformed inputs with the same named error.
 */
import { InvalidKeyError } from './errors.js'

/** ML-KEM-768 sizes (FIPS 203 §8, table 3); the secret key is the 64-byte seed `d || z`. */
export const KEM_SEED_LENGTH = 64
export const KEM_PUBLIC_KEY_LENGTH = 1184
export const KEM_CIPHERTEXT_LENGTH = 1088

/** Throws InvalidKeyError unless `bytes` is a Uint8Array of exactly `length` bytes. */
export function checkLength (bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new InvalidKeyError(`${what} must be ${length} bytes, got ${(bytes as Uint8Array | undefined)?.length}`)
  }
}

/** True when every byte is zero; time depends only on the length. */
export function isAllZero (bytes: Uint8Array): boolean {
  let acc = 0
  for (const b of bytes) acc |= b
  return acc === 0
}

/** Byte equality; time depends only on the lengths. */
export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let acc = 0
  for (let i = 0; i < a.length; i++) acc |= a[i] ^ b[i]
  return acc === 0
}

/** Concatenation into one new array. */
export function concatBytes (...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** The two hex digits of each byte value. */
const HEX_DIGITS = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'))

/**
 * Lower-case hex of `bytes` (used as map keys and in tests). From a table:
 * a relay makes several map keys per stored envelope, and formatting each
 * byte was 5% of its CPU per envelope.
 */
export function toHex (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX_DIGITS[bytes[i]]
  return s
}

/** Bytes of a hex string; throws RangeError on odd length or a non-hex digit. */
export function fromHex (hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new RangeError('invalid hex')
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16)
  return out
}

/** UTF-8 bytes of a label. */
export function utf8 (text: string): Uint8Array {
  return new TextEncoder().encode(text)
}
