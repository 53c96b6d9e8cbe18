/**
 * Errors the CLI turns into one line on stderr and an exit code:
 * {@link UsageError} exits 2, everything else exits 1.
 */

/** The command line itself is wrong: unknown command, missing or invalid option. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** The command was well formed but could not be carried out. */
export class CommandError extends Error {
  override readonly name = 'CommandError'
}

/** No daemon answers for this data directory. */
export class DaemonNotRunningError extends Error {
  override readonly name = 'DaemonNotRunningError'
}
