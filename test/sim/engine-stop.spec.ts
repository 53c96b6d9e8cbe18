/**
 * A simulation worker (test/sim/engine.ts) reports its fault counts only
 * once its nodes have stopped, so that what goes wrong while they stop is
 * counted: a stop that fails, a rejection nobody handled raised by a
 * stopping node, and a node that never stops, which is given a bound and
 * cannot hang the run. A worker of three users with stand-in peers (no
 * libp2p: only their stop matters here); the worker's process hands every
 * unhandled rejection to the engine (scripts/sim/worker.ts), and so does
 * this test while it runs.
 */
import assert from 'node:assert/strict'
import type { WorkerEngine } from './engine.js'
import type { SimUser } from './nodes.js'
import type { FromWorker } from './protocol.js'
import { standInPeer, standInWorker as worker } from './stand-in-worker.js'

/** Gives `user` a running peer whose stop does `stop`. */
function running (user: SimUser, stop: () => Promise<void>): void {
  standInPeer(user, { stop })
}

function faultsOf (sent: FromWorker[]): Record<string, number> {
  const faults = sent.filter(m => m.type === 'faults')
  assert.equal(faults.length, 1)
  return faults[0].counts
}

describe('simulation: a worker\'s fault counts at the end of a run', function () {
  this.timeout(30_000)
  let saved: NodeJS.UnhandledRejectionListener[] = []
  afterEach(() => {
    process.removeAllListeners('unhandledRejection')
    for (const l of saved) process.on('unhandledRejection', l)
    saved = []
  })

  /** As scripts/sim/worker.ts does: every rejection nobody handled goes to the engine. */
  function countRejections (engine: WorkerEngine): void {
    saved = process.listeners('unhandledRejection')
    process.removeAllListeners('unhandledRejection')
    process.on('unhandledRejection', (reason) => { engine.unhandledRejection(reason) })
  }

  it('counts the stops that fail and the rejections raised while nodes stop, reported after they stopped', async () => {
    const { engine, sent, users } = await worker()
    countRejections(engine)
    const stopped: string[] = []
    running(users[0], async () => {
      // A node's own promise that rejects as it stops, with nobody listening.
      void Promise.reject(new Error('a request of the node rejected as it stopped'))
      stopped.push('user 0')
    })
    running(users[1], async () => {
      stopped.push('user 1')
      throw new Error('the store would not close')
    })
    running(users[2], async () => {
      await new Promise(resolve => setTimeout(resolve, 20))
      void Promise.reject(new Error('a timer of the node fired after its stop'))
      stopped.push('user 2')
    })
    await engine.handle({ type: 'stop' })

    const types = sent.map(m => m.type)
    assert.ok(types.indexOf('faults') < types.indexOf('stopped'), types.join(', '))
    assert.equal(stopped.length, 3)
    const faults = faultsOf(sent)
    assert.equal(faults.unhandledRejections, 2, `faults: ${JSON.stringify(faults)}`)
    assert.equal(faults.nodeStopErrors, 1, `faults: ${JSON.stringify(faults)}`)
    assert.equal(faults.nodeStopsTimedOut, 0)
    assert.ok(sent.some(m => m.type === 'log' && m.line.includes('the store would not close')), 'the failed stop was not logged')
  })

  it('a node that never stops is counted and does not hang the run', async () => {
    const { engine, sent, users } = await worker({ nodeStopTimeoutMs: 50 })
    running(users[0], async () => { await new Promise(() => {}) })
    running(users[1], async () => {})
    // A scheduled step still under way: a churning user's start that never ends.
    ;(engine as unknown as { pending: Set<Promise<unknown>> }).pending.add(new Promise(() => {}))
    await engine.handle({ type: 'stop' })

    assert.equal(sent.at(-1)?.type, 'stopped')
    const faults = faultsOf(sent)
    assert.equal(faults.nodeStopsTimedOut, 1, `faults: ${JSON.stringify(faults)}`)
    assert.equal(faults.nodeStopErrors, 0)
    assert.equal(faults.stepsUnfinished, 1)
  })
})
