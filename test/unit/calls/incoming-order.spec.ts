/**
 * When the host hears of an incoming call: a contact's call, whose
 * connection is made while it rings, is announced once that connection
 * has its answer made, so that the host's screen and ring tone run after
 * the WebRTC steps that need the page's thread rather than in their way (a
 * callee that accepts at once waited for them: CPU profiles and traces of
 * the call benchmark), and its accept sends the answer at once; or after a short
 * wait when making it is slow; a call hung up before then is not
 * announced, only its end; a stranger's request, which makes no
 * connection while it rings, is announced at once.
 */
import assert from 'node:assert/strict'
import { fakeFactory, heldAnswerFactory, heldFactory, pair, stopAll, waitFor, target, party, tap } from './helpers.js'
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

  it('a contact\'s call is announced once its connection has its answer made, while it is still being set; an accept then sends it at once, and the candidates follow as gathered', async () => {
    // The answer is set only when the test says (its WebRTC stack busy); no announcing for want of it here.
    const held = heldAnswerFactory(() => bob, () => network)
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { bob: { createPeerConnection: held.factory, ringAnnounceWaitMs: 600_000 } })
    const seen = events(bob)
    const ready: Array<{ made: number, set: boolean }> = []
    let fromBob: ReturnType<typeof tap> = []
    bob.service.on((event) => {
      if (event.type !== 'incoming') return
      ready.push({ made: bob.pcs[0]?.answers.length ?? 0, set: bob.pcs[0]?.local != null })
      fromBob = tap(bob.dialled[0])
      event.call.accept().catch(() => {})
    })
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => seen.length > 0, 'the incoming call')
    assert.deepEqual(seen, [{ type: 'incoming', pcs: 1, offer: 'offer' }])
    assert.deepEqual(ready, [{ made: 1, set: false }])
    await waitFor(() => fromBob.length >= 1, 'the accept')
    assert.equal(bob.pcs[0].local, undefined, 'the accept left before the answer was set')
    assert.equal(fromBob[0].kind, 'accept')
    held.release()
    // The fake gathers a loopback and a LAN candidate once the answer is set: they follow the accept.
    await waitFor(() => fromBob.length >= 3, 'the candidates')
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
