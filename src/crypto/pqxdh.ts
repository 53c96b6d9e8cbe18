/**
 * Session start: PQXDH (Signal's PQXDH spec, revision 3;
 * https://signal.org/docs/specifications/pqxdh/) with X25519, ML-KEM-768,
 * HKDF-SHA256 and our own labels. Identity keys differ from Signal's: the
 * device's X25519 identity key IK is vouched for by the ACCOUNT Ed25519 key
 * (prekey-signature.ts, kind identity, id 0), which also signs the prekeys;
 * so the spec's XEdDSA signature over SPK becomes an Ed25519 signature by
 * the account key, and AD binds the account keys as well.
 *
 * Initial ("prekey") message, version 1 (big-endian):
 *
 *   offset  size  field
 *   0       1     type = 0x02
 *   1       32    sender account key (Ed25519)
 *   33      32    sender identity key IK_A (X25519)
 *   65      64    account signature over IK_A
 *   129     32    base key EK_A (X25519)
 *   161     4     signed prekey id
 *   165     4     KEM prekey id
 *   169     4     one-time prekey id, 0xffffffff for none
 *   173     1088  ML-KEM-768 ciphertext CT
 *   1261    ...   a ratchet message (header.ts) whose body AAD starts with
 *                 SHA-256(bytes 0..1260), so no byte of the prefix can be altered
 */
import { concatBytes, utf8 } from './bytes.js'
import { Reader, Writer } from './codec.js'
import { InvalidMessageError, InvalidSignatureError } from './errors.js'
import { PrekeyKind, prekeySignaturePayload } from './prekey-signature.js'
import { KEM_CIPHERTEXT_LENGTH } from './bytes.js'
import type { Crypto } from './index.js'
import type { SignedPrekeyPublic } from './prekeys.js'

export const PREKEY_MESSAGE_TYPE = 0x02
export const NO_ONE_TIME_PREKEY = 0xffffffff
/** Bytes before the embedded ratchet message. */
export const PREKEY_PREFIX_LENGTH = 1 + 32 + 32 + 64 + 32 + 4 + 4 + 4 + KEM_CIPHERTEXT_LENGTH

/** PQXDH §2.1 info; the spec's "F" prefix below is 32 0xFF bytes for X25519 (§2.2). */
const KDF_INFO = utf8('Starling_PQXDH_CURVE25519_SHA-256_ML-KEM-768 v1')
const F = new Uint8Array(32).fill(0xff)
const ZERO_SALT = new Uint8Array(32)

/** A recipient device's published keys (from its device record). */
export interface PrekeyBundle {
  accountKey: Uint8Array
  identityKey: Uint8Array
  identityKeySignature: Uint8Array
  signedPrekey: SignedPrekeyPublic
  kemPrekey: SignedPrekeyPublic
  /** Only from the online device (or a relay handing each out once). */
  oneTimePrekey?: { id: number, publicKey: Uint8Array }
}

/** Who we are, as a sender: account public key and the device's signed identity key. */
export interface LocalIdentity {
  accountKey: Uint8Array
  identityKey: { secretKey: Uint8Array, publicKey: Uint8Array }
  identityKeySignature: Uint8Array
}

/** The fields of an initial message before its ratchet message. */
export interface PrekeyMessageHeader {
  accountKey: Uint8Array
  identityKey: Uint8Array
  identityKeySignature: Uint8Array
  baseKey: Uint8Array
  signedPrekeyId: number
  kemPrekeyId: number
  oneTimePrekeyId?: number
  kemCiphertext: Uint8Array
}

/** PQXDH output: SK and the two shared header keys of Double Ratchet §4, and AD. */
export interface PqxdhSecrets {
  sk: Uint8Array
  sharedHka: Uint8Array
  sharedNhkb: Uint8Array
  ad: Uint8Array
}

/** Throws InvalidSignatureError unless `accountKey` signed `key` as `kind`. */
export async function verifyPrekeySignature (crypto: Crypto, accountKey: Uint8Array, kind: typeof PrekeyKind[keyof typeof PrekeyKind], id: number, key: Uint8Array, signature: Uint8Array, what: string): Promise<void> {
  if (!await crypto.ed25519.verify(accountKey, prekeySignaturePayload(kind, id, key), signature)) {
    throw new InvalidSignatureError(`${what} is not signed by the account key`)
  }
}

/**
 * AD = account_A || IK_A || account_B || IK_B (PQXDH §3.3 with account keys
 * added: a session is bound to both accounts as well as both devices).
 */
function associatedData (aliceAccount: Uint8Array, aliceIdentity: Uint8Array, bobAccount: Uint8Array, bobIdentity: Uint8Array): Uint8Array {
  return concatBytes(aliceAccount, aliceIdentity, bobAccount, bobIdentity)
}

/** SK = KDF(F || DH1 || DH2 || DH3 [|| DH4] || SS) (PQXDH §3.3), split into SK, HKa, NHKb. */
function kdf (crypto: Crypto, dhs: Uint8Array[], ss: Uint8Array, ad: Uint8Array): PqxdhSecrets {
  const out = crypto.hash.hkdf(concatBytes(F, ...dhs, ss), ZERO_SALT, KDF_INFO, 96)
  return { sk: out.slice(0, 32), sharedHka: out.slice(32, 64), sharedNhkb: out.slice(64, 96), ad }
}

/**
 * Alice's side (PQXDH §3.3): verifies the bundle's signatures, then derives
 * the secrets and the header of her initial message. DH with a low-order or
 * malformed key fails with InvalidKeyError.
 */
