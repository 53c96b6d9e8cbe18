/**
 * Safety numbers in Signal's format (libsignal rust/protocol/src/fingerprint.rs,
 * NumericFingerprintGenerator): for each party
 *
 *   h = SHA-512(0x0000 || key || stableId || key), then 5,199 times h = SHA-512(h || key)
 *
 * and the first 30 bytes as six 5-byte big-endian numbers mod 100,000, each
 * 5 digits. The 60-digit number is the two 30-digit halves, lower first, so
 * both parties see the same. The QR payload is libsignal's scannable
 * encoding (protobuf CombinedFingerprints {1: version, 2: {1: local[0..32]},
 * 3: {1: remote[0..32]}}); scanning compares their local with our remote.
 *
 * Starling computes it over the two ACCOUNT Ed25519 keys (which vouch for
 * every device key) with stableId = utf8("starling-account-v1"), and QR
 * version {@link STARLING_SCANNABLE_VERSION}.
 */
import { bytesEqual, utf8 } from './bytes.js'
import { InvalidMessageError } from './errors.js'
import type { Crypto } from './index.js'

/** libsignal's iteration count. */
export const FINGERPRINT_ITERATIONS = 5200
/** The scannable version Starling writes into its QR payloads. */
export const STARLING_SCANNABLE_VERSION = 1
const STARLING_STABLE_ID = utf8('starling-account-v1')
const HASH_VERSION = new Uint8Array([0, 0])

/** One party's input: serialised public key and stable identifier. */
export interface FingerprintParty {
  key: Uint8Array
  stableId: Uint8Array
}

/** A safety number: the 60 digits and the QR payload. */
export interface Fingerprint {
  digits: string
  scannable: Uint8Array
}

function partyHash (crypto: Crypto, party: FingerprintParty, iterations: number): Uint8Array {
  const { key, stableId } = party
  const first = new Uint8Array(2 + key.length * 2 + stableId.length)
  first.set(HASH_VERSION, 0)
  first.set(key, 2)
  first.set(stableId, 2 + key.length)
  first.set(key, 2 + key.length + stableId.length)
  let h = crypto.hash.sha512(first)
  const buf = new Uint8Array(64 + key.length)
  buf.set(key, 64)
  for (let i = 1; i < iterations; i++) {
    buf.set(h, 0)
    h = crypto.hash.sha512(buf)
  }
  return h
}

function digits (hash: Uint8Array): string {
  let out = ''
  for (let chunk = 0; chunk < 6; chunk++) {
    let x = 0
    for (let i = 0; i < 5; i++) x = x * 256 + hash[chunk * 5 + i]
    out += String(x % 100_000).padStart(5, '0')
  }
  return out
}

function logical (content: Uint8Array): Uint8Array {
  return new Uint8Array([0x0a, content.length, ...content])
}

/** libsignal's Fingerprint::new: the same digits for both parties; the scannable payload is per side. */
export function fingerprint (crypto: Crypto, version: number, local: FingerprintParty, remote: FingerprintParty, iterations = FINGERPRINT_ITERATIONS): Fingerprint {
  if (!Number.isInteger(version) || version < 0 || version > 127) throw new RangeError('scannable version must be 0..127')
  const l = partyHash(crypto, local, iterations)
  const r = partyHash(crypto, remote, iterations)
  const [a, b] = [digits(l), digits(r)]
  const lf = logical(l.subarray(0, 32))
  const rf = logical(r.subarray(0, 32))
  const scannable = new Uint8Array([0x08, version, 0x12, lf.length, ...lf, 0x1a, rf.length, ...rf])
  return { digits: a < b ? a + b : b + a, scannable }
}

/** The safety number of two Starling accounts. */
export function safetyNumber (crypto: Crypto, localAccountKey: Uint8Array, remoteAccountKey: Uint8Array): Fingerprint {
  return fingerprint(crypto, STARLING_SCANNABLE_VERSION,
    { key: localAccountKey, stableId: STARLING_STABLE_ID },
    { key: remoteAccountKey, stableId: STARLING_STABLE_ID })
}

/** Parses a scannable payload in exactly the layout {@link fingerprint} writes. */
export function parseScannable (payload: Uint8Array): { version: number, local: Uint8Array, remote: Uint8Array } {
  if (payload.length !== 74 || payload[0] !== 0x08 || payload[1] > 127 || payload[2] !== 0x12 || payload[3] !== 34 ||
    payload[4] !== 0x0a || payload[5] !== 32 || payload[38] !== 0x1a || payload[39] !== 34 || payload[40] !== 0x0a || payload[41] !== 32) {
    throw new InvalidMessageError('not a scannable safety number')
  }
  return { version: payload[1], local: payload.slice(6, 38), remote: payload.slice(42, 74) }
}

/** True when `scanned` (the other phone's QR) matches ours: their local is our remote and vice versa. */
export function compareScannable (ours: Uint8Array, scanned: Uint8Array): boolean {
  const a = parseScannable(ours)
  const b = parseScannable(scanned)
  if (a.version !== b.version) throw new InvalidMessageError(`safety number version ${b.version}, expected ${a.version}`)
  return bytesEqual(a.local, b.remote) && bytesEqual(a.remote, b.local)
}
