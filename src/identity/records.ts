/**
 * What the signed DHT records of the identity layer have in common: their
 * keys, size limit, canonical encoding and signing payload. The two kinds
 * live in device-record.ts and handle-claim.ts.
 *
 * Keys (kad-dht dispatches validators and selectors on the first segment,
 * `starling`; we dispatch on the second):
 * - `/starling/device/<peer id, base58btc>`: a {@link DeviceRecord}
 * - `/starling/handle/<name~tag>`: a {@link HandleClaim}
 *
 * A signature covers `label || record encoded with its signature fields
 * empty`. Records must be canonically encoded (re-encoding the decoded record
 * gives the same bytes), so a record has exactly one valid byte form.
 */
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { equals } from 'uint8arrays/equals'
import { InvalidRecordError } from './errors.js'
import { HANDLE_TAG_SEPARATOR, formatHandle, parseHandle } from './handle.js'
import type { PeerId } from '@libp2p/interface'

/** Largest record (value bytes) the validators accept. */
export const MAX_RECORD_BYTES = 8 * 1024
/** Most multiaddrs in a device record (also enforced by the decoder). */
export const MAX_DEVICE_ADDRS = 16
/** Most devices in a handle claim (also enforced by the decoder). */
export const MAX_CLAIM_DEVICES = 16
/** First key segment: the kad-dht validator/selector namespace. */
export const STARLING_NAMESPACE = 'starling'
/** Second key segment of device records. */
export const DEVICE_RECORD_PREFIX = 'device'
/** Second key segment of handle claims. */
export const HANDLE_RECORD_PREFIX = 'handle'

/** Ed25519 signature length. */
export const SIGNATURE_LENGTH = 64

/**
 * How far a record's seq may be ahead of the verifier's clock. A seq is a
 * millisecond timestamp (publishers use `max(previous + 1, now)`), and the
 * newest seq wins everywhere: in selectors, and in the validators' memory
 * of the highest seq seen, which refuses anything lower. A seq far in the
 * future (2^53 - 1, signed by a buggy client, by a thief with an old key,
 * or by the owner once and replayed) would win over every later record of
 * the owner and lock the owner out of its own key; within this window the
 * owner's next record overtakes it (the directory reads the current seq
 * and publishes the next one).
 */
export const MAX_SEQ_AHEAD_MS = 60 * 60_000
/**
 * Longest a record may still be valid for when it is verified (publishers
 * use 24 hours): a record cannot stay alive for years after its owner moved on.
 */
export const MAX_RECORD_LIFETIME_MS = 7 * 24 * 60 * 60_000

/** A record ready to put in the DHT. */
export interface SignedRecord<T> {
  /** The DHT key (utf8 of the path). */
  key: Uint8Array
  /** The encoded, signed record. */
  value: Uint8Array
  /** The record as built. */
  record: T
}

/** What a record key names. */
export type ParsedRecordKey =
  | { kind: 'device', peerId: PeerId }
  | { kind: 'handle', name: string, tag: string }

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** DHT key of a device's record: `/starling/device/<peer id>`. */
export function deviceRecordKey (peerId: PeerId): Uint8Array {
  return encoder.encode(`/${STARLING_NAMESPACE}/${DEVICE_RECORD_PREFIX}/${peerId.toString()}`)
}

/**
 * DHT key of a handle claim: `/starling/handle/<name~tag>`.
 *
 * @throws {InvalidHandleError} if name or tag is invalid
 */
export function handleRecordKey (name: string, tag: string): Uint8Array {
  return encoder.encode(`/${STARLING_NAMESPACE}/${HANDLE_RECORD_PREFIX}/${formatHandle(name, tag)}`)
}

function badKey (message: string): never {
  throw new InvalidRecordError('bad-key', message)
}

/**
 * Parses a Starling record key. Only canonical keys pass: a handle key must be
 * lower case with a tag, a device key the peer id's own string form.
 *
 * @throws {InvalidRecordError} reason `bad-key` or `unknown-namespace`
 */
