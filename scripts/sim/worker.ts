/**
 * A simulation worker process, forked by scripts/sim/coordinator.ts: runs
 * its share of relays and users (test/sim/engine.ts) and talks to the
 * coordinator over the IPC channel. Exits when told to stop, or when the
 * coordinator goes away.
 */
import { WorkerEngine } from '../../test/sim/engine.js'
import type { FromWorker, ToWorker } from '../../test/sim/protocol.js'

const send = (msg: FromWorker): void => {
  if (process.connected) process.send?.(msg)
}
const engine = new WorkerEngine(send)
let queue: Promise<void> = Promise.resolve()

process.on('message', (msg: ToWorker) => {
  // One message at a time, in order: each phase finishes before the next starts.
  queue = queue.then(async () => {
    await engine.handle(msg)
    if (msg.type === 'stop') process.disconnect()
  }).catch((err: Error) => {
    // The reason reaches the coordinator before the exit (it names it in the run's error): a send is not flushed at exit.
    const exit = (): never => process.exit(1)
    setTimeout(exit, 2_000).unref()
    if (process.connected && process.send != null) process.send({ type: 'log', worker: -1, line: `worker failed: ${err.stack ?? err.message}` } satisfies FromWorker, exit)
    else exit()
  })
})
// A rejection nobody handled ends a Node process, and with it every node of
// the worker: one bug (a node's, libp2p's) would end the run. Each is
// counted and its first ones logged (the summary's faults), and the run goes on.
process.on('unhandledRejection', (reason) => { engine.unhandledRejection(reason) })
process.on('disconnect', () => {
  // The coordinator is gone (or done): nothing is left to report to.
  setTimeout(() => process.exit(0), 2_000).unref()
})
