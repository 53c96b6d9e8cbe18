/**
 * `starling export` / `starling import`: an encrypted backup of the
 * identity, contacts and history as one file.
 */
import { join } from 'node:path'
import type { Crypto } from '../src/crypto/index.js'
import { decodeKeyFile, isEncryptedKeyFile } from '../src/identity/index.js'
import { decodeBackup, restoreBackup } from '../src/messenger/backup.js'
import { CommandError } from './errors.js'
import { Files, createPrivateFile, makePrivate, readOptional } from './data-dir.js'
import { openUserStore } from './at-rest.js'

/** Writes an encrypted backup (made by the running peer, StarlingPeer.backup) to a new file at `path`. */
export async function exportBackup (backup: { bytes: Uint8Array, entries: number }, path: string): Promise<{ path: string, entries: number, bytes: number }> {
  try {
    await createPrivateFile(path, backup.bytes)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CommandError(`${path} already exists; refusing to overwrite it`)
    throw err
  }
  return { path, entries: backup.entries, bytes: backup.bytes.length }
}

/**
 * Restores a backup into a data directory that has no identity yet. When
 * the backup's key file is encrypted, `identityPassphrase` (the identity's
 * STARLING_PASSPHRASE) opens it, and the restored store is written
 * encrypted, as the daemon will read it.
 */
export async function importBackup (crypto: Crypto, dataDir: string, path: string, passphrase: string, identityPassphrase?: string): Promise<{ entries: number, unsent: number }> {
  if (await readOptional(join(dataDir, Files.identity)) != null) {
    throw new CommandError(`an identity already exists in ${dataDir}; import into a new --data directory`)
  }
  const file = await readOptional(path)
  if (file == null) throw new CommandError(`no such file: ${path}`)
  const contents = await decodeBackup(crypto, file, passphrase)
  let secret: Uint8Array | undefined
  if (isEncryptedKeyFile(contents.keyFile)) {
    if (identityPassphrase == null) throw new CommandError("the backup's identity is protected by a passphrase: set STARLING_PASSPHRASE to it, so that the restored messages are stored encrypted too")
    secret = (await decodeKeyFile(crypto, contents.keyFile, { passphrase: identityPassphrase })).deviceIdentitySecretKey
  }
  await makePrivate(dataDir)
  const store = await openUserStore(crypto, dataDir, secret)
  let entries: number
  try {
    entries = await restoreBackup(store, contents)
  } finally {
    await store.close()
  }
  // The key file last: a half-finished import leaves no identity behind, so it can be run again.
  await createPrivateFile(join(dataDir, Files.identity), contents.keyFile)
  return { entries, unsent: contents.unsent.length }
}
