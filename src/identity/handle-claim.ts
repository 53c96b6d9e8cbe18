/**
 * Handle claims: an account's signed statement "I am `name~tag`, and these are
 * my devices", stored under `/starling/handle/<name~tag>`.
 *
 * The tag is derived from the name and the account key together (tag.ts),
 * so each key has exactly one owner and a selector only ever compares
 * versions from one account.
 * The signature, by the account key, covers `"starling-handle-claim-v1" ||
 * claim encoded with its signature field empty`.
 */
import { InvalidRecordError } from './errors.js'
import { validateHandleName } from './handle.js'
import { HandleClaim } from './pb/records.js'
import {
  MAX_CLAIM_DEVICES, SIGNATURE_LENGTH, checkExpiry, checkLength, checkVersion, decodeRecord, handleRecordKey,
  parseRecordKey, peerIdFromBytes, signingPayload
} from './records.js'
import { ACCOUNT_KEY_LENGTH, handleTag } from './tag.js'
import type { Crypto } from '../crypto/index.js'
import type { SignedRecord } from './records.js'
import type { PeerId } from '@libp2p/interface'

export { HandleClaim } from './pb/records.js'

const LABEL = new TextEncoder().encode('starling-handle-claim-v1')

/** Everything needed to build and sign a handle claim. */
export interface HandleClaimInit {
  /** The account's Ed25519 secret key (32-byte seed). */
  accountSecretKey: Uint8Array
  /** The handle name (validated and folded to lower case). */
  name: string
  /** The account's devices: at least one, at most {@link MAX_CLAIM_DEVICES}. */
  devices: PeerId[]
  /** Higher wins; e.g. a millisecond timestamp. */
  seq: number
  /** Milliseconds since the Unix epoch. */
  expiresAt: number
}

/** The bytes the account signature of a claim covers. */
export function handleClaimSigningPayload (claim: Partial<HandleClaim>): Uint8Array {
  return signingPayload(LABEL, HandleClaim.encode({ ...claim, signature: undefined }))
}

/** Encodes a handle claim (no checks). */
export function encodeHandleClaim (claim: HandleClaim): Uint8Array {
  return HandleClaim.encode(claim)
}

/**
 * Decodes handle claim bytes (size limit, canonical form); checks no signature.
 *
 * @throws {InvalidRecordError}
 */
export function decodeHandleClaim (bytes: Uint8Array): HandleClaim {
  return decodeRecord(HandleClaim, bytes, 'handle claim')
}

/**
 * Builds and signs a handle claim; its key is `/starling/handle/<name~tag>`
 * with the tag of the account key.
 *
 * @throws {InvalidHandleError} if the name is invalid
 * @throws {RangeError} on a bad device list, seq or expiry
 */
export async function buildHandleClaim (crypto: Crypto, init: HandleClaimInit): Promise<SignedRecord<HandleClaim>> {
  const name = validateHandleName(init.name)
  if (init.devices.length === 0 || init.devices.length > MAX_CLAIM_DEVICES) {
    throw new RangeError(`a claim lists 1 to ${MAX_CLAIM_DEVICES} devices, got ${init.devices.length}`)
  }
  if (!Number.isSafeInteger(init.seq) || init.seq < 0) throw new RangeError('seq must be a non-negative safe integer')
  if (!Number.isSafeInteger(init.expiresAt) || init.expiresAt <= 0) throw new RangeError('expiresAt must be a positive safe integer')
  const accountKey = Uint8Array.from(await crypto.ed25519.publicKey(init.accountSecretKey))
  const claim: HandleClaim = {
    name,
    accountKey,
    devices: init.devices.map(d => Uint8Array.from(d.toMultihash().bytes)),
    seq: init.seq,
    expiresAt: init.expiresAt,
    signature: new Uint8Array(0)
  }
  claim.signature = Uint8Array.from(await crypto.ed25519.sign(init.accountSecretKey, handleClaimSigningPayload(claim)))
  return { key: handleRecordKey(name, handleTag(crypto, name, accountKey)), value: encodeHandleClaim(claim), record: claim }
}

/**
 * Verifies a handle claim fetched from (or offered to) the DHT under `key`:
 * canonical encoding within {@link MAX_RECORD_BYTES}, the key's name is the
 * claim's name and the key's tag is the tag of the claim's account key, 1 to
 * {@link MAX_CLAIM_DEVICES} valid peer ids, not expired at `now`, its seq
 * and expiry not absurdly far ahead of `now` (records.ts, checkVersion), and
 * the account signature.
 *
 * @returns the decoded claim
 * @throws {InvalidRecordError} with a `reason`
 */
export async function verifyHandleClaim (crypto: Crypto, key: Uint8Array | string, bytes: Uint8Array, now: number): Promise<HandleClaim> {
  const parsedKey = parseRecordKey(key)
  if (parsedKey.kind !== 'handle') throw new InvalidRecordError('key-mismatch', 'not a handle record key')
  const claim = decodeHandleClaim(bytes)
  if (claim.name !== parsedKey.name) {
    throw new InvalidRecordError('key-mismatch', `claim for the name "${claim.name.slice(0, 40)}" stored under the key of "${parsedKey.name}"`)
  }
  checkLength('accountKey', claim.accountKey, ACCOUNT_KEY_LENGTH)
  checkLength('signature', claim.signature, SIGNATURE_LENGTH)
  if (handleTag(crypto, parsedKey.name, claim.accountKey) !== parsedKey.tag) {
    throw new InvalidRecordError('tag-mismatch', `the tag ${parsedKey.tag} is not the tag of the claim's account key under the name ${parsedKey.name}`)
  }
  if (claim.devices.length === 0) throw new InvalidRecordError('bad-field', 'a claim lists at least one device')
  for (const [i, device] of claim.devices.entries()) peerIdFromBytes(`devices[${i}]`, device)
  checkExpiry('handle claim', claim.expiresAt, now)
  checkVersion('handle claim', claim.seq, claim.expiresAt, now)
  if (!await crypto.ed25519.verify(claim.accountKey, handleClaimSigningPayload(claim), claim.signature)) {
    throw new InvalidRecordError('bad-signature', 'handle claim: account signature does not verify')
  }
  return claim
}
