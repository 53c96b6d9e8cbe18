/**
 * The honest figures of a run with adversaries (adversaries-summary.ts)
 * from a run log the test writes: an adversary whose whole effect is that
 * honest sends fail before they are queued (DHT servers that hide records,
 * sybils claiming names) must show in a ratio of honest delivery, not only
 * in a count beside a delivery ratio of 100 %.
 */
import assert from 'node:assert/strict'
import { parseScenario } from './scenario.js'
import { buildSchedule } from './schedule.js'
import { RunLog } from './run-log.js'
import { adversaryFigures } from './adversaries-summary.js'
import { chooseAdversaries } from './adversaries.js'

describe('simulation: honest figures with adversaries', () => {
  it('honest sends that failed before being queued count against honest delivery', () => {
    const scenario = parseScenario({
      name: 'summary-adversaries',
      seed: 77,
      relays: 5,
      users: 15,
      workers: 1,
      durationSeconds: 120,
      settleSeconds: 60,
      churn: { share: 0 },
      workload: { messagesPerNodePerMinute: 4, contacts: 4, minBytes: 20, maxBytes: 300 },
      adversaries: { dhtServers: { share: 0.2 }, users: { share: 0.2, claimNames: true } }
    })
    const schedule = buildSchedule(scenario, 1)
    const run = new RunLog(scenario, schedule, 1)
    const sybils = chooseAdversaries(scenario).sybils
    const honest = schedule.messages.filter(m => !sybils.has(m.from) && !sybils.has(m.to))
    assert.ok(honest.length >= 20, `${honest.length} honest messages scheduled`)
    // The adversaries made every other honest send fail to resolve its contact; the others were queued and arrived.
    for (const [i, m] of honest.entries()) {
      if (i % 2 === 0) {
        run.record({ type: 'send-failed', seq: m.seq, wall: 1_000 + m.at, error: 'NoValidClaimError: no valid claim in the DHT' })
        continue
      }
      run.record({ type: 'sent', seq: m.seq, wall: 1_000 + m.at, id: `id${m.seq}` })
      run.record({ type: 'received', seq: m.seq, user: m.to, wall: 2_000 + m.at, via: 'direct' })
    }
    const figures = adversaryFigures(run)?.honest
    assert.ok(figures != null)
    const failed = Math.ceil(honest.length / 2)
    assert.equal(figures.sendFailed, failed)
    assert.equal(figures.deliveryRatio, 1, 'of the queued ones')
    assert.equal(figures.attempted, honest.length, 'honest messages attempted to users who came back')
    assert.equal(figures.endToEndRatio, (honest.length - failed) / honest.length, 'honest delivery counts the sends the adversaries made fail')
  })
})
