/**
 * Where a node keeps its files, and how they are written: every secret is
 * written to a temporary file with mode 0600, synced, then renamed, so a
 * crash never leaves a half-written key. A data directory and everything in
 * it belong to the user alone (0700 for directories, 0600 for files):
 * {@link makePrivate} tightens a directory that already exists, and sets
 * the process's umask so that what LevelDB and the blob store create later
 * is private too.
 */
import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { mkdir, open, rename, readFile, readdir, unlink, chmod, lstat } from 'node:fs/promises'

/**
 * The user's data directory: `--data`, else `$STARLING_DATA`, else the
 * default profile chosen with `starling use DIR`, else `~/.starling`.
 */
export function userDataDir (flag?: string): string {
  return dataDirSource(flag).dir
}

/** Where the data directory comes from, for messages that say so. */
export type DataDirSource = 'flag' | 'env' | 'profile' | 'default'

/** The user's data directory and which of the four places named it. */
export function dataDirSource (flag?: string): { dir: string, source: DataDirSource } {
  if (flag != null) return { dir: resolve(flag), source: 'flag' }
  const env = process.env.STARLING_DATA
  if (env != null && env !== '') return { dir: resolve(env), source: 'env' }
  const profile = readProfile()
  if (profile != null) return { dir: profile, source: 'profile' }
  return { dir: join(homedir(), '.starling'), source: 'default' }
}

/**
 * The file that names the default profile (`starling use DIR`):
 * `$STARLING_CONFIG`, else `$XDG_CONFIG_HOME/starling/profile`, else
 * `~/.config/starling/profile`. One line: the data directory's absolute path.
 */
export function profileFile (): string {
  const explicit = process.env.STARLING_CONFIG
  if (explicit != null && explicit !== '') return resolve(explicit)
  const xdg = process.env.XDG_CONFIG_HOME
  return join(xdg != null && xdg !== '' ? resolve(xdg) : join(homedir(), '.config'), 'starling', 'profile')
}

/** The default profile's data directory, if one was chosen (read synchronously: it is one short line). */
export function readProfile (): string | undefined {
  let text: string
  try {
    text = readFileSync(profileFile(), 'utf8').trim()
  } catch {
    return undefined
  }
  return text !== '' ? resolve(text) : undefined
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
  /** A relay's WebRTC-direct certificates and keys (src/net/webrtc-direct/stored.ts). */
  webRTCDirectCertificates: 'webrtc-direct.json',
  datastore: 'datastore',
  store: 'store',
  attachments: 'attachments'
} as const

/** Mode of a data directory. */
export const PRIVATE_DIR_MODE = 0o700
/** The umask of a process that writes a data directory: nothing for group or others. */
export const PRIVATE_UMASK = 0o077

/** Creates the directory (mode 0700) if needed, and sets it to 0700 if it exists. */
export async function ensureDir (dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  await chmod(dir, PRIVATE_DIR_MODE)
}

/**
 * Makes a data directory private to the user: creates it (0700) if needed,
 * takes every permission of group and others away from it and everything
 * under it (so directories become 0700 and files 0600; the owner's own bits
 * are never widened; symbolic links are left alone and not followed), and
 * sets the process umask to 077, so that files LevelDB and the blob store
 * create from now on are private too. Resolves with how many modes it changed.
 */
export async function makePrivate (dir: string): Promise<number> {
  process.umask(PRIVATE_UMASK)
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE })
  return await tighten(dir)
}

async function tighten (path: string): Promise<number> {
  const info = await lstat(path)
  if (info.isSymbolicLink()) return 0
  let changed = 0
  if ((info.mode & PRIVATE_UMASK) !== 0) {
    await chmod(path, info.mode & 0o777 & ~PRIVATE_UMASK)
    changed++
  }
  if (!info.isDirectory()) return changed
  for (const name of await readdir(path)) changed += await tighten(join(path, name))
  return changed
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
