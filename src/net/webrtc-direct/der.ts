/**
 * The few DER encodings (ITU-T X.690 §8, §10) that a self-signed X.509
 * certificate needs (certificate.ts): TLV with definite lengths, INTEGER,
 * OBJECT IDENTIFIER (given already encoded), UTF8String, UTCTime or
 * GeneralizedTime (RFC 5280 §4.1.2.5), BIT STRING, OCTET STRING, BOOLEAN and
 * explicit context tags. Encoding only: nothing here parses bytes from the
 * network.
 */
import { concat } from 'uint8arrays/concat'
import { fromString } from 'uint8arrays/from-string'

/** Universal tags used below. */
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  utcTime: 0x17,
  generalizedTime: 0x18,
  sequence: 0x30,
  set: 0x31
} as const

/** A definite length (X.690 §8.1.3): short form below 128, else long form. */
function length (n: number): Uint8Array<ArrayBuffer> {
  if (n < 0x80) return Uint8Array.of(n)
  const bytes: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return Uint8Array.of(0x80 | bytes.length, ...bytes)
}

/** One tag-length-value. */
export function tlv (tag: number, value: Uint8Array): Uint8Array<ArrayBuffer> {
  return concat([Uint8Array.of(tag), length(value.byteLength), value])
}

/** SEQUENCE of already encoded elements. */
export function sequence (...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return tlv(TAG.sequence, concat(items))
}

/** SET of already encoded elements (one element here, so no ordering is needed). */
export function set (...items: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return tlv(TAG.set, concat(items))
}

/** A non-negative INTEGER from big-endian bytes: minimal, with a 0 byte where the top bit would read as a sign. */
export function unsignedInteger (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  let start = 0
  while (start < bytes.byteLength - 1 && bytes[start] === 0) start++
  const trimmed = bytes.subarray(start)
  const value = (trimmed[0] & 0x80) !== 0 ? concat([Uint8Array.of(0), trimmed]) : trimmed
  return tlv(TAG.integer, value)
}

/** A small INTEGER (0 to 127), such as a version number. */
export function smallInteger (n: number): Uint8Array<ArrayBuffer> {
  return tlv(TAG.integer, Uint8Array.of(n))
}

/** An OBJECT IDENTIFIER from its encoded content octets. */
export function oid (content: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(TAG.oid, content)
}

/** A UTF8String. */
export function utf8String (s: string): Uint8Array<ArrayBuffer> {
  return tlv(TAG.utf8String, fromString(s, 'utf8'))
}

/** BOOLEAN (TRUE is 0xff in DER). */
export function boolean (b: boolean): Uint8Array<ArrayBuffer> {
  return tlv(TAG.boolean, Uint8Array.of(b ? 0xff : 0))
}

/** BIT STRING with no unused bits. */
export function bitString (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(TAG.bitString, concat([Uint8Array.of(0), bytes]))
}

/** OCTET STRING. */
export function octetString (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(TAG.octetString, bytes)
}

/** An explicit context-specific, constructed tag `[n]`. */
export function explicit (n: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlv(0xa0 | n, inner)
}

/**
 * A certificate time (RFC 5280 §4.1.2.5): UTCTime for the years 1950 to
 * 2049, GeneralizedTime otherwise, in whole seconds (milliseconds dropped).
 */
export function time (ms: number): Uint8Array<ArrayBuffer> {
  const d = new Date(ms)
  const year = d.getUTCFullYear()
  const two = (n: number): string => n.toString().padStart(2, '0')
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`
  if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, fromString(`${two(year % 100)}${rest}`, 'utf8'))
  return tlv(TAG.generalizedTime, fromString(`${year.toString().padStart(4, '0')}${rest}`, 'utf8'))
}
