/**
 * Adding known contacts at warm-up (test/sim/contacts.ts) ends at its
 * deadline: the contacts not added by then (a resolution still under way,
 * or never tried) count as not added, the phase reports, and the run goes
 * on. Without it, one resolution that never ended held the phase (and the
 * run) for good. A worker of three users with stand-in peers: one contact
 * resolves, one fails every try, one never answers; fake timers, so the
 * deadline and the retry pauses pass when the test moves the clock.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { NODE_STOP_TIMEOUT_MS } from './engine.js'
import type { FromWorker } from './protocol.js'
import { standInPeer, standInWorker } from './stand-in-worker.js'

type ContactsAdded = Extract<FromWorker, { type: 'contacts-added' }>

function reportOf (sent: FromWorker[]): ContactsAdded | undefined {
  return sent.find((m): m is ContactsAdded => m.type === 'contacts-added')
}

describe('simulation: adding known contacts at warm-up', function () {
  this.timeout(30_000)
  let clock: FakeTimers.Clock | undefined
  afterEach(() => {
    clock?.uninstall()
    clock = undefined
  })

  /** Runs the phase with the deadline given (seconds, or the default), moving the clock to just before and just after it. */
  async function run (deadlineSeconds: number | undefined, expectedMs: number): Promise<{ report: ContactsAdded, tries: number[], sent: FromWorker[] }> {
    clock = FakeTimers.install({ now: Date.now(), toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    const workload = { knownContacts: true, ...(deadlineSeconds != null ? { contactsDeadlineSeconds: deadlineSeconds } : {}) }
    const { engine, sent, users, schedule } = await standInWorker({}, workload)
    const tries = [0, 0, 0]
    const stop = async (): Promise<void> => {}
    standInPeer(users[0], { stop, messenger: { recipient: async () => { tries[0]++; return {} } } })
    standInPeer(users[1], {
      stop,
      messenger: {
        recipient: async () => {
          tries[1]++
          const err = new Error('no valid claim in the DHT')
          err.name = 'UnknownHandleError'
          throw err
        }
      }
    })
    standInPeer(users[2], { stop, messenger: { recipient: async () => { tries[2]++; await new Promise(() => {}) } } })

    const phase = engine.handle({ type: 'add-contacts', users: schedule.users.map(u => ({ handle: `user${u.index}~tag`, peerId: `peer-${u.index}` })) })
    await clock.tickAsync(expectedMs - 1_000)
    assert.equal(reportOf(sent), undefined, 'the phase reported before its deadline')
    await clock.tickAsync(2_000)
    const report = reportOf(sent)
    assert.ok(report != null, `no report ${expectedMs / 1000} s in: the phase waits for a resolution that never ends`)
    await phase

    // The run goes on; at its end the resolution still under way is counted as a step that never ended.
    const stopping = engine.handle({ type: 'stop' })
    await clock.tickAsync(3 * NODE_STOP_TIMEOUT_MS)
    await stopping
    return { report, tries, sent }
  }

  it('the scenario\'s deadline: the contact still resolving counts as not added (cut off), the one out of tries as not added', async () => {
    const { report, tries, sent } = await run(60, 60_000)
    assert.deepEqual({ added: report.added, failed: report.failed, cutOff: report.cutOff }, { added: 1, failed: 2, cutOff: 1 })
    // Five tries, 2 + 4 + 8 + 16 s apart: over within the 60 s.
    assert.deepEqual(tries, [1, 5, 1])
    assert.equal(sent.filter(m => m.type === 'resolved' && !m.ok).length, 5, 'every failed try is reported')
    const faults = sent.find(m => m.type === 'faults')
    assert.equal(faults?.type === 'faults' ? faults.counts.stepsUnfinished : undefined, 1)
  })

  it('a deadline shorter than the retries cuts off the contact between its tries too', async () => {
    const { report, tries } = await run(10, 10_000)
    assert.deepEqual({ added: report.added, failed: report.failed, cutOff: report.cutOff }, { added: 1, failed: 2, cutOff: 2 })
    // Tries at 0, 2 and 6 s; the next would come at 14 s.
    assert.deepEqual(tries, [1, 3, 1])
  })

  it('without one in the scenario: 1 s per contact the worker adds, at least 300 s', async () => {
    const { report } = await run(undefined, 300_000)
    assert.deepEqual({ added: report.added, failed: report.failed, cutOff: report.cutOff }, { added: 1, failed: 2, cutOff: 1 })
  })
})
