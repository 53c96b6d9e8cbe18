/**
 * Keys for data at rest (the message store, attachments), derived from the
 * device's X25519 identity secret with HKDF-SHA256 (RFC 5869), one per
 * purpose. The identity secret lives in the key file, which is encrypted
 * under the user's passphrase (scrypt) when one is set: deriving from it
 * costs no second scrypt run at start, and the keys do not change when the
 * key file is written again (a prekey rotation re-encrypts it with a fresh
 * salt) or moved by a backup. They are only as secret as the key file: the
 * node layer uses them only when that file is encrypted.
 */
import type { Crypto } from '../crypto/index.js'

/** Length of every derived key (AES-256). */
export const AT_REST_KEY_BYTES = 32

/** What a key protects. */
export type AtRestPurpose = 'store' | 'attachments'

const SALT = new TextEncoder().encode('starling-at-rest-v1')

/** The key for `purpose`, derived from the device's identity secret key. */
export function deriveAtRestKey (crypto: Crypto, identitySecretKey: Uint8Array, purpose: AtRestPurpose): Uint8Array {
  if (identitySecretKey.length !== 32) throw new RangeError(`the identity secret key is 32 bytes, got ${identitySecretKey.length}`)
  return crypto.hash.hkdf(identitySecretKey, SALT, new TextEncoder().encode(`starling ${purpose} key`), AT_REST_KEY_BYTES)
}