export async function pqxdhInitiate (crypto: Crypto, us: LocalIdentity, bundle: PrekeyBundle): Promise<{ secrets: PqxdhSecrets, header: PrekeyMessageHeader }> {
  await verifyPrekeySignature(crypto, bundle.accountKey, PrekeyKind.identity, 0, bundle.identityKey, bundle.identityKeySignature, 'identity key')
  await verifyPrekeySignature(crypto, bundle.accountKey, PrekeyKind.signedPrekey, bundle.signedPrekey.id, bundle.signedPrekey.publicKey, bundle.signedPrekey.signature, 'signed prekey')
  await verifyPrekeySignature(crypto, bundle.accountKey, PrekeyKind.kemPrekey, bundle.kemPrekey.id, bundle.kemPrekey.publicKey, bundle.kemPrekey.signature, 'KEM prekey')
  const ek = await crypto.x25519.generateKeyPair()
  const dh = [
    await crypto.x25519.sharedSecret(us.identityKey.secretKey, bundle.signedPrekey.publicKey),
    await crypto.x25519.sharedSecret(ek.secretKey, bundle.identityKey),
    await crypto.x25519.sharedSecret(ek.secretKey, bundle.signedPrekey.publicKey)
  ]
  if (bundle.oneTimePrekey != null) dh.push(await crypto.x25519.sharedSecret(ek.secretKey, bundle.oneTimePrekey.publicKey))
  const { cipherText, sharedSecret } = await crypto.kem.encapsulate(bundle.kemPrekey.publicKey)
  const ad = associatedData(us.accountKey, us.identityKey.publicKey, bundle.accountKey, bundle.identityKey)
  return {
    secrets: kdf(crypto, dh, sharedSecret, ad),
    header: {
      accountKey: us.accountKey,
      identityKey: us.identityKey.publicKey,
      identityKeySignature: us.identityKeySignature,
      baseKey: ek.publicKey,
      signedPrekeyId: bundle.signedPrekey.id,
      kemPrekeyId: bundle.kemPrekey.id,
      ...(bundle.oneTimePrekey != null ? { oneTimePrekeyId: bundle.oneTimePrekey.id } : {}),
      kemCiphertext: cipherText
    }
  }
}

/** The secrets Bob needs for one initial message: found by the caller from the ids in the header. */
export interface ResponderKeys {
  accountKey: Uint8Array
  identityKey: { secretKey: Uint8Array, publicKey: Uint8Array }
  signedPrekeySecret: Uint8Array
  kemPrekeySeed: Uint8Array
  oneTimePrekeySecret?: Uint8Array
}

/** Bob's side (PQXDH §3.4): verifies Alice's identity signature and derives the same secrets. */
export async function pqxdhRespond (crypto: Crypto, keys: ResponderKeys, header: PrekeyMessageHeader): Promise<PqxdhSecrets> {
  await verifyPrekeySignature(crypto, header.accountKey, PrekeyKind.identity, 0, header.identityKey, header.identityKeySignature, 'sender identity key')
  const dh = [
    await crypto.x25519.sharedSecret(keys.signedPrekeySecret, header.identityKey),
    await crypto.x25519.sharedSecret(keys.identityKey.secretKey, header.baseKey),
    await crypto.x25519.sharedSecret(keys.signedPrekeySecret, header.baseKey)
  ]
  if (header.oneTimePrekeyId != null) {
    if (keys.oneTimePrekeySecret == null) throw new InvalidMessageError('message uses a one-time prekey but none was supplied')
    dh.push(await crypto.x25519.sharedSecret(keys.oneTimePrekeySecret, header.baseKey))
  }
  const ss = await crypto.kem.decapsulate(keys.kemPrekeySeed, header.kemCiphertext)
  const ad = associatedData(header.accountKey, header.identityKey, keys.accountKey, keys.identityKey.publicKey)
  return kdf(crypto, dh, ss, ad)
}

/** The initial message's bytes before the ratchet message. */
export function encodePrekeyPrefix (header: PrekeyMessageHeader): Uint8Array {
  return new Writer(PREKEY_PREFIX_LENGTH)
    .u8(PREKEY_MESSAGE_TYPE)
    .bytes(header.accountKey).bytes(header.identityKey).bytes(header.identityKeySignature).bytes(header.baseKey)
    .u32(header.signedPrekeyId).u32(header.kemPrekeyId).u32(header.oneTimePrekeyId ?? NO_ONE_TIME_PREKEY)
    .bytes(header.kemCiphertext)
    .finish()
}

/** Parses an initial message without keys; InvalidMessageError when malformed. */
export function decodePrekeyMessage (message: Uint8Array): { header: PrekeyMessageHeader, prefix: Uint8Array, ratchetMessage: Uint8Array } {
  const r = new Reader(message, 'prekey message')
  if (r.u8() !== PREKEY_MESSAGE_TYPE) throw new InvalidMessageError('not a prekey message')
  const accountKey = r.bytes(32)
  const identityKey = r.bytes(32)
  const identityKeySignature = r.bytes(64)
  const baseKey = r.bytes(32)
  const signedPrekeyId = r.u32()
  const kemPrekeyId = r.u32()
  const oneTime = r.u32()
  const kemCiphertext = r.bytes(KEM_CIPHERTEXT_LENGTH)
  return {
    header: {
      accountKey, identityKey, identityKeySignature, baseKey, signedPrekeyId, kemPrekeyId,
      ...(oneTime !== NO_ONE_TIME_PREKEY ? { oneTimePrekeyId: oneTime } : {}),
      kemCiphertext
    },
    prefix: message.subarray(0, PREKEY_PREFIX_LENGTH),
    ratchetMessage: r.rest()
  }
}
