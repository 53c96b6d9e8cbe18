/**
 * The run summary's delivery figures from a run log the test writes: a send
 * that failed before being queued is a message its recipient never got, so
 * it counts against the end-to-end ratio (the delivery ratio only sees
 * queued messages); contacts added at warm-up are reported with their tries.
 */
import assert from 'node:assert/strict'
import { parseScenario } from './scenario.js'
import { buildSchedule } from './schedule.js'
import { RunLog } from './run-log.js'
import { summarise } from './summary.js'

describe('simulation: the summary', () => {
  it('counts failed sends to returning recipients in the end-to-end ratio, and reports contacts added at warm-up', () => {
    const scenario = parseScenario({
      name: 'summary-end-to-end',
      seed: 78,
      relays: 3,
      users: 10,
      workers: 1,
      durationSeconds: 120,
      settleSeconds: 60,
      churn: { share: 0 },
      workload: { messagesPerNodePerMinute: 4, contacts: 3, minBytes: 20, maxBytes: 300, knownContacts: true }
    })
    const schedule = buildSchedule(scenario, 1)
    const run = new RunLog(scenario, schedule, 1)
    run.start(1_000, 500, 0.5)
    run.record({ type: 'resolved', user: 0, contact: 1, ms: 40, ok: false, attempt: 1 })
    run.record({ type: 'resolved', user: 0, contact: 1, ms: 30, ok: true, attempt: 2 })
    run.record({ type: 'contacts-added', worker: 0, added: 27, failed: 3, cutOff: 2 })
    const messages = schedule.messages
    assert.ok(messages.length >= 20, `${messages.length} messages scheduled`)
    // One in four sends failed before being queued; the rest were queued and arrived once.
    for (const m of messages) {
      if (m.seq % 4 === 0) {
        run.record({ type: 'send-failed', seq: m.seq, wall: 1_000 + m.at, error: 'UnknownHandleError: no valid claim in the DHT' })
        continue
      }
      run.record({ type: 'sent', seq: m.seq, wall: 1_000 + m.at, id: `id${m.seq}` })
      run.record({ type: 'received', seq: m.seq, user: m.to, wall: 1_100 + m.at, via: 'direct' })
    }
    run.record({ type: 'stats', stats: { worker: 0, t: 200_000, bytes: 1_000, rssBytes: 2 ** 30, heapBytes: 2 ** 29, cpuMs: 10_000, lagP50: 1, lagP99: 5, lagMax: 9, usersOnline: 10, relaysUp: 3, nodes: 13 } })
    const s = summarise(run, 200)
    const failed = messages.filter(m => m.seq % 4 === 0).length
    assert.equal(s.messages.sendFailed, failed)
    assert.equal(s.messages.deliveryRatio, 1, 'of the queued ones')
    assert.equal(s.messages.endToEndRatio, (messages.length - failed) / messages.length, 'of every message meant for a returning recipient')
    assert.deepEqual(s.contacts, { added: 27, failed: 3, cutOff: 2, seconds: 0 })
    assert.equal(s.resolutionMs.failed, 1, 'a failed try counts')
    assert.equal(s.resolutionMs.count, 1)
  })

  it('leaves contacts out when the first message to a contact resolves it', () => {
    const scenario = parseScenario({ name: 'summary-first-contact', seed: 79, relays: 3, users: 10, workers: 1, durationSeconds: 60, churn: { share: 0 } })
    const run = new RunLog(scenario, buildSchedule(scenario, 1), 1)
    run.start(1_000, 500, 0.5)
    run.record({ type: 'stats', stats: { worker: 0, t: 70_000, bytes: 0, rssBytes: 2 ** 30, heapBytes: 2 ** 29, cpuMs: 1_000, lagP50: 1, lagP99: 5, lagMax: 9, usersOnline: 10, relaysUp: 3, nodes: 13 } })
    const s = summarise(run, 70)
    assert.equal(s.contacts, undefined)
    assert.equal(s.messages.endToEndRatio, 1, 'nothing attempted')
  })
})
