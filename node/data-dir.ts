/**
 * Where a node keeps its files, and how they are written: every secret is
 * written to a temporary file with mode 0600, synced, then renamed, so a
 * crash never leaves a half-written key.
 */
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { mkdir, open, rename, readFile, unlink, chmod } from 'node:fs/promises'

/** The user's data directory: `--data`, else `$STARLING_DATA`, else `~/.starling`. */
export function userDataDir (flag?: string): string {
  return resolve(flag ?? process.env.STARLING_DATA ?? join(homedir(), '.starling'))
}

/** The relay's data directory: `--data`, else `$STARLING_RELAY_DATA`, else `~/.starling-relay`. */
export function relayDataDir (flag?: string): string {
  return resolve(flag ?? process.env.STARLING_RELAY_DATA ?? join(homedir(), '.starling-relay'))
}

/** File names inside a data directory. */
export const Files = {
  identity: 'identity.key',
  api: 'api.json',
  relayKey: 'relay.key',
  datastore: 'datastore',
  store: 'store',
  attachments: 'attachments'
} as const

/** Creates the directory (mode 0700) if needed. */
export async function ensureDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 })
}

/** Writes a file readable only by the user, atomically (temp + fsync + rename). */
export async function writePrivateFile (path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`
  const fh = await open(tmp, 'w', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  await chmod(tmp, 0o600)
  await rename(tmp, path)
}

/** Creates a file that must not exist yet (mode 0600); throws EEXIST otherwise. */
export async function createPrivateFile (path: string, data: Uint8Array | string): Promise<void> {
  const fh = await open(path, 'wx', 0o600)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
}

/** Reads a file, or returns undefined when it does not exist. */
export async function readOptional (path: string): Promise<Buffer | undefined> {
  try {
    return await readFile(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

/** Removes a file if it exists. */
export async function removeIfExists (path: string): Promise<void> {
  try {
    await unlink(path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
}
