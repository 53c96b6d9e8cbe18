/**
 * The device's identity on disk: `identity.key` in the data directory, mode
 * 0600, encrypted with a memory-hard KDF when STARLING_PASSPHRASE is set.
 */
import { join } from 'node:path'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Crypto } from '../src/crypto/index.js'
import { decodeKeyFile, encodeKeyFile, handleTag, isEncryptedKeyFile, validateHandleName } from '../src/identity/index.js'
import { createPrekeyState, decodePrekeyState, encodePrekeyState, rotatePrekeys } from '../src/crypto/prekeys.js'
import type { PrekeyState } from '../src/crypto/prekeys.js'
import { CommandError } from './errors.js'
import { Files, createPrivateFile, ensureDir, readOptional, writePrivateFile } from './data-dir.js'

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

/** The passphrase for keys at rest, if the user set one. */
export function passphraseFromEnv (): string | undefined {
  const p = process.env.STARLING_PASSPHRASE
  return p != null && p !== '' ? p : undefined
}

/** Creates a new identity in `dataDir`; refuses to overwrite an existing one. */
export async function createIdentity (crypto: Crypto, dataDir: string, handle: string, passphrase?: string): Promise<LocalIdentity> {
  const name = validateHandleName(handle)
  await ensureDir(dataDir)
  const path = join(dataDir, Files.identity)
  if (await readOptional(path) != null) {
    throw new CommandError(`an identity already exists in ${dataDir}; refusing to overwrite it (use another --data directory)`)
  }
  const account = await crypto.ed25519.generateKeyPair()
  const devicePrivateKey = await generateKeyPair('Ed25519')
  const identity = await crypto.x25519.generateKeyPair()
  const now = Date.now()
  const prekeys = await createPrekeyState(crypto, account.secretKey, now)
  const local: LocalIdentity = {
    handleName: name,
    tag: handleTag(crypto, name, account.publicKey),
    accountSecretKey: account.secretKey,
    accountPublicKey: account.publicKey,
    devicePrivateKey,
    peerId: peerIdFromPrivateKey(devicePrivateKey),
    identitySecretKey: identity.secretKey,
    identityPublicKey: identity.publicKey,
    prekeys,
    createdAt: now,
    encrypted: passphrase != null
  }
  const bytes = await encode(crypto, local, passphrase)
  try {
    await createPrivateFile(path, bytes)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new CommandError(`an identity already exists in ${dataDir}; refusing to overwrite it (use another --data directory)`)
    }
    throw err
  }
  return local
}

/** Loads the identity of `dataDir`, or throws a CommandError saying how to create one. */
export async function loadIdentity (crypto: Crypto, dataDir: string, passphrase?: string): Promise<LocalIdentity> {
  const path = join(dataDir, Files.identity)
  const bytes = await readOptional(path)
  if (bytes == null) throw new CommandError(`no identity in ${dataDir}: create one with starling init --handle NAME`)
  const file = await decodeKeyFile(crypto, bytes, { passphrase })
  const devicePrivateKey = privateKeyFromProtobuf(file.devicePrivateKey)
  if (file.prekeys == null) throw new CommandError(`${path} has no prekeys`)
  return {
    handleName: file.handle,
    tag: handleTag(crypto, file.handle, await crypto.ed25519.publicKey(file.accountSecretKey)),
    accountSecretKey: file.accountSecretKey,
    accountPublicKey: await crypto.ed25519.publicKey(file.accountSecretKey),
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
 * With a passphrase set and a key file written without one (created before
 * the passphrase was chosen), writes the key file again encrypted, so that
 * the keys derived from it for the store and attachments are protected too.
 * The old file is replaced by a rename; its bytes may stay on the disk until
 * overwritten (the README says so). Resolves with whether it wrote.
 */
export async function encryptKeyFileIfPlain (crypto: Crypto, dataDir: string, local: LocalIdentity, passphrase?: string): Promise<boolean> {
  if (passphrase == null || local.encrypted) return false
  await writePrivateFile(join(dataDir, Files.identity), await encode(crypto, local, passphrase))
  local.encrypted = true
  return true
}

/** Rotates the signed prekey when due and saves the identity if anything changed. */
export async function rotateIfDue (crypto: Crypto, dataDir: string, local: LocalIdentity, passphrase?: string): Promise<boolean> {
  const next = await rotatePrekeys(crypto, local.prekeys, local.accountSecretKey, Date.now())
  if (next === local.prekeys) return false
  local.prekeys = next
  await writePrivateFile(join(dataDir, Files.identity), await encode(crypto, local, passphrase))
  return true
}

async function encode (crypto: Crypto, local: LocalIdentity, passphrase?: string): Promise<Uint8Array> {
  return encodeKeyFile(crypto, {
    accountSecretKey: local.accountSecretKey,
    devicePrivateKey: privateKeyToProtobuf(local.devicePrivateKey),
    deviceIdentitySecretKey: local.identitySecretKey,
    prekeys: encodePrekeyState(local.prekeys),
    handle: local.handleName,
    createdAt: local.createdAt
  }, { passphrase })
}
