/**
 * Handle tags and the provider content id of a bare name.
 *
 * tag = first 10 characters of lower-case RFC 4648 base32 (no padding) of
 *       SHA-256("starling-handle-tag-v2" || len(name) || name || accountPublicKey)
 * where name is the canonical (lower-case ASCII) name and len(name) one byte
 * (3 to 30), so that no two (name, key) pairs hash the same input.
 *
 * 10 characters are 50 bits: to claim `alice~<alice's tag>` an attacker must
 * try ~2^50 keys. The name is part of the hash so that one candidate key is
 * a try against ONE name only: grinding against many people at once costs
 * no less per target than against one (with a tag of the key alone, each
 * candidate was a try against every user, 2^50 / N per target among N users).
 * Only the claimants of one same name share the work among themselves.
 */
import { CID } from 'multiformats/cid'
import { base32 } from 'multiformats/bases/base32'
import * as Digest from 'multiformats/hashes/digest'
import * as raw from 'multiformats/codecs/raw'
import { HANDLE_TAG_LENGTH, validateHandleName } from './handle.js'
import type { Crypto } from '../crypto/index.js'

/** Length of an Ed25519 public key. */
export const ACCOUNT_KEY_LENGTH = 32

const TAG_LABEL = new TextEncoder().encode('starling-handle-tag-v2')
const PROVIDER_PREFIX = 'starling-handle:'
/** Multicodec code of sha2-256. */
const SHA2_256 = 0x12

/**
 * The tag of an account under a name: 10 base32 characters derived from the
 * canonical name and the account's Ed25519 public key together.
 *
 * @throws {InvalidHandleError} if `name` is not a valid handle name
 * @throws {RangeError} if the key is not 32 bytes
 */
export function handleTag (crypto: Crypto, name: string, accountPublicKey: Uint8Array): string {
  const canonical = new TextEncoder().encode(validateHandleName(name))
  if (accountPublicKey.length !== ACCOUNT_KEY_LENGTH) {
    throw new RangeError(`account public key must be ${ACCOUNT_KEY_LENGTH} bytes, got ${accountPublicKey.length}`)
  }
  const input = new Uint8Array(TAG_LABEL.length + 1 + canonical.length + accountPublicKey.length)
  input.set(TAG_LABEL, 0)
  input[TAG_LABEL.length] = canonical.length
  input.set(canonical, TAG_LABEL.length + 1)
  input.set(accountPublicKey, TAG_LABEL.length + 1 + canonical.length)
  // multiformats' base32 is RFC 4648, lower case, unpadded; baseEncode omits the multibase prefix.
  return base32.baseEncode(crypto.hash.sha256(input)).slice(0, HANDLE_TAG_LENGTH)
}

/**
 * The content id every claimant of a bare name provides, so that resolving
 * `alice` can find every `alice~tag`: CIDv1, raw codec, sha2-256 multihash of
 * utf8("starling-handle:" + name).
 *
 * @throws {InvalidHandleError} if `name` is not a valid handle name
 */
export function handleProviderCid (crypto: Crypto, name: string): CID {
  const canonical = validateHandleName(name)
  const digest = crypto.hash.sha256(new TextEncoder().encode(PROVIDER_PREFIX + canonical))
  return CID.createV1(raw.code, Digest.create(SHA2_256, digest))
}
