/**
 * Delivery that converges under crashes (test/e2e/chaos/chaos.ts): two
 * linked relays, three users, messages both ways between every pair, a
 * seeded schedule of SIGKILLs of daemons and relays (at times both relays
 * together) with restarts, then a bounded wait. The seed is random per run
 * and printed when the test fails; STARLING_CHAOS_SEED replays one.
 */
import assert from 'node:assert/strict'
import { FAST_DAEMON_ENV } from './harness.js'
import { runChaos } from './chaos/chaos.js'
import type { ChaosReport } from './chaos/chaos.js'

describe('e2e: chaos — every acknowledged message arrives exactly once while daemons and relays are killed', function () {
  this.timeout(420_000)
  const seed = process.env.STARLING_CHAOS_SEED != null ? Number(process.env.STARLING_CHAOS_SEED) : Math.floor(Math.random() * 2 ** 31)
  const lines: string[] = []
  let report: ChaosReport | undefined

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(`chaos seed ${seed} (replay with STARLING_CHAOS_SEED=${seed})\n${lines.join('\n')}\n${JSON.stringify(report, null, 2)}`)
  })

  it('converges: nothing lost, nothing twice, nothing invented, both sides agree, every sender shows delivered', async () => {
    report = await runChaos({
      seed,
      faultMs: 75_000,
      messagesPerPair: 15,
      killEveryMs: [3_000, 7_000],
      restartAfterMs: [1_000, 5_000],
      bothRelaysEvery: 6,
      convergenceTimeoutMs: 150_000,
      daemonEnv: FAST_DAEMON_ENV,
      log: (line) => { lines.push(line) }
    })
    assert.deepEqual(report.crashed, [], 'no process exited by itself')
    assert.ok(report.kills.daemons + report.kills.relays >= 8, `enough faults (${JSON.stringify(report.kills)})`)
    assert.ok(report.kills.bothRelaysDown >= 1, 'both relays were down together at least once')
    assert.ok(report.acknowledged >= 60, `most sends acknowledged (${report.acknowledged} of ${report.sent})`)
    assert.equal(report.lost, 0, 'acknowledged messages lost')
    assert.equal(report.duplicated, 0, 'messages stored twice')
    assert.equal(report.unexpected, 0, 'messages nobody sent')
    assert.equal(report.disagreeing, 0, 'conversations whose sides disagree')
    assert.equal(report.notShownDelivered, 0, 'acknowledged messages not shown delivered by their sender')
    assert.notEqual(report.convergenceSeconds, null, 'converged within the bound')
  })
})
