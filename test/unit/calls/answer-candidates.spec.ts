/**
 * The callee's ICE candidates at the caller, which arrive right behind the
 * accept, while the caller applies the answer: they are added once the
 * answer is in, not while it is being applied (a browser's addIceCandidate
 * then waits for the WebRTC thread that applies the answer, holding the
 * page's thread: 11 ms a call in the call benchmark's CPU profiles), in
 * the order they came; none is added when the answer is refused.
 */
import assert from 'node:assert/strict'
import { pair, stopAll, waitFor, nextIncoming } from './helpers.js'
import type { Side } from './helpers.js'

const target = (side: Side): Array<{ peerId: Side['party']['device']['peerId'], addrs: [] }> => [{ peerId: side.party.device.peerId, addrs: [] }]
const party = (side: Side): { account: string, handle: string, contact: boolean } => ({ account: Buffer.from(side.party.account.publicKey).toString('hex'), handle: 'bob~test', contact: true })

describe('calls: the callee\'s candidates at the caller', () => {
  afterEach(async () => { await stopAll() })

  it('are added once the answer is applied, in order, and the call connects', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const ringing = nextIncoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => alice.pcs[0]?.local != null)
    const pc = alice.pcs[0]
    const setRemote = pc.setRemoteDescription.bind(pc)
    let release = (): void => {}
    pc.setRemoteDescription = async (d) => { await new Promise<void>(resolve => { release = resolve }); await setRemote(d) }
    await bobCall.accept()
    await waitFor(() => call.received.candidates.length > 0, 'the callee\'s candidates at the caller')
    assert.equal(pc.remote, undefined, 'the answer is not applied yet')
    assert.equal(pc.remoteCandidates.length, 0, 'none added while it is being applied')
    release()
    await waitFor(() => pc.remoteCandidates.length > 0, 'the candidates added')
    assert.deepEqual(pc.remoteCandidates.map(c => c.candidate), call.received.candidates.slice(0, pc.remoteCandidates.length))
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
  })

  it('an answer the caller\'s connection refuses ends the call, and no candidate is added', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const ringing = nextIncoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => alice.pcs[0]?.local != null)
    const pc = alice.pcs[0]
    let refuse = (): void => {}
    pc.setRemoteDescription = async () => { await new Promise<void>(resolve => { refuse = resolve }); throw new Error('bad answer') }
    await bobCall.accept()
    await waitFor(() => call.received.candidates.length > 0, 'the callee\'s candidates at the caller')
    refuse()
    await waitFor(() => call.over, 'the call ended')
    assert.equal(call.endReason, 'protocol')
    await new Promise(resolve => setTimeout(resolve, 10))
    assert.deepEqual(pc.remoteCandidates, [])
  })
})
