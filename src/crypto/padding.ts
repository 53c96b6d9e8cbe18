/**
 * Length hiding for sealed envelopes: content is padded to a bucket of at
 * least {@link MIN_PADDED_LENGTH} bytes; up to {@link POWER_OF_TWO_UP_TO}
 * the buckets are powers of two, and above that Padmé lengths (Nikitin et
 * al., "Reducing Metadata Leakage from Encrypted Files and Communication
 * with PURBs", PETS 2019, §4), which leak O(log log L) bits and cost at most
 * ~12% overhead. The padding itself is ISO/IEC 7816-4: one 0x80 byte, then
 * zeros.
 *
 * Why powers of two below 16 KiB: a session's first message (PQXDH header,
 * ML-KEM ciphertext and the sender's device record, about 3 KB) has a size
 * no ordinary message has, and Padmé's fine steps (64 bytes at that size)
 * would let a relay pick out first contacts by size alone. In the 4 KiB
 * bucket it looks like any message of 2 to 4 KB; short messages, the
 * common case, stay in the 256-byte bucket.
 */
import { InvalidMessageError } from './errors.js'

/** Every padded content is at least this long: all short messages look alike. */
export const MIN_PADDED_LENGTH = 256

/** Padmé(L): L rounded up so that only its top ~log2(log2 L) bits after the leading one may be set. */
export function padmeLength (length: number): number {
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`invalid length ${length}`)
  if (length < 2) return length
  const e = Math.floor(Math.log2(length))
  const s = Math.floor(Math.log2(e)) + 1
  const lastBits = e - s
  const step = 2 ** lastBits
  return Math.ceil(length / step) * step
}

/** Up to this length buckets are powers of two; above it, Padmé lengths. */
export const POWER_OF_TWO_UP_TO = 16 * 1024

/** The bucket for `length` bytes (content plus the 0x80 marker). */
export function paddedLength (length: number): number {
  if (length <= MIN_PADDED_LENGTH) return MIN_PADDED_LENGTH
  if (length <= POWER_OF_TWO_UP_TO) return 2 ** Math.ceil(Math.log2(length))
  return padmeLength(length)
}

/** `content || 0x80 || 0x00...` of length paddedLength(content.length + 1). */
export function pad (content: Uint8Array): Uint8Array {
  const out = new Uint8Array(paddedLength(content.length + 1))
  out.set(content, 0)
  out[content.length] = 0x80
  return out
}

/** Removes {@link pad}'s padding; InvalidMessageError when there is no valid marker. */
export function unpad (padded: Uint8Array): Uint8Array {
  let i = padded.length - 1
  while (i >= 0 && padded[i] === 0) i--
  if (i < 0 || padded[i] !== 0x80) throw new InvalidMessageError('invalid padding')
  return padded.subarray(0, i)
}
