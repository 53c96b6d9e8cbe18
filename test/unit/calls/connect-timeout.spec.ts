/**
 * The connect time (src/calls/timers.ts, CONNECT_TIMEOUT_MS): from the
 * accept until the connection is connected, on each side's own clock, also
 * when its WebRTC stack never finishes applying a description (a promise of
 * setRemoteDescription, createAnswer or setLocalDescription that never
 * settles). Before, the clock started only once the answer was made (the
 * callee) or applied (the caller): a stack stuck there left the call
 * "connecting" with no clock at all (the ring clock stops at the accept).
 * Each side ends as failed and says "failed" on the wire; the other side
 * records it as failed too, not as declined or a plain end. A connection
 * made at the accept (a stranger's request) opens the devices: the clock
 * runs from when they are open, not through a permission prompt. Fake timers.
 */
import assert from 'node:assert/strict'
import FakeTimers from '@sinonjs/fake-timers'
import { CONNECT_TIMEOUT_MS } from '../../../src/calls/constants.js'
import type { CallSession } from '../../../src/calls/index.js'
import type { Signal } from '../../../src/calls/wire.js'
import { acceptedWithHeldAnswer, alteredFactory, fakeFactory, nextIncoming, pair, party, setFactory, stopAll, tap, target, waitFor } from './helpers.js'

/** Runs `steps` on fake timers that also follow real time (in-memory streams and waitFor run on them; the test jumps ahead). */
async function onFakeClock (steps: (clock: FakeTimers.Clock) => Promise<void>): Promise<void> {
  const clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'], shouldAdvanceTime: true, shouldClearNativeTimers: true })
  try {
    await steps(clock)
  } finally {
    clock.uninstall()
  }
}

describe('calls: a connection that never finishes applying a description ends at the connect time', () => {
  afterEach(stopAll)

  it('the callee\'s createAnswer never settles: it ends as failed at the connect time after its accept, and the caller as failed', async () => {
    let call!: CallSession
    let bobCall!: CallSession
    let fromBob!: Signal[]
    await onFakeClock(async (clock) => {
      const { alice, bob, network } = await pair()
      setFactory(bob, alteredFactory(bob, network, (pc) => { pc.createAnswer = async () => await new Promise<never>(() => {}) }))
      const ringing = nextIncoming(bob)
      call = await alice.service.place(target(bob), party(bob))
      bobCall = (await ringing).call
      fromBob = tap(bob.dialled[0])
      void bobCall.accept().catch(() => {})
      await clock.tickAsync(CONNECT_TIMEOUT_MS - 1_000)
      assert.equal(bobCall.state, 'connecting', 'still trying within the connect time')
      assert.equal(call.state, 'calling', 'no accept left: its answer was never made')
      await clock.tickAsync(2_000)
      for (let i = 0; i < 100 && !call.over; i++) await clock.tickAsync(1)
    })
    assert.equal(bobCall.endReason, 'failed', 'the callee ended on its own clock (before: no clock ran after its accept)')
    assert.deepEqual(fromBob.filter(s => s.kind === 'hangup'), [{ kind: 'hangup', reason: 'failed' }])
    assert.equal(call.endReason, 'failed', 'the caller records it as failed, not declined')
  })

  it('the caller\'s setRemoteDescription of the answer never settles: it ends as failed at the connect time after the accept, and tells the callee', async () => {
    let setUp!: Awaited<ReturnType<typeof acceptedWithHeldAnswer>>
    let fromAlice!: Signal[]
    await onFakeClock(async (clock) => {
      // Bob's own clock is much longer: the caller must end the call on its own.
      setUp = await acceptedWithHeldAnswer({ bob: { connectTimeoutMs: 10 * CONNECT_TIMEOUT_MS } })
      const { bob, call } = setUp
      fromAlice = tap(bob.inbound[0])
      await waitFor(() => call.state === 'connecting', 'the accept at the caller')
      await clock.tickAsync(CONNECT_TIMEOUT_MS - 1_000)
      assert.equal(call.state, 'connecting', 'still trying within the connect time')
      await clock.tickAsync(2_000)
      for (let i = 0; i < 100 && !setUp.bobCall.over; i++) await clock.tickAsync(1)
    })
    const { bob, call, bobCall } = setUp
    assert.equal(call.endReason, 'failed', 'the caller ended on its own clock (before: its clock started only once the answer was applied)')
    assert.deepEqual(fromAlice.filter(s => s.kind === 'hangup'), [{ kind: 'hangup', reason: 'failed' }])
    assert.equal(bobCall.endReason, 'failed', 'the callee records it as failed, not a plain end')
    await waitFor(() => bob.pcs[0].closed, 'the callee\'s connection closed')
  })

  it('a request accepted with its devices behind a permission prompt longer than the connect time connects once they open: the clock runs from then', async () => {
    let bobCall!: CallSession
    let call!: CallSession
    await onFakeClock(async (clock) => {
      const { alice, bob, network } = await pair({}, { contacts: false })
      const fake = fakeFactory(bob, network)
      // The connection made at the accept opens the devices: the prompt is answered after CONNECT_TIMEOUT_MS + 10 s.
      setFactory(bob, async (config, request) => {
        await new Promise(resolve => setTimeout(resolve, CONNECT_TIMEOUT_MS + 10_000))
        return await fake(config, request)
      })
      const ringing = nextIncoming(bob)
      call = await alice.service.place(target(bob), party(bob))
      bobCall = (await ringing).call
      const accepting = bobCall.accept()
      await clock.tickAsync(CONNECT_TIMEOUT_MS + 5_000)
      assert.equal(bobCall.state, 'connecting', 'not failed while the prompt is open')
      await clock.tickAsync(6_000)
      await accepting
      const both = (): boolean => call.state === 'connected' && bobCall.state === 'connected'
      for (let i = 0; i < 200 && !both(); i++) await clock.tickAsync(1)
    })
    assert.equal(bobCall.state, 'connected')
    assert.equal(call.state, 'connected')
  })
})
