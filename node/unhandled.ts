/**
 * A rejection nobody handled ends a Node process by default. For a daemon
 * or a relay that others depend on, that turns any such bug (ours or a
 * library's) into a way for a peer to stop the node: a relay that stalled
 * mailbox deletes did exactly that to daemons (src/messenger/mailboxes.ts).
 * Long-running commands log each one as an internal error and go on; a
 * bound on the lines written keeps a flood of them from filling the log.
 */

/** What each line says: the e2e harness counts a process that wrote it as crashed (it would have been, without the guard). */
export const KEPT_RUNNING = 'internal error, kept running'

/** Lines written at most; later ones are only counted. */
export const MAX_UNHANDLED_LOGGED = 100

/** Counts and logs rejections nobody handled from now on; returns how to read the count and to stop. */
export function keepRunningOnUnhandledRejection (write: (line: string) => void): { count: () => number, stop: () => void } {
  let n = 0
  const onRejection = (reason: unknown): void => {
    n++
    if (n > MAX_UNHANDLED_LOGGED) return
    const what = reason instanceof Error ? reason.stack ?? `${reason.name}: ${reason.message}` : String(reason)
    write(`starling: ${KEPT_RUNNING} (unhandled rejection ${n}${n === MAX_UNHANDLED_LOGGED ? ', the last one logged' : ''}): ${what}`)
  }
  process.on('unhandledRejection', onRejection)
  return { count: () => n, stop: () => { process.off('unhandledRejection', onRejection) } }
}
