/**
 * Costly steps that any peer can start at will (answering a first message
 * runs PQXDH: ~1-2 ms of CPU here), run one at a time, each starting in an
 * event-loop task of its own. Received concurrently (a mailbox page, a
 * direct stream), twenty first messages would otherwise all run in one turn
 * of the loop and hold it for tens of milliseconds; queued here, timers and
 * I/O get a turn between any two of them. The total work is the same.
 */

/** Lets the other tasks of this turn, then timers and I/O, run first (web-standard). */
async function nextTask (): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, 0))
}

/** A queue of async steps run one after another. */
export class SerialTasks {
  private tail: Promise<unknown> = Promise.resolve()

  /** Runs `fn` after every step queued before it, in a task of its own; resolves or rejects as `fn` does. */
  async run<T> (fn: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(async () => {
      await nextTask()
      return await fn()
    })
    // A failed step does not stop the ones queued after it.
    this.tail = turn.catch(() => {})
    return await turn
  }
}
