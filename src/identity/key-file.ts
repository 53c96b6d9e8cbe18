/**
 * The key file: one device's secrets at rest (account key, libp2p peer key,
 * X25519 identity key, opaque prekey state, handle name, creation time).
 *
 * Layout (all integers unsigned bytes):
 *
 *   plain:     "STKF" | version=1 | mode=0 | contents | checksum (8)
 *   encrypted: "STKF" | version=1 | mode=1 | logN | r | p | salt (16) | nonce (12) | AES-256-GCM(contents) | checksum (8)
 *
 * `contents` is the KeyFileContents protobuf (pb/key-file.proto). `checksum`
 * is the first 8 bytes of SHA-256 of everything before it: it catches
 * accidental damage (a flipped bit in a plain secret key would otherwise load
 * as a different identity) and lets a damaged file be told apart from a wrong
 * passphrase without running the KDF. It is no defence against deliberate
 * change; for encrypted files AES-GCM is, with the whole header as associated
 * data so parameters and salt cannot be altered unnoticed. The key is 32 bytes
 * of scrypt (src/crypto/password-kdf.ts, parameters stored in the file).
 *
 * A plain file relies on the file system: the node/ layer writes it with mode 0600.
 */
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { DEFAULT_SCRYPT_PARAMS, checkScryptParams, derivePasswordKey } from '../crypto/password-kdf.js'
import { CorruptKeyFileError, PassphraseRequiredError, WrongPassphraseError } from './errors.js'
import { validateHandleName } from './handle.js'
import { KeyFileContents } from './pb/key-file.js'
import type { Crypto } from '../crypto/index.js'
import type { ScryptParams } from '../crypto/password-kdf.js'

/** What a key file holds. */
export interface KeyFileData {
  /** The account's Ed25519 secret key (32-byte seed). */
  accountSecretKey: Uint8Array
  /** The device's libp2p peer key, `privateKeyToProtobuf` bytes. */
  devicePrivateKey: Uint8Array
  /** The device's X25519 identity secret key (32 bytes). */
  deviceIdentitySecretKey: Uint8Array
  /** Opaque prekey state (src/crypto/prekeys.ts). */
  prekeys?: Uint8Array
  /** The handle name, without tag. */
  handle: string
  /** Milliseconds since the Unix epoch. */
  createdAt: number
}

/** Options of {@link encodeKeyFile}. */
export interface EncodeKeyFileOptions {
  /** Encrypt with this passphrase; without one the file is plain. */
  passphrase?: string
  /** scrypt cost; default {@link DEFAULT_SCRYPT_PARAMS}. Tests pass cheap ones. */
  kdf?: ScryptParams
}

/** Options of {@link decodeKeyFile}. */
export interface DecodeKeyFileOptions {
  /** Needed when the file is encrypted; ignored when it is plain. */
  passphrase?: string
}

/** Largest key file accepted. */
export const MAX_KEY_FILE_BYTES = 1024 * 1024
/** Current format version. */
export const KEY_FILE_VERSION = 1

const MAGIC = Uint8Array.from([0x53, 0x54, 0x4b, 0x46]) // "STKF"
const MODE_PLAIN = 0
const MODE_SCRYPT_AES_GCM = 1
const SALT_LENGTH = 16
const NONCE_LENGTH = 12
const KEY_LENGTH = 32
const CHECKSUM_LENGTH = 8
const PLAIN_HEADER = MAGIC.length + 2
const ENCRYPTED_HEADER = PLAIN_HEADER + 3 + SALT_LENGTH + NONCE_LENGTH
const GCM_TAG_LENGTH = 16

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

/** Appends the checksum: the first 8 bytes of SHA-256 of the rest. */
function withChecksum (crypto: Crypto, body: Uint8Array): Uint8Array {
  return concat(body, crypto.hash.sha256(body).subarray(0, CHECKSUM_LENGTH))
}

function constantTimeEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

function checkData (data: KeyFileData): void {
  if (data.accountSecretKey.length !== 32) throw new RangeError('accountSecretKey must be 32 bytes')
  if (data.deviceIdentitySecretKey.length !== 32) throw new RangeError('deviceIdentitySecretKey must be 32 bytes')
  if (!Number.isSafeInteger(data.createdAt) || data.createdAt < 0) throw new RangeError('createdAt must be a non-negative safe integer')
  validateHandleName(data.handle)
}

/**
 * Encodes a key file, encrypted when a passphrase is given.
 *
 * @throws {RangeError} on malformed contents, an empty passphrase or bad KDF parameters
 * @throws {InvalidHandleError} if `handle` is not a valid name
 */
export async function encodeKeyFile (crypto: Crypto, data: KeyFileData, options: EncodeKeyFileOptions = {}): Promise<Uint8Array> {
  checkData(data)
  // The cast only widens Uint8Array<ArrayBufferLike> to the generated Uint8Array<ArrayBuffer>: encode just reads the bytes.
  const contents = KeyFileContents.encode({ ...data, handle: validateHandleName(data.handle) } as Partial<KeyFileContents>)
  const { passphrase } = options
  if (passphrase == null) {
    try {
      return withChecksum(crypto, concat(MAGIC, Uint8Array.of(KEY_FILE_VERSION, MODE_PLAIN), contents))
    } finally {
      contents.fill(0)
    }
  }

  const kdf = options.kdf ?? DEFAULT_SCRYPT_PARAMS
  checkScryptParams(kdf)
  const salt = crypto.randomBytes(SALT_LENGTH)
  const key = await derivePasswordKey(passphrase, salt, kdf, KEY_LENGTH)
  try {
    const nonce = crypto.randomBytes(NONCE_LENGTH)
    const header = concat(MAGIC, Uint8Array.of(KEY_FILE_VERSION, MODE_SCRYPT_AES_GCM, kdf.logN, kdf.r, kdf.p), salt, nonce)
    const sealed = await crypto.aead.encrypt(key, nonce, contents, header)
    return withChecksum(crypto, concat(header, sealed))
  } finally {
    key.fill(0)
    contents.fill(0)
  }
}

