/**
 * Candidates reach a call's connection only through the candidate gate
 * (its loopback filter and budget, candidates.ts): an honest peer strips
 * its addresses from every SDP it sends and trickles its candidates. A
 * hostile callee that leaves candidates in its accept's answer, or in an
 * ICE restart's answer, would have the caller's stack check them (say,
 * 127.0.0.1 ports: probes of the caller's own services) past the gate.
 * The caller strips what it receives, as the callee does with a ring's offer.
 */
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import type { CallServiceEvent, CallSession } from '../../../src/calls/index.js'
import { sdpHasAddresses } from '../../../src/calls/index.js'
import { encodeCallFrame } from '../../../src/calls/wire.js'
import { pair, stopAll, waitFor, target, party } from './helpers.js'

const CANDIDATES = ['a=candidate:1 1 udp 2122260223 127.0.0.1 22 typ host', 'a=candidate:2 1 udp 2122260223 127.0.0.1 6379 typ host', 'a=end-of-candidates']

/** An SDP with candidate lines added after its first media line's attributes. */
function withCandidates (sdp: string): string {
  return sdp.trimEnd() + '\r\n' + CANDIDATES.join('\r\n') + '\r\n'
}

describe('calls: a callee\'s answer that carries addresses', () => {
  afterEach(stopAll)

  it('the caller applies the accept\'s answer without them: they would skip the candidate gate', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const rang: CallSession[] = []
    bob.service.on((e: CallServiceEvent) => { if (e.type === 'incoming') rang.push(e.call) })
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => rang.length === 1, 'it rang')
    await waitFor(() => bob.pcs[0]?.local?.type === 'answer', 'the answer made while ringing')
    const bobStream = bob.inbound.at(-1) as Stream
    // Bob's device (compromised) accepts by hand with its real answer, candidates left in.
    bobStream.send(encodeCallFrame(call.callId, { kind: 'accept', sdp: withCandidates(bob.pcs[0].local?.sdp ?? ''), video: false }))
    await waitFor(() => alice.pcs[0]?.remote?.type === 'answer', 'the answer applied')
    const applied = alice.pcs[0].remote?.sdp ?? ''
    assert.equal(sdpHasAddresses(applied), false, 'candidates in the answer reached the connection past the gate')
    assert.doesNotMatch(applied, /127\.0\.0\.1 (22|6379)/)
    // The stripped answer is a valid one (bob's own, which did not accept: its stream then drops at alice's candidates).
    assert.notEqual(call.endReason, 'protocol', 'the answer, without its addresses, is still applied')
  })
})
