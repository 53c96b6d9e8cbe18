/**
 * Writing a received attachment out under its own name: the name a peer
 * chose is hostile input, so it is reduced to a plain file name (no
 * directories, no leading dots, no control or bidi characters, at most
 * {@link MAX_NAME_BYTES} bytes) and never overwrites a file: `photo.jpg`,
 * then `photo (1).jpg`, `photo (2).jpg`, ... The files the daemon writes
 * out on its own are listed, so that turning encryption at rest on takes
 * the plaintext copies inside the data directory back.
 */
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { rm } from 'node:fs/promises'
import { basename, extname, join, relative } from 'node:path'
import { ensureDir, readOptional, writePrivateFile } from '../data-dir.js'

/** Longest file name written, in UTF-8 bytes (file systems allow 255). */
export const MAX_NAME_BYTES = 200
/** How many `name (n).ext` variants are tried before giving up. */
export const MAX_DUPLICATES = 1000
/** The downloads folder inside a data directory, when the user names none. */
export const DOWNLOADS_DIR = 'downloads'

// C0/C1 controls, DEL, bidi and other invisible format characters, path separators, and what Windows refuses.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff/\\:*?"<>|]/g

/** A file name safe to create from what a peer called the file. */
export function safeFileName (name: string): string {
  let s = basename(name.replaceAll('\\', '/')).replace(UNSAFE, '_').trim().replace(/^\.+/, '')
  while (new TextEncoder().encode(s).length > MAX_NAME_BYTES) {
    const ext = extname(s)
    const stem = s.slice(0, s.length - ext.length)
    s = ext.length > 0 && ext.length < 20 && stem.length > 1 ? [...stem].slice(0, -1).join('') + ext : [...s].slice(0, -1).join('')
  }
  return s === '' ? 'attachment' : s
}

/**
 * Writes a file into `dir` (created private if missing) under `name` made
 * safe, or the first free `name (n).ext`; `write` must create the file with
 * the `wx` flag (throwing EEXIST when it exists). Resolves with the path.
 */
export async function saveUnderName (dir: string, name: string, write: (path: string) => Promise<void>): Promise<string> {
  await ensureDir(dir)
  const safe = safeFileName(name)
  const ext = extname(safe)
  const stem = safe.slice(0, safe.length - ext.length)
  for (let n = 0; n < MAX_DUPLICATES; n++) {
    const path = join(dir, n === 0 ? safe : `${stem} (${n})${ext}`)
    try {
      await write(path)
      return path
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    }
  }
  throw new Error(`${MAX_DUPLICATES} files named like ${safe} already exist in ${dir}`)
}

/** The list of files the daemon wrote out on its own (in the data directory). */
export const AUTO_SAVED_FILE = 'downloads.json'

interface AutoSaved { path: string, sha256: string }

async function sha256Of (path: string): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer)
  return hash.digest('hex')
}

async function readAutoSaved (dataDir: string): Promise<AutoSaved[]> {
  const raw = await readOptional(join(dataDir, AUTO_SAVED_FILE))
  if (raw == null) return []
  try {
    const list = JSON.parse(raw.toString('utf8')) as unknown
    return Array.isArray(list) ? list.filter((e): e is AutoSaved => typeof e?.path === 'string' && typeof e?.sha256 === 'string') : []
  } catch {
    return []
  }
}

/**
 * Remembers the files the daemon wrote out by itself (path and SHA-256), one
 * write at a time, so that they can be taken back when the user turns
 * encryption at rest on.
 */
export class AutoSavedFiles {
  private queue: Promise<void> = Promise.resolve()
  constructor (private readonly dataDir: string) {}

  /** Records `path` as written by the daemon, as it is now. */
  async add (path: string): Promise<void> {
    const task = this.queue.then(async () => {
      const list = await readAutoSaved(this.dataDir)
      list.push({ path, sha256: await sha256Of(path) })
      await writePrivateFile(join(this.dataDir, AUTO_SAVED_FILE), JSON.stringify(list))
    })
    this.queue = task.catch(() => {})
    await task
  }

  /**
   * Encryption at rest is on: removes the plaintext copies the daemon made
   * inside the data directory (the encrypted store still holds each one;
   * `starling attachment ID save` writes it out again). A file the user
   * changed, or one outside the data directory, is left alone. Resolves
   * with how many were removed.
   */
  async takeBack (): Promise<number> {
    let removed = 0
    const kept: AutoSaved[] = []
    for (const e of await readAutoSaved(this.dataDir)) {
      const inside = !relative(this.dataDir, e.path).startsWith('..')
      try {
        if (inside && await sha256Of(e.path) === e.sha256) {
          await rm(e.path)
          removed++
          continue
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue
        throw err
      }
      if (!inside) kept.push(e)
    }
    await writePrivateFile(join(this.dataDir, AUTO_SAVED_FILE), JSON.stringify(kept))
    return removed
  }
}
