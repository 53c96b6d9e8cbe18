/**
 * `BENCH_CALL_PROFILE=DIR` for the browser part of `npm run bench:call`: a
 * CPU profile of each tab's page thread over its direct calls (Chrome
 * DevTools protocol, sampled every 100 µs), written as DIR/<party>.cpuprofile
 * (open it in DevTools' Performance panel), and DIR/marks.json with each
 * call's marks on both tabs (ms since the epoch, as `BENCH_CALL_TRACE`
 * prints them) and, per tab, the epoch time at which a function named
 * `starlingProfileSync` started spinning (5 ms): its first sample ties the
 * profile's clock to the marks'. Profiling slows the tabs: its figures are
 * for finding where time goes, not for the benchmark.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { CDPSession } from 'playwright-core'
import type { Party } from '../test/browser/calls.js'

/** Marks of one call, both tabs, `[name, epoch ms]`. */
export interface CallMarks { caller: string, marks: Array<[string, number]> }

/** Profiles of two tabs over a run of calls. */
export class CallProfiler {
  private readonly calls: CallMarks[] = []

  private constructor (private readonly dir: string, private readonly sessions: Array<{ party: Party, cdp: CDPSession, sync: number }>) {}

  /** Starts profiling both tabs' page threads. */
  static async start (dir: string, parties: Party[]): Promise<CallProfiler> {
    const sessions = []
    for (const party of parties) {
      const cdp = await party.page.context().newCDPSession(party.page)
      await cdp.send('Profiler.enable')
      await cdp.send('Profiler.setSamplingInterval', { interval: 100 })
      await cdp.send('Profiler.start')
      // Evaluated as text: a named function the bundler of this script would rename or wrap.
      const sync = await party.page.evaluate('(function () { var t = performance.timeOrigin + performance.now(); function starlingProfileSync () { var end = performance.now() + 5; while (performance.now() < end) {} } starlingProfileSync(); return t })()') as number
      sessions.push({ party, cdp, sync })
    }
    return new CallProfiler(dir, sessions)
  }

  /** One call's marks, from both tabs. */
  add (call: CallMarks): void {
    this.calls.push(call)
  }

  /** Stops profiling and writes the profiles and the marks. */
  async stop (): Promise<void> {
    const syncs: Record<string, number> = {}
    for (const { party, cdp, sync } of this.sessions) {
      const { profile } = await cdp.send('Profiler.stop')
      await writeFile(join(this.dir, `${party.name}.cpuprofile`), JSON.stringify(profile))
      await cdp.detach()
      syncs[party.name] = sync
    }
    await writeFile(join(this.dir, 'marks.json'), JSON.stringify({ syncs, calls: this.calls }))
  }
}
