/**
 * Device records: what a device publishes under `/starling/device/<peer id>`
 * so that others can reach it and start a PQXDH session with it.
 *
 * Two signatures cover the same bytes, `"starling-device-record-v1" ||
 * record encoded with accountSignature and deviceSignature empty`:
 * - the device signature, by the libp2p peer key: only the device can
 *   publish under its own key;
 * - the account signature, by the account's Ed25519 key: the account vouches
 *   for the device.
 * The identity key and both prekeys carry their own account signatures over
 * `prekeySignaturePayload(kind, id, key)` (src/crypto/prekey-signature.ts),
 * which PQXDH checks again when a session starts.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { PrekeyKind, prekeySignaturePayload } from '../crypto/prekey-signature.js'
import { toHex } from '../crypto/bytes.js'
import { InvalidRecordError } from './errors.js'
import { DeviceRecord } from './pb/records.js'
import {
  SIGNATURE_LENGTH, checkExpiry, checkLength, checkRecordSize, checkVersion, decodeRecord, deviceRecordKey, parseRecordKey,
  peerIdFromBytes, signingPayload
} from './records.js'
import type { Crypto } from '../crypto/index.js'
import type { PrekeyKindValue } from '../crypto/prekey-signature.js'
import type { SignedRecord } from './records.js'
import type { PrivateKey } from '@libp2p/interface'

export { DeviceRecord, SignedPrekey } from './pb/records.js'

/** X25519 public key length (identity key and signed prekey). */
export const X25519_PUBLIC_KEY_LENGTH = 32
/** ML-KEM-768 encapsulation key length (FIPS 203). */
export const KEM_PUBLIC_KEY_LENGTH = 1184

const LABEL = new TextEncoder().encode('starling-device-record-v1')

/** A public prekey to put in a device record; the account signature is computed by the builder. */
export interface PrekeyPublic {
  id: number
  publicKey: Uint8Array
}

/** Everything needed to build and sign a device record. */
export interface DeviceRecordInit {
  /** The account's Ed25519 secret key (32-byte seed). */
  accountSecretKey: Uint8Array
  /** The device's libp2p peer key (must be Ed25519). */
  devicePrivateKey: PrivateKey
  /** Addresses to publish, as multiaddrs or their binary form. */
  addrs: Array<Uint8Array | { bytes: Uint8Array }>
  /** The device's X25519 identity public key. */
  identityKey: Uint8Array
  signedPrekey: PrekeyPublic
  kemPrekey: PrekeyPublic
  /** Higher wins; e.g. a millisecond timestamp. */
  seq: number
  /** Milliseconds since the Unix epoch. */
  expiresAt: number
}

/** The bytes both signatures of a device record cover. */
export function deviceRecordSigningPayload (record: Partial<DeviceRecord>): Uint8Array {
  const body = DeviceRecord.encode({ ...record, accountSignature: undefined, deviceSignature: undefined })
  return signingPayload(LABEL, body)
}

/** Encodes a device record (no checks). */
export function encodeDeviceRecord (record: DeviceRecord): Uint8Array {
  return DeviceRecord.encode(record)
}

/**
 * Decodes device record bytes (size limit, canonical form); checks no signature.
 *
 * @throws {InvalidRecordError}
 */
export function decodeDeviceRecord (bytes: Uint8Array): DeviceRecord {
  return decodeRecord(DeviceRecord, bytes, 'device record')
}

/**
 * Builds and signs a device record with the account key and the device's peer key.
 *
 * @throws {RangeError} on a wrong key length, seq or expiry
 */
