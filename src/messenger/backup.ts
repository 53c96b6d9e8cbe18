/**
 * Encrypted backups of a device: its key file, contacts, history, sessions
 * and outbox, encrypted with a passphrase (scrypt + AES-256-GCM), to restore
 * on a new machine. Restoring moves the device: the old copy must not keep
 * running, or both would advance the same ratchet sessions.
 *
 * Format, version 1:
 *   "STBK" | u8 version | u8 logN | u8 r | u8 p | 16 salt | 12 nonce | AES-256-GCM(payload, aad = header)
 *   payload: u32 key file length | key file | entries...
 *   entry:   u8 namespace index | u32 key length | key | u32 value length | value
 */
import { derivePasswordKey, DEFAULT_SCRYPT_PARAMS, checkScryptParams } from '../crypto/password-kdf.js'
import type { ScryptParams } from '../crypto/password-kdf.js'
import type { Crypto } from '../crypto/index.js'
import { NAMESPACES } from '../store/index.js'
import type { Namespace, Store } from '../store/index.js'
import { concat } from './bytes.js'

const MAGIC = [0x53, 0x54, 0x42, 0x4b] // "STBK"
const VERSION = 1
const HEADER = 4 + 1 + 3 + 16 + 12
/** Largest backup read back (bounds memory on a hostile file). */
export const MAX_BACKUP_BYTES = 2 ** 31 - 1

/** The backup file cannot be read: wrong passphrase, damaged or not a backup. */
export class BackupError extends Error {
  override readonly name = 'BackupError'
}

/** What a backup holds. */
export interface BackupContents {
  keyFile: Uint8Array
  entries: Array<{ namespace: Namespace, key: Uint8Array, value: Uint8Array }>
}

/** Namespaces a user's backup carries (relays' envelope stores are not user data). */
const BACKED_UP: Namespace[] = ['outbox', 'messages', 'dedup', 'sessions', 'contacts']

/** Reads everything worth backing up from a store. */
export async function collectBackup (store: Store, keyFile: Uint8Array): Promise<BackupContents> {
  const entries: BackupContents['entries'] = []
  for (const namespace of BACKED_UP) {
    for await (const [key, value] of store.iterate(namespace)) entries.push({ namespace, key, value })
  }
  return { keyFile, entries }
}

/** Encrypts a backup with a passphrase. */
export async function encodeBackup (crypto: Crypto, contents: BackupContents, passphrase: string, params: ScryptParams = DEFAULT_SCRYPT_PARAMS): Promise<Uint8Array> {
  if (passphrase === '') throw new BackupError('a backup needs a passphrase')
  checkScryptParams(params)
  const parts: Uint8Array[] = [u32(contents.keyFile.length), contents.keyFile]
  for (const e of contents.entries) {
    parts.push(new Uint8Array([NAMESPACES.indexOf(e.namespace)]), u32(e.key.length), e.key, u32(e.value.length), e.value)
  }
  const payload = concat(...parts)
  const salt = crypto.randomBytes(16)
  const nonce = crypto.randomBytes(12)
  const header = concat(...[new Uint8Array([...MAGIC, VERSION, params.logN, params.r, params.p]), salt, nonce])
  const key = await derivePasswordKey(passphrase, salt, params)
  return concat(...[header, await crypto.aead.encrypt(key, nonce, payload, header)])
}

/** Decrypts and parses a backup; BackupError for a wrong passphrase or a damaged file. */
export async function decodeBackup (crypto: Crypto, bytes: Uint8Array, passphrase: string): Promise<BackupContents> {
  if (bytes.length < HEADER + 16 || MAGIC.some((b, i) => bytes[i] !== b)) throw new BackupError('not a Starling backup')
  if (bytes[4] !== VERSION) throw new BackupError(`backup version ${bytes[4]} is not supported`)
  const params: ScryptParams = { logN: bytes[5], r: bytes[6], p: bytes[7] }
  try {
    checkScryptParams(params)
  } catch (err) {
    throw new BackupError(`backup has bad KDF parameters: ${(err as Error).message}`)
  }
  const header = bytes.subarray(0, HEADER)
  const key = await derivePasswordKey(passphrase, bytes.subarray(8, 24), params)
  let payload: Uint8Array
  try {
    payload = await crypto.aead.decrypt(key, bytes.subarray(24, 36), bytes.subarray(HEADER), header)
  } catch {
    throw new BackupError('wrong passphrase, or the backup is damaged')
  }
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength)
  let at = 0
  const take = (n: number): Uint8Array => {
    if (at + n > payload.length) throw new BackupError('backup payload is truncated')
    const out = payload.subarray(at, at + n)
    at += n
    return out
  }
  const len = (): number => {
    take(4)
    return view.getUint32(at - 4)
  }
  const keyFile = take(len())
  const entries: BackupContents['entries'] = []
  while (at < payload.length) {
    const ns = NAMESPACES[take(1)[0]]
    if (ns == null) throw new BackupError('backup names an unknown namespace')
    const k = take(len())
    const v = take(len())
    entries.push({ namespace: ns, key: k, value: v })
  }
  return { keyFile, entries }
}

/** Writes a backup's entries into an (empty) store, in synced batches. */
export async function restoreBackup (store: Store, contents: BackupContents): Promise<number> {
  const BATCH = 1000
  for (let i = 0; i < contents.entries.length; i += BATCH) {
    await store.batch(contents.entries.slice(i, i + BATCH).map(e => ({ type: 'put' as const, namespace: e.namespace, key: e.key, value: e.value })), { sync: true })
  }
  return contents.entries.length
}

function u32 (n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}
