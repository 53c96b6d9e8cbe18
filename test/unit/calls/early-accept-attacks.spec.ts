/**
 * Attacks on the early accept (src/calls/session.ts): a callee whose answer
 * was made while it rang sends the accept (answer and held candidates) at
 * once and opens its microphone and camera afterwards. Can the call be left
 * half alive: the accept gone but the call neither connecting nor ending
 * (devices that never open, a path that never connects), or the callee
 * still going on after the caller hung up while its devices opened?
 * All held on the code as merged; kept as coverage.
 */
import assert from 'node:assert/strict'
import FakeTimers from '@sinonjs/fake-timers'
import { CONNECT_TIMEOUT_MS } from '../../../src/calls/constants.js'
import { pair, stopAll, waitFor, nextIncoming, target } from './helpers.js'

const party = { account: '', handle: 'bob~test', contact: true }

const incoming = nextIncoming

describe('calls: the early accept under attack', () => {
  afterEach(async () => { await stopAll() })

  it('held: the caller hangs up while the callee\'s devices open after its accept left: both end, the callee\'s connection is closed, its accept settles', async () => {
    let open = (): void => {}
    const { alice, bob } = await pair({ attachMedia: async () => { await new Promise<void>(resolve => { open = resolve }) } })
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party)
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.local?.type === 'answer', 'the answer made while ringing')
    const accepting = bobCall.accept()
    await waitFor(() => call.received.sdps.length > 0, 'the accept at the caller')
    call.hangUp()
    await waitFor(() => bobCall.over, 'the callee told')
    // Closed a moment after the end (closeConnection leaves a data channel's hang-up time to go), still before the devices open.
    await waitFor(() => bob.pcs[0].closed, 'the callee\'s connection closed while its devices still open')
    open()
    await accepting
    assert.equal(bobCall.state, 'ended')
    assert.equal(bob.service.active.length, 0)
  })

  it('held: devices that never open and a path that never connects: the call ends on both sides at the connect time, not never', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => await new Promise<never>(() => {}) })
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party)
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.local?.type === 'answer' && alice.pcs[0]?.local != null, 'both connections made')
    // No candidate ever arrives at the caller's connection: no path.
    alice.pcs[0].addIceCandidate = async () => {}
    const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'], shouldClearNativeTimers: true })
    try {
      void bobCall.accept().catch(() => {})
      for (let i = 0; i < 200 && call.state !== 'connecting'; i++) await clock.tickAsync(1)
      assert.equal(call.state, 'connecting', 'the accept reached the caller')
      await clock.tickAsync(CONNECT_TIMEOUT_MS - 1_000)
      assert.ok(!call.over && !bobCall.over, 'still trying within the connect time')
      await clock.tickAsync(2_000)
    } finally {
      clock.uninstall()
    }
    await waitFor(() => call.over && bobCall.over, 'both ended')
    // Both clocks run out together: the first to end tells the other.
    assert.ok([call.endReason, bobCall.endReason].includes('failed'), `ended as ${String(call.endReason)} and ${String(bobCall.endReason)}`)
    assert.ok([call.endReason, bobCall.endReason].every(r => r === 'failed' || r === 'remote-hangup'), `ended as ${String(call.endReason)} and ${String(bobCall.endReason)}`)
    // Closed a moment after the end (closeConnection's grace for the in-band hang-up).
    await waitFor(() => bob.pcs[0].closed, 'the callee\'s connection closed')
  })
})
