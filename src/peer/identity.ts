/**
 * A device's identity through its life: created once (account key, device
 * key, identity key, prekeys), loaded at every start, its key file
 * encrypted once a passphrase is chosen, and its prekeys rotated on a
 * schedule. Where the key file lives is the platform's (a file in node/,
 * IndexedDB in web/): it is reached only through {@link KeyStorage}. The
 * file's format and its encryption are src/identity/key-file.ts.
 */
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Crypto } from '../crypto/index.js'
import { CorruptKeyFileError, decodeKeyFile, encodeKeyFile, handleTag, isEncryptedKeyFile, validateHandleName } from '../identity/index.js'
import { createPrekeyState, decodePrekeyState, encodePrekeyState, rotatePrekeys } from '../crypto/prekeys.js'
import type { PrekeyState } from '../crypto/prekeys.js'
import { IdentityExistsError, NoIdentityError } from './errors.js'

/**
 * Where the platform keeps the one key file of a device. Writes must be
 * atomic (a crash leaves the old file or the new one, never half of one).
 */
export interface KeyStorage {
  /** The key file, or undefined when none is stored. */
  read(): Promise<Uint8Array | undefined>
  /** Stores the first key file; throws IdentityExistsError when one is stored already (it is never overwritten). */
  create(keyFile: Uint8Array): Promise<void>
  /** Replaces the stored key file (same identity, new prekeys or a new passphrase). */
  replace(keyFile: Uint8Array): Promise<void>
}

/** A device's keys, loaded. */
export interface LocalIdentity {
  handleName: string
  tag: string
  accountSecretKey: Uint8Array
  accountPublicKey: Uint8Array
  devicePrivateKey: PrivateKey
  peerId: PeerId
  identitySecretKey: Uint8Array
  identityPublicKey: Uint8Array
  prekeys: PrekeyState
  createdAt: number
  /** Whether the key file is encrypted under a passphrase (then the store and attachments are too). */
  encrypted: boolean
}

/** Options of identity operations that write the key file. */
export interface KeyFileOptions {
  /** Encrypts the key file under this passphrase (absent: written in the clear). */
  passphrase?: string
  /** The clock (default Date.now). */
  now?(): number
}

/**
 * Creates a new identity for `handle` and stores it; refuses (IdentityExistsError,
 * from the storage) when one is stored already. Throws InvalidHandleError for a bad handle.
 */
export async function createIdentity (crypto: Crypto, keys: KeyStorage, handle: string, options: KeyFileOptions = {}): Promise<LocalIdentity> {
  const name = validateHandleName(handle)
  // Checked before the keys are made (and a passphrase stretched); the storage refuses again on write.
  if (await keys.read() != null) throw new IdentityExistsError('an identity is stored already; refusing to overwrite it')
  const account = await crypto.ed25519.generateKeyPair()
  const devicePrivateKey = await generateKeyPair('Ed25519')
  const identity = await crypto.x25519.generateKeyPair()
  const now = (options.now ?? Date.now)()
  const local: LocalIdentity = {
    handleName: name,
    tag: handleTag(crypto, name, account.publicKey),
    accountSecretKey: account.secretKey,
    accountPublicKey: account.publicKey,
    devicePrivateKey,
    peerId: peerIdFromPrivateKey(devicePrivateKey),
    identitySecretKey: identity.secretKey,
    identityPublicKey: identity.publicKey,
    prekeys: await createPrekeyState(crypto, account.secretKey, now),
    createdAt: now,
    encrypted: options.passphrase != null
  }
  await keys.create(await encodeIdentity(crypto, local, options.passphrase))
  return local
}

/**
 * Loads the stored identity. Throws NoIdentityError when there is none, and
 * the key file's errors (PassphraseRequiredError, WrongPassphraseError,
 * CorruptKeyFileError) when it does not open.
 */
export async function loadIdentity (crypto: Crypto, keys: KeyStorage, passphrase?: string): Promise<LocalIdentity> {
  const bytes = await keys.read()
  if (bytes == null) throw new NoIdentityError('no identity is stored: create one first')
  const file = await decodeKeyFile(crypto, bytes, { passphrase })
  if (file.prekeys == null) throw new CorruptKeyFileError('the key file has no prekeys')
  const devicePrivateKey = privateKeyFromProtobuf(file.devicePrivateKey)
  const accountPublicKey = await crypto.ed25519.publicKey(file.accountSecretKey)
  return {
    handleName: file.handle,
    tag: handleTag(crypto, file.handle, accountPublicKey),
    accountSecretKey: file.accountSecretKey,
    accountPublicKey,
    devicePrivateKey,
    peerId: peerIdFromPrivateKey(devicePrivateKey),
    identitySecretKey: file.deviceIdentitySecretKey,
    identityPublicKey: await crypto.x25519.publicKey(file.deviceIdentitySecretKey),
    prekeys: decodePrekeyState(file.prekeys),
    createdAt: file.createdAt,
    encrypted: isEncryptedKeyFile(bytes)
  }
}

/**
 * With a passphrase set and a key file stored without one (created before
 * the passphrase was chosen), stores the key file again encrypted, so that
 * the keys derived from it for the store and attachments are protected too.
 * Resolves with whether it wrote.
 */
export async function encryptKeyFileIfPlain (crypto: Crypto, keys: KeyStorage, local: LocalIdentity, passphrase?: string): Promise<boolean> {
  if (passphrase == null || local.encrypted) return false
  await keys.replace(await encodeIdentity(crypto, local, passphrase))
  local.encrypted = true
  return true
}

/** Rotates the signed and KEM prekeys when due and stores the identity if anything changed; resolves with whether it did. */
export async function rotateIfDue (crypto: Crypto, keys: KeyStorage, local: LocalIdentity, options: KeyFileOptions = {}): Promise<boolean> {
  const next = await rotatePrekeys(crypto, local.prekeys, local.accountSecretKey, (options.now ?? Date.now)())
  if (next === local.prekeys) return false
  local.prekeys = next
  await keys.replace(await encodeIdentity(crypto, local, options.passphrase))
  return true
}

/** The key file of an identity (encrypted under `passphrase` when given). */
export async function encodeIdentity (crypto: Crypto, local: LocalIdentity, passphrase?: string): Promise<Uint8Array> {
  return encodeKeyFile(crypto, {
    accountSecretKey: local.accountSecretKey,
    devicePrivateKey: privateKeyToProtobuf(local.devicePrivateKey),
    deviceIdentitySecretKey: local.identitySecretKey,
    prekeys: encodePrekeyState(local.prekeys),
    handle: local.handleName,
    createdAt: local.createdAt
  }, { passphrase })
}
