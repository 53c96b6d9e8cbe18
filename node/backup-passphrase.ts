/**
 * The rule for backup passphrases, apart from the backup code so that the
 * CLI checks it without loading the backup format at every start.
 */

/**
 * Shortest backup passphrase taken, in characters: a backup file may be
 * copied anywhere, and scrypt only slows guessing down; 12 characters
 * (e.g. three common words) leave no short passphrase to guess first.
 */
export const MIN_BACKUP_PASSPHRASE = 12

/** Why a backup passphrase is refused, or undefined when it is long enough. */
export function weakBackupPassphrase (passphrase: string): string | undefined {
  const n = [...passphrase].length
  if (n >= MIN_BACKUP_PASSPHRASE) return undefined
  return `the backup passphrase has ${n} characters; use at least ${MIN_BACKUP_PASSPHRASE} (a few words): the backup file can be copied anywhere and guessed at offline`
}
