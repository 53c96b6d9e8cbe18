/**
 * Which identity a command acts as. Hints the CLI prints name the `--data`
 * they need, unless that directory is what a bare command would use anyway
 * (the default profile, `$STARLING_DATA`, or `~/.starling`).
 */
import { userDataDir } from '../data-dir.js'

/** ` --data DIR` when a command without it would act as someone else; else nothing. */
export function dataFlag (dir: string): string {
  return userDataDir() === dir ? '' : ` --data ${quote(dir)}`
}

/** A path as a shell reads it back (quoted when it holds anything but plain characters). */
export function quote (path: string): string {
  return /^[\w@%+=:,./~-]+$/.test(path) ? path : `'${path.replaceAll("'", "'\\''")}'`
}