export async function buildDeviceRecord (crypto: Crypto, init: DeviceRecordInit): Promise<SignedRecord<DeviceRecord>> {
  if (init.devicePrivateKey.type !== 'Ed25519') throw new RangeError('the device peer key must be Ed25519')
  if (init.identityKey.length !== X25519_PUBLIC_KEY_LENGTH) throw new RangeError('identity key must be 32 bytes')
  if (init.signedPrekey.publicKey.length !== X25519_PUBLIC_KEY_LENGTH) throw new RangeError('signed prekey must be 32 bytes')
  if (init.kemPrekey.publicKey.length !== KEM_PUBLIC_KEY_LENGTH) throw new RangeError(`KEM prekey must be ${KEM_PUBLIC_KEY_LENGTH} bytes`)
  if (!Number.isSafeInteger(init.seq) || init.seq < 0) throw new RangeError('seq must be a non-negative safe integer')
  if (!Number.isSafeInteger(init.expiresAt) || init.expiresAt <= 0) throw new RangeError('expiresAt must be a positive safe integer')

  const sk = init.accountSecretKey
  const sign = async (kind: PrekeyKindValue, id: number, key: Uint8Array): Promise<Uint8Array<ArrayBuffer>> =>
    Uint8Array.from(await crypto.ed25519.sign(sk, prekeySignaturePayload(kind, id, key)))
  const peerId = peerIdFromPrivateKey(init.devicePrivateKey)

  const record: DeviceRecord = {
    accountKey: Uint8Array.from(await crypto.ed25519.publicKey(sk)),
    peerId: Uint8Array.from(peerId.toMultihash().bytes),
    addrs: init.addrs.map(a => Uint8Array.from(a instanceof Uint8Array ? a : a.bytes)),
    identityKey: Uint8Array.from(init.identityKey),
    identityKeySignature: await sign(PrekeyKind.identity, 0, init.identityKey),
    signedPrekey: {
      id: init.signedPrekey.id,
      publicKey: Uint8Array.from(init.signedPrekey.publicKey),
      signature: await sign(PrekeyKind.signedPrekey, init.signedPrekey.id, init.signedPrekey.publicKey)
    },
    kemPrekey: {
      id: init.kemPrekey.id,
      publicKey: Uint8Array.from(init.kemPrekey.publicKey),
      signature: await sign(PrekeyKind.kemPrekey, init.kemPrekey.id, init.kemPrekey.publicKey)
    },
    seq: init.seq,
    expiresAt: init.expiresAt,
    accountSignature: new Uint8Array(0),
    deviceSignature: new Uint8Array(0)
  }
  const payload = deviceRecordSigningPayload(record)
  record.accountSignature = Uint8Array.from(await crypto.ed25519.sign(sk, payload))
  record.deviceSignature = Uint8Array.from(await init.devicePrivateKey.sign(payload))
  return { key: deviceRecordKey(peerId), value: encodeDeviceRecord(record), record }
}

function badSignature (what: string): never {
  throw new InvalidRecordError('bad-signature', `device record: ${what} does not verify`)
}

/** Field checks that need no signature work. */
function checkFields (record: DeviceRecord): asserts record is DeviceRecord & Required<Pick<DeviceRecord, 'signedPrekey' | 'kemPrekey'>> {
  checkLength('accountKey', record.accountKey, 32)
  checkLength('identityKey', record.identityKey, X25519_PUBLIC_KEY_LENGTH)
  checkLength('identityKeySignature', record.identityKeySignature, SIGNATURE_LENGTH)
  checkLength('signedPrekey.publicKey', record.signedPrekey?.publicKey, X25519_PUBLIC_KEY_LENGTH)
  checkLength('signedPrekey.signature', record.signedPrekey?.signature, SIGNATURE_LENGTH)
  checkLength('kemPrekey.publicKey', record.kemPrekey?.publicKey, KEM_PUBLIC_KEY_LENGTH)
  checkLength('kemPrekey.signature', record.kemPrekey?.signature, SIGNATURE_LENGTH)
  checkLength('accountSignature', record.accountSignature, SIGNATURE_LENGTH)
  checkLength('deviceSignature', record.deviceSignature, SIGNATURE_LENGTH)
  for (const [i, addr] of record.addrs.entries()) {
    try {
      multiaddr(addr)
    } catch {
      throw new InvalidRecordError('bad-field', `addrs[${i}] is not a multiaddr`)
    }
  }
}

/**
 * Verifies a device record fetched from (or offered to) the DHT under `key`:
 * canonical encoding within {@link MAX_RECORD_BYTES}, the key names the
 * record's own (Ed25519) peer id, not expired at `now`, its seq and expiry not
 * absurdly far ahead of `now` (records.ts, checkVersion), the device signature
 * by that peer, the account signature, and the account's signatures over the
 * identity key and both prekeys.
 *
 * With `allowExpired`, an expired record is accepted (everything else is
 * checked): for a record carried inside a message, which may have waited on
 * a relay for days, only to prove which account vouches for a device and its
 * identity key; never for what the DHT serves.
 *
 * @returns the decoded record (its fields are views of a copy of `bytes`, not of `bytes`)
 * @throws {InvalidRecordError} with a `reason`
 */