/** Whether a key file is encrypted under a passphrase (its header says so; nothing is checked). */
export function isEncryptedKeyFile (file: Uint8Array): boolean {
  return file.length > PLAIN_HEADER && constantTimeEqual(file.subarray(0, MAGIC.length), MAGIC) && file[MAGIC.length + 1] === MODE_SCRYPT_AES_GCM
}

function corrupt (message: string): never {
  throw new CorruptKeyFileError(message)
}

/** Decodes and checks the protobuf contents; copies every secret so the buffer can be wiped. */
function decodeContents (bytes: Uint8Array): KeyFileData {
  let contents: KeyFileContents
  try {
    contents = KeyFileContents.decode(bytes)
  } catch (err) {
    corrupt(`the key file's contents do not decode: ${(err as Error).message}`)
  }
  const data: KeyFileData = {
    accountSecretKey: Uint8Array.from(contents.accountSecretKey),
    devicePrivateKey: Uint8Array.from(contents.devicePrivateKey),
    deviceIdentitySecretKey: Uint8Array.from(contents.deviceIdentitySecretKey),
    handle: contents.handle,
    createdAt: contents.createdAt
  }
  if (contents.prekeys != null) data.prekeys = Uint8Array.from(contents.prekeys)
  try {
    checkData(data)
    privateKeyFromProtobuf(data.devicePrivateKey)
  } catch (err) {
    corrupt(`the key file holds an invalid value: ${(err as Error).message}`)
  }
  return data
}

/**
 * Decodes a key file, decrypting it when it is encrypted.
 *
 * @throws {PassphraseRequiredError} if the file is encrypted and no passphrase was given
 * @throws {WrongPassphraseError} if the passphrase does not open it
 * @throws {CorruptKeyFileError} if it is truncated, damaged or of an unknown version
 */
export async function decodeKeyFile (crypto: Crypto, file: Uint8Array, options: DecodeKeyFileOptions = {}): Promise<KeyFileData> {
  if (file.length > MAX_KEY_FILE_BYTES) corrupt(`the key file is larger than ${MAX_KEY_FILE_BYTES} bytes`)
  if (file.length < PLAIN_HEADER + CHECKSUM_LENGTH || !constantTimeEqual(file.subarray(0, MAGIC.length), MAGIC)) {
    corrupt('this is not a Starling key file (wrong magic bytes)')
  }
  const bytes = file.subarray(0, file.length - CHECKSUM_LENGTH)
  if (!constantTimeEqual(crypto.hash.sha256(bytes).subarray(0, CHECKSUM_LENGTH), file.subarray(bytes.length))) {
    corrupt('the key file is damaged (checksum mismatch)')
  }
  const version = bytes[MAGIC.length]
  const mode = bytes[MAGIC.length + 1]
  if (version !== KEY_FILE_VERSION) corrupt(`unknown key file version ${version}`)
  if (mode === MODE_PLAIN) return decodeContents(bytes.subarray(PLAIN_HEADER))
  if (mode !== MODE_SCRYPT_AES_GCM) corrupt(`unknown key file protection ${mode}`)
  if (bytes.length < ENCRYPTED_HEADER + GCM_TAG_LENGTH) corrupt('the key file is truncated')

  const passphrase = options.passphrase
  if (passphrase == null || passphrase === '') throw new PassphraseRequiredError('this key file is encrypted: a passphrase is needed')
  const kdf: ScryptParams = { logN: bytes[PLAIN_HEADER], r: bytes[PLAIN_HEADER + 1], p: bytes[PLAIN_HEADER + 2] }
  try {
    checkScryptParams(kdf)
  } catch (err) {
    corrupt(`the key file's KDF parameters are out of bounds: ${(err as Error).message}`)
  }
  const saltAt = PLAIN_HEADER + 3
  const salt = bytes.subarray(saltAt, saltAt + SALT_LENGTH)
  const nonce = bytes.subarray(saltAt + SALT_LENGTH, ENCRYPTED_HEADER)
  const header = bytes.subarray(0, ENCRYPTED_HEADER)

  const key = await derivePasswordKey(passphrase, salt, kdf, KEY_LENGTH)
  let contents: Uint8Array | undefined
  try {
    try {
      contents = await crypto.aead.decrypt(key, nonce, bytes.subarray(ENCRYPTED_HEADER), header)
    } catch (err) {
      // The checksum matched, so the bytes are as written: the passphrase is wrong
      // (or someone altered the file and fixed up the checksum).
      if ((err as Error).name === 'DecryptionError') throw new WrongPassphraseError('wrong passphrase for this key file')
      throw err
    }
    return decodeContents(contents)
  } finally {
    key.fill(0)
    contents?.fill(0)
  }
}
