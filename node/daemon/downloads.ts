/**
 * Writing a received attachment out under its own name: the name a peer
 * chose is hostile input, so it is reduced to a plain file name (no
 * directories, no leading dots, no control or bidi characters, at most
 * {@link MAX_NAME_BYTES} bytes) and never overwrites a file: `photo.jpg`,
 * then `photo (1).jpg`, `photo (2).jpg`, ...
 */
import { basename, extname, join } from 'node:path'
import { ensureDir } from '../data-dir.js'

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
