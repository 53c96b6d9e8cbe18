/**
 * `starling export` / `starling import`: an encrypted backup of the
 * identity, contacts, history and (by default) the files of attachments,
 * as one file written and read a piece at a time (src/messenger/backup-format.ts).
 */
import { createReadStream } from 'node:fs'
import { open, rm } from 'node:fs/promises'
import { join } from 'node:path'
import type { Crypto } from '../src/crypto/index.js'
import { decodeKeyFile, isEncryptedKeyFile } from '../src/identity/index.js'
import { openBackup } from '../src/messenger/backup-format.js'
import { restoreBackup } from '../src/messenger/backup.js'
import { CommandError } from './errors.js'
import { Files, createPrivateFile, makePrivate, readOptional } from './data-dir.js'
import { openUserBlobs, openUserStore } from './at-rest.js'

/** What an export wrote. */
export interface Exported {
  path: string
  entries: number
  /** Attachments whose files are in the backup. */
  files: number
  bytes: number
}

/**
 * Writes an encrypted backup (made by the running peer, StarlingPeer.backup)
 * to a new private file at `path`, piece by piece; a failed export removes
 * what it wrote.
 */
export async function exportBackup (backup: { pieces: AsyncIterable<Uint8Array>, entries: number, files: number }, path: string): Promise<Exported> {
  let fh
  try {
    fh = await open(path, 'wx', 0o600)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CommandError(`${path} already exists; refusing to overwrite it`)
    throw err
  }
  let bytes = 0
  try {
    for await (const piece of backup.pieces) {
      await fh.write(piece)
      bytes += piece.length
    }
    await fh.sync()
  } catch (err) {
    await fh.close()
    await rm(path, { force: true })
    throw err
  }
  await fh.close()
  return { path, entries: backup.entries, files: backup.files, bytes }
}

/**
 * Restores a backup into a data directory that has no identity yet: the
 * store, then the files, the key file last (a half-finished import leaves no
 * identity behind, so it can be run again). When the backup's key file is
 * encrypted, `identityPassphrase` (the identity's STARLING_PASSPHRASE) opens
 * it, and the restored store and files are written encrypted, as the daemon
 * will read them.
 */
export async function importBackup (crypto: Crypto, dataDir: string, path: string, passphrase: string, identityPassphrase?: string): Promise<{ entries: number, unsent: number, files: number }> {
  if (await readOptional(join(dataDir, Files.identity)) != null) {
    throw new CommandError(`an identity already exists in ${dataDir}; import into a new --data directory`)
  }
  const stream = createReadStream(path, { highWaterMark: 256 * 1024 })
  try {
    const opened = await openBackup(crypto, stream, passphrase).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new CommandError(`no such file: ${path}`)
      throw err
    })
    const contents = opened.contents
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
    const files = await opened.restoreFiles(await openUserBlobs(crypto, dataDir, secret))
    await createPrivateFile(join(dataDir, Files.identity), contents.keyFile)
    return { entries, unsent: contents.unsent.length, files }
  } finally {
    stream.destroy()
  }
}
