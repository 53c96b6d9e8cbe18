/**
 * A contact's call rings and the callee makes and sets its answer while it
 * rings (connection.ts): its WebRTC stack then gathers, and checks
 * connectivity to every remote candidate it holds. An honest caller strips
 * its addresses from the offer; a hostile one (a contact's device, or a
 * contact turned hostile) leaves them in, so that the callee's checks reach
 * an address it watches, from the callee's own addresses, before the user
 * accepted (issue 12: merely ringing someone reveals no address).
 */
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import type { CallServiceEvent, CallSession } from '../../../src/calls/index.js'
import { sdpHasAddresses } from '../../../src/calls/index.js'
import { encodeCallFrame } from '../../../src/calls/wire.js'
import type { Signal } from '../../../src/calls/wire.js'
import { connect, pair, stopAll, waitFor } from './helpers.js'

const FP = new Array(32).fill('8A').join(':')
/** An offer that names the caller's address, where it listens for the callee's checks. */
const OFFER = [
  'v=0', 'o=- 1 2 IN IP4 198.51.100.9', 's=-', 't=0 0', 'm=audio 40000 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 198.51.100.9',
  'a=rtcp:40001 IN IP4 198.51.100.9', `a=fingerprint:sha-256 ${FP}`, 'a=setup:actpass', 'a=sendrecv',
  'a=candidate:1 1 udp 2122260223 198.51.100.9 40000 typ host', 'a=candidate:2 1 udp 1686052607 203.0.113.5 40002 typ srflx raddr 198.51.100.9 rport 40000',
  'a=end-of-candidates'
].join('\r\n') + '\r\n'

function send (stream: Stream, callId: Uint8Array, signal: Signal): void {
  stream.send(encodeCallFrame(callId, signal))
}

describe('calls: a contact\'s offer that carries addresses', () => {
  afterEach(stopAll)

  it('the connection that answers while ringing holds none of them: nothing it checks reaches the caller before the accept', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const rang: CallSession[] = []
    bob.service.on((e: CallServiceEvent) => { if (e.type === 'incoming') rang.push(e.call) })
    // Alice's device (compromised) rings by hand, with its addresses left in the offer.
    const s = await connect(bob, alice.party.device.peerId)
    send(s, new Uint8Array(16).fill(0x8a), { kind: 'ring', video: false, sdp: OFFER, deviceRecord: alice.party.record })
    await waitFor(() => rang.length === 1, 'it rang')
    await waitFor(() => bob.pcs[0]?.local?.type === 'answer', 'the answer made while ringing')
    assert.equal(rang[0].state, 'ringing')
    const held = bob.pcs[0].remote?.sdp ?? ''
    assert.equal(sdpHasAddresses(held), false, 'the callee checks connectivity to the caller\'s addresses while it rings')
    assert.doesNotMatch(held, /198\.51\.100\.9|203\.0\.113\.5/)
    // The call still works once accepted: the addresses cross as candidates then.
    await rang[0].accept()
    assert.equal(rang[0].state, 'connecting')
  })
})
