/**
 * Stopping a worker's nodes at the end of a run, each within a bound. A
 * node whose stop fails, or does not end within the bound, is counted (the
 * summary's faults) and the run ends anyway: a hung node is left behind,
 * and the worker process exits once it has reported (scripts/sim/worker.ts).
 */

/** Nodes whose stop failed, and nodes whose stop had not ended within the bound. */
export interface StopFaults {
  nodeStopErrors: number
  nodeStopsTimedOut: number
}

/** A node to stop, by name (for the log). */
export interface Stoppable {
  name: string
  stop: () => Promise<void>
}

/**
 * Stops `nodes` at once, each given at most `timeoutMs` (wall ms); `onFault`
 * hears each failure and each timeout.
 */
export async function stopNodes (nodes: Stoppable[], timeoutMs: number, onFault: (name: string, error: Error | 'timed out') => void): Promise<StopFaults> {
  const faults: StopFaults = { nodeStopErrors: 0, nodeStopsTimedOut: 0 }
  await Promise.all(nodes.map(async node => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const hung = new Promise<'hung'>(resolve => { timer = setTimeout(() => { resolve('hung') }, timeoutMs) })
    try {
      // A stop that fails after its bound is still handled by the race: no rejection is left unhandled.
      if (await Promise.race([node.stop().then(() => 'stopped' as const), hung]) === 'hung') {
        faults.nodeStopsTimedOut++
        onFault(node.name, 'timed out')
      }
    } catch (err) {
      faults.nodeStopErrors++
      onFault(node.name, err instanceof Error ? err : new Error(String(err)))
    } finally {
      clearTimeout(timer)
    }
  }))
  return faults
}

/** Waits until every one of `steps` has settled, or `timeoutMs` (wall ms) has passed; returns how many had not. */
export async function settleWithin (steps: Array<Promise<unknown>>, timeoutMs: number): Promise<number> {
  let settled = 0
  const all = Promise.all(steps.map(async p => { await p.then(() => {}, () => {}); settled++ }))
  let timer: ReturnType<typeof setTimeout> | undefined
  await Promise.race([all, new Promise(resolve => { timer = setTimeout(resolve, timeoutMs) })])
  clearTimeout(timer)
  return steps.length - settled
}
