/**
 * The callee's ICE candidates at the caller, which arrive right behind the
 * accept, while the caller applies the answer: they are added once the
 * answer is in, not while it is being applied (a browser's addIceCandidate
 * then waits for the WebRTC thread that applies the answer, holding the
 * page's thread: 11 ms a call in the call benchmark's CPU profiles), in
 * the order they came; none is added when the answer is refused.
 */
import assert from 'node:assert/strict'
import { stopAll, waitFor, acceptedWithHeldAnswer } from './helpers.js'


describe('calls: the callee\'s candidates at the caller', () => {
  afterEach(async () => { await stopAll() })

  it('are added once the answer is applied, in order, and the call connects', async () => {
    const { call, bobCall, pc, release } = await acceptedWithHeldAnswer()
    await waitFor(() => call.received.candidates.length > 0, 'the callee\'s candidates at the caller')
    assert.equal(pc.remote, undefined, 'the answer is not applied yet')
    assert.equal(pc.remoteCandidates.length, 0, 'none added while it is being applied')
    release()
    await waitFor(() => pc.remoteCandidates.length > 0, 'the candidates added')
    assert.deepEqual(pc.remoteCandidates.map(c => c.candidate), call.received.candidates.slice(0, pc.remoteCandidates.length))
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
  })

  it('an answer the caller\'s connection refuses ends the call, and no candidate is added', async () => {
    const { call, pc, release: refuse } = await acceptedWithHeldAnswer({ refuse: true })
    await waitFor(() => call.received.candidates.length > 0, 'the callee\'s candidates at the caller')
    refuse()
    await waitFor(() => call.over, 'the call ended')
    assert.equal(call.endReason, 'protocol')
    await new Promise(resolve => setTimeout(resolve, 10))
    assert.deepEqual(pc.remoteCandidates, [])
  })
})