export function parseRecordKey (key: Uint8Array | string): ParsedRecordKey {
  let text: string
  try {
    text = typeof key === 'string' ? key : decoder.decode(key)
  } catch {
    badKey('record key is not valid UTF-8')
  }
  const parts = text.split('/')
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== STARLING_NAMESPACE) {
    badKey(`record key must be /${STARLING_NAMESPACE}/<kind>/<id>`)
  }
  const [, , kind, id] = parts
  switch (kind) {
    case DEVICE_RECORD_PREFIX: {
      let peerId: PeerId
      try {
        peerId = peerIdFromString(id)
      } catch {
        badKey('device record key does not end in a peer id')
      }
      if (peerId.toString() !== id) badKey('device record key is not in canonical form')
      return { kind: 'device', peerId }
    }
    case HANDLE_RECORD_PREFIX: {
      let parsed
      try {
        parsed = parseHandle(id)
      } catch (err) {
        badKey(`handle record key is not a valid handle: ${(err as Error).message}`)
      }
      if (parsed.tag == null) badKey(`handle record key must be name${HANDLE_TAG_SEPARATOR}tag`)
      if (formatHandle(parsed.name, parsed.tag) !== id) badKey('handle record key is not in canonical (lower-case) form')
      return { kind: 'handle', name: parsed.name, tag: parsed.tag }
    }
    default:
      throw new InvalidRecordError('unknown-namespace', `unknown record kind "${kind}" under /${STARLING_NAMESPACE}/`)
  }
}

/** A protons message codec, reduced to what this module needs. */
export interface RecordCodec<T> {
  encode(obj: Partial<T>): Uint8Array
  decode(buf: Uint8Array): T
}

/**
 * Decodes untrusted record bytes: size limit, protobuf decode, canonical form.
 *
 * @throws {InvalidRecordError} reason `too-large`, `malformed` or `not-canonical`
 */
export function decodeRecord<T> (codec: RecordCodec<T>, bytes: Uint8Array, what: string): T {
  checkRecordSize(what, bytes)
  let record: T
  try {
    record = codec.decode(bytes)
  } catch (err) {
    throw new InvalidRecordError('malformed', `${what} does not decode: ${(err as Error).message}`)
  }
  if (!equals(codec.encode(record), bytes)) {
    throw new InvalidRecordError('not-canonical', `${what} is not canonically encoded`)
  }
  return record
}

/**
 * Refuses record bytes over {@link MAX_RECORD_BYTES}: first, before any
 * work on them (a DHT value may be megabytes).
 *
 * @throws {InvalidRecordError} reason `too-large`
 */
export function checkRecordSize (what: string, bytes: Uint8Array): void {
  if (bytes.length > MAX_RECORD_BYTES) {
    throw new InvalidRecordError('too-large', `${what} is ${bytes.length} bytes, more than the ${MAX_RECORD_BYTES} allowed`)
  }
}

/** `label || body`: the bytes a record signature covers. */
export function signingPayload (label: Uint8Array, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(label.length + body.length)
  out.set(label, 0)
  out.set(body, label.length)
  return out
}

/**
 * Checks a byte field's length.
 *
 * @throws {InvalidRecordError} reason `bad-field`
 */
export function checkLength (field: string, bytes: Uint8Array | undefined, length: number): void {
  if (bytes?.length !== length) {
    throw new InvalidRecordError('bad-field', `${field} must be ${length} bytes, got ${bytes?.length ?? 'none'}`)
  }
}

/**
 * Refuses a record whose expiry is not in the future.
 *
 * @throws {InvalidRecordError} reason `expired`
 */
export function checkExpiry (what: string, expiresAt: number, now: number): void {
  if (expiresAt <= now) {
    throw new InvalidRecordError('expired', `${what} expired at ${new Date(expiresAt).toISOString()}`)
  }
}

/**
 * Refuses a seq more than {@link MAX_SEQ_AHEAD_MS} ahead of `now` and an
 * expiry more than {@link MAX_RECORD_LIFETIME_MS} (plus the same clock
 * allowance) after `now`.
 *
 * @throws {InvalidRecordError} reason `future-seq` or `expiry-too-far`
 */
export function checkVersion (what: string, seq: number, expiresAt: number, now: number): void {
  if (seq > now + MAX_SEQ_AHEAD_MS) {
    throw new InvalidRecordError('future-seq', `${what} has seq ${seq}, more than ${MAX_SEQ_AHEAD_MS / 60_000} minutes ahead of ${now} (a seq is a millisecond timestamp)`)
  }
  if (expiresAt > now + MAX_RECORD_LIFETIME_MS + MAX_SEQ_AHEAD_MS) {
    throw new InvalidRecordError('expiry-too-far', `${what} expires at ${expiresAt}, more than ${MAX_RECORD_LIFETIME_MS / 86_400_000} days after ${now}`)
  }
}

/**
 * A peer id from its multihash bytes.
 *
 * @throws {InvalidRecordError} reason `bad-field`
 */
export function peerIdFromBytes (field: string, bytes: Uint8Array): PeerId {
  try {
    return peerIdFromMultihash(Digest.decode(bytes))
  } catch (err) {
    throw new InvalidRecordError('bad-field', `${field} is not a peer id: ${(err as Error).message}`)
  }
}

/** Orders `a` after `b` (positive), before (negative) or equal (0), bytewise. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i]
  }
  return a.length - b.length
}
