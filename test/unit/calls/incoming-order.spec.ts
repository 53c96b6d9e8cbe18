/**
 * When the host hears of an incoming call: a contact's call, whose
 * connection is made while it rings, is announced once that connection
 * has its answer set, so that the host's screen and ring tone run after
 * the WebRTC work rather than in its way (a callee that accepts at once
 * waited for them: CPU profiles and traces of the call benchmark), and its
 * accept sends the answer and its candidates together; or after a short
 * wait when making it is slow; a call hung up before then is not
 * announced, only its end; a stranger's request, which makes no
 * connection while it rings, is announced at once.
 */
import assert from 'node:assert/strict'
import { fakeFactory, heldFactory, pair, stopAll, waitFor, target, party, tap } from './helpers.js'
import type { Side } from './helpers.js'
import type { CallServiceEvent } from '../../../src/calls/index.js'


/** The service's events at `side`, with what the callee's connection had when each came. */
function events (side: Side): Array<{ type: CallServiceEvent['type'], pcs: number, offer?: string }> {
  const seen: Array<{ type: CallServiceEvent['type'], pcs: number, offer?: string }> = []
  side.service.on((event) => { seen.push({ type: event.type, pcs: side.pcs.length, offer: side.pcs[0]?.remote?.type }) })
  return seen
}

describe('calls: when the host hears of an incoming call', () => {
  afterEach(async () => { await stopAll() })

  it('a contact\'s call is announced once its connection has its answer set and a candidate gathered, not before; an accept at once sends both together', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const seen = events(bob)
    const ready: Array<{ answer: boolean, gathered: boolean }> = []
    let fromBob: ReturnType<typeof tap> = []
    bob.service.on((event) => {
      if (event.type !== 'incoming') return
      ready.push({ answer: bob.pcs[0]?.local?.type === 'answer', gathered: bob.pcs[0]?.gathered === true })
      fromBob = tap(bob.dialled[0])
      event.call.accept().catch(() => {})
    })
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => seen.length > 0, 'the incoming call')
    assert.deepEqual(seen, [{ type: 'incoming', pcs: 1, offer: 'offer' }])
    assert.deepEqual(ready, [{ answer: true, gathered: true }])
    await waitFor(() => fromBob.length >= 2, 'the accept and a candidate')
    // The fake gathers a loopback and a LAN candidate: both leave with the accept, in one go.
    assert.deepEqual(fromBob.slice(0, 3).map(s => s.kind), ['accept', 'candidate', 'candidate'])
    await waitFor(() => call.state === 'connected', 'connected')
  })

  it('a contact\'s call hung up while its connection is being made is not announced: the host hears only its end, and the connection is closed', async () => {
    // The connection made while it rings waits for the test; no announcing for want of it here (see the last test).
    const { factory, release, set } = heldFactory()
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { bob: { createPeerConnection: factory, ringAnnounceWaitMs: 600_000 } })
    set(fakeFactory(bob, network))
    const seen = events(bob)
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => bob.service.active.length === 1, 'the ring at the callee')
    call.hangUp()
    await waitFor(() => bob.service.active.length === 0, 'the call ended at the callee')
    release()
    await waitFor(() => bob.pcs[0]?.closed === true, 'the connection made late closed')
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(seen.map(e => e.type), ['ended'])
  })

  it('a contact\'s call whose connection is slow to be made (TURN credentials asked for) is announced anyway after a short wait, and connects once it is made', async () => {
    const { factory, release, set } = heldFactory()
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { bob: { createPeerConnection: factory, ringAnnounceWaitMs: 20 } })
    set(fakeFactory(bob, network))
    const seen = events(bob)
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => seen.length > 0, 'the incoming call')
    assert.deepEqual(seen, [{ type: 'incoming', pcs: 0, offer: undefined }])
    const bobCall = bob.service.active[0]
    const accepting = bobCall.accept()
    release()
    await accepting
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
  })

  it('a stranger\'s request (no connection while it rings) is announced at once', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} }, { contacts: false })
    const seen = events(bob)
    await alice.service.place(target(bob), party(bob))
    await waitFor(() => seen.length > 0, 'the incoming request')
    assert.deepEqual(seen, [{ type: 'incoming', pcs: 0, offer: undefined }])
  })
})
