/**
 * Errors the CLI turns into one line on stderr and an exit code:
 * {@link UsageError} exits 2, everything else exits 1.
 */

/** The command line itself is wrong: unknown command, missing or invalid option. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** A config file cannot be read, or a field of it is not valid (exits 2, as a usage error). */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** The command was well formed but could not be carried out. */
export class CommandError extends Error {
  override readonly name = 'CommandError'
}

/** No daemon answers for this data directory. */
export class DaemonNotRunningError extends Error {
  override readonly name = 'DaemonNotRunningError'
}

/** An id the user typed is not hex, or too short to pick one message. */
export class InvalidMessageIdError extends Error {
  override readonly name = 'InvalidMessageIdError'
}

/** An id prefix the user typed matches more than one message. */
export class AmbiguousMessageIdError extends Error {
  override readonly name = 'AmbiguousMessageIdError'
}