export async function verifyDeviceRecord (crypto: Crypto, key: Uint8Array | string, bytes: Uint8Array, now: number, options: { allowExpired?: boolean } = {}): Promise<DeviceRecord> {
  const parsedKey = parseRecordKey(key)
  if (parsedKey.kind !== 'device') throw new InvalidRecordError('key-mismatch', 'not a device record key')
  // Before they are hashed: a DHT value may be megabytes.
  checkRecordSize('device record', bytes)
  // A copy of our own: what is hashed is what is decoded and kept, whatever the caller does with its buffer while
  // the signatures are checked; and the record's fields are views of these few KB, not of the message the bytes
  // may be a view of (a DHT message of up to 4 MiB: structuredClone of a view copies its whole buffer).
  const own = new Uint8Array(bytes)
  // The same bytes under the same key verified by this facade before: only the checks that depend on the time run.
  const cacheKey = `${parsedKey.peerId.toString()} ${toHex(crypto.hash.sha256(own))}`
  const cache = verifiedRecords(crypto)
  const known = cache.get(cacheKey)
  if (known != null) {
    keepNewest(cache, cacheKey, known)
    if (options.allowExpired !== true) checkExpiry('device record', known.expiresAt, now)
    checkVersion('device record', known.seq, known.expiresAt, now)
    return structuredClone(known)
  }
  const record = decodeDeviceRecord(own)
  const peerId = peerIdFromBytes('peerId', record.peerId)
  if (!peerId.equals(parsedKey.peerId)) {
    throw new InvalidRecordError('key-mismatch', `device record of ${peerId.toString()} stored under the key of ${parsedKey.peerId.toString()}`)
  }
  if (peerId.type !== 'Ed25519') throw new InvalidRecordError('bad-field', `device peer id must be Ed25519, got ${peerId.type}`)
  checkFields(record)
  if (options.allowExpired !== true) checkExpiry('device record', record.expiresAt, now)
  checkVersion('device record', record.seq, record.expiresAt, now)

  const payload = deviceRecordSigningPayload(record)
  const account = record.accountKey
  const { signedPrekey, kemPrekey } = record
  const checks = await Promise.all([
    crypto.ed25519.verify(peerId.publicKey.raw, payload, record.deviceSignature),
    crypto.ed25519.verify(account, payload, record.accountSignature),
    crypto.ed25519.verify(account, prekeySignaturePayload(PrekeyKind.identity, 0, record.identityKey), record.identityKeySignature),
    crypto.ed25519.verify(account, prekeySignaturePayload(PrekeyKind.signedPrekey, signedPrekey.id, signedPrekey.publicKey), signedPrekey.signature),
    crypto.ed25519.verify(account, prekeySignaturePayload(PrekeyKind.kemPrekey, kemPrekey.id, kemPrekey.publicKey), kemPrekey.signature)
  ])
  const names = ['device signature (by the peer key)', 'account signature', 'identity key signature', 'signed prekey signature', 'KEM prekey signature']
  const failed = checks.findIndex(ok => !ok)
  if (failed !== -1) badSignature(names[failed])
  keepNewest(cache, cacheKey, structuredClone(record))
  return record
}

/**
 * Device records whose signatures this crypto facade checked, by key and
 * the SHA-256 of their bytes, newest used last: the same bytes under the
 * same key verify the same way every time (five Ed25519 signatures: ~3.5
 * ms of a tab's thread in a ring's way, the call benchmark's traces), so
 * only the checks that depend on the time run again. Per facade (a test's
 * facade that refuses every signature finds nothing another one verified);
 * a record that failed is not kept.
 */
const verifiedByFacade = new WeakMap<Crypto, Map<string, DeviceRecord>>()

/** Records kept per facade (least recently used go first): a few MB at most. */
export const MAX_VERIFIED_RECORDS = 512

/** Puts `record` last (newest used) and lets the least recently used go past {@link MAX_VERIFIED_RECORDS}. */
function keepNewest (cache: Map<string, DeviceRecord>, key: string, record: DeviceRecord): void {
  cache.delete(key)
  cache.set(key, record)
  if (cache.size > MAX_VERIFIED_RECORDS) cache.delete(cache.keys().next().value as string)
}

function verifiedRecords (crypto: Crypto): Map<string, DeviceRecord> {
  let cache = verifiedByFacade.get(crypto)
  if (cache == null) {
    cache = new Map()
    verifiedByFacade.set(crypto, cache)
  }
  return cache
}
