/**
 * More attacks on call signalling, beyond attacks.spec.ts: a stranger who
 * knows a handle and keeps its owner "busy" for every contact by ringing
 * once a minute; a callee that asks the caller for ICE restart after ICE
 * restart (each one gathers again, TURN allocations included); a caller
 * whose "ICE restart" adds a media section the callee never agreed to; and
 * rings answered "busy" whose call ids pile up in memory; and a WebRTC stack
 * that gathers host candidates although hide my IP asked for relay only.
 */
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import type { CallServiceEvent, CallSession, PeerConnectionFactory } from '../../../src/calls/index.js'
import { MAX_RENEGOTIATIONS_PER_CALL, MAX_REMEMBERED_CALLS } from '../../../src/calls/index.js'
import { encodeCallFrame } from '../../../src/calls/wire.js'
import type { Signal } from '../../../src/calls/wire.js'
import { FakeNetwork, FakePeerConnection, connect, newParty, pair, stopAll, waitFor, target, party } from './helpers.js'
import type { Side } from './helpers.js'


/** An offer as a browser makes it (its addresses are stripped by the caller, not here). */
const OFFER = (fingerprint: string, extra: string[] = []): string => [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0',
  `a=fingerprint:sha-256 ${fingerprint}`, 'a=setup:actpass', 'a=sendrecv', ...extra
].join('\r\n') + '\r\n'
const FP = (byte: number): string => new Array(32).fill(byte.toString(16).padStart(2, '0').toUpperCase()).join(':')

function send (stream: Stream, callId: Uint8Array, signal: Signal): void {
  stream.send(encodeCallFrame(callId, signal))
}

function id (byte: number, second = 0): Uint8Array {
  const out = new Uint8Array(16).fill(byte)
  out[0] = second & 0xff
  out[1] = second >> 8
  return out
}

/** Records the incoming calls of a side. */
function incomingOf (side: Side): CallSession[] {
  const calls: CallSession[] = []
  side.service.on((e: CallServiceEvent) => { if (e.type === 'incoming') calls.push(e.call) })
  return calls
}

describe('calls: more attacks on signalling', () => {
  afterEach(stopAll)

  it('a stranger\'s ringing request does not make the user "busy" for a contact who calls: the contact rings, the request ends as missed', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    // Mallory knows Bob's handle, and rings (as a request) once a minute: within every budget.
    const mallory = await newParty()
    const s = await connect(bob, mallory.device.peerId)
    send(s, id(0x51), { kind: 'ring', video: false, sdp: OFFER(FP(0x51)), deviceRecord: mallory.record })
    await waitFor(() => rang.length === 1, 'the request rang')
    assert.equal(rang[0].request, true)
    // Alice, a contact, calls Bob meanwhile.
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => call.state === 'ended' || rang.length === 2, 'the contact\'s call rang or ended')
    assert.notEqual(call.endReason, 'busy', 'a stranger\'s unanswered request kept a contact out')
    assert.equal(rang.length, 2)
    assert.equal(rang[1].request, false)
    assert.equal(rang[0].state, 'ended')
    assert.equal(rang[0].endReason, 'missed')
    await rang[1].accept()
    await waitFor(() => call.state === 'connected', 'the contact\'s call connected')
  })

  it('a contact\'s ringing call is not cut off by a stranger: the stranger hears "busy"', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => rang.length === 1, 'Alice rang')
    const mallory = await newParty()
    const s = await connect(bob, mallory.device.peerId)
    send(s, id(0x52), { kind: 'ring', video: false, sdp: OFFER(FP(0x52)), deviceRecord: mallory.record })
    await waitFor(() => s.status !== 'open' || s.remoteWriteStatus !== 'writable', 'Mallory was answered')
    assert.equal(rang.length, 1)
    assert.equal(rang[0].state, 'ringing')
    assert.equal(call.state, 'calling')
  })

  it('a callee that asks for ICE restart after ICE restart makes the caller restart at most MAX_RENEGOTIATIONS_PER_CALL times', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => rang.length === 1)
    await rang[0].accept()
    await waitFor(() => call.state === 'connected', 'connected')
    // Bob's device (compromised) writes "restart" frames itself on the call's stream.
    const stream = bob.inbound[0]
    for (let i = 0; i < MAX_RENEGOTIATIONS_PER_CALL + 10; i++) send(stream, call.callId, { kind: 'restart' })
    await waitFor(() => call.state === 'ended', 'the flooded call ended')
    const restarts = alice.pcs[0].offers.filter(o => o.iceRestart === true).length
    assert.ok(restarts <= MAX_RENEGOTIATIONS_PER_CALL, `the caller restarted ICE ${restarts} times`)
    assert.equal(call.endReason, 'protocol')
  })

  it('a renegotiation that adds a media section (video the callee never accepted) is refused, not answered', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    // Alice's device (compromised) speaks the protocol by hand: an audio call...
    const s = await connect(bob, alice.party.device.peerId)
    const callId = id(0x61)
    send(s, callId, { kind: 'ring', video: false, sdp: OFFER(FP(0x61)), deviceRecord: alice.party.record })
    await waitFor(() => rang.length === 1, 'it rang')
    await rang[0].accept({ video: false })
    const pc = bob.pcs[0]
    await waitFor(() => pc.remote != null, 'the offer was applied')
    // ...then an "ICE restart" with the same certificate that adds a video section and a second data section.
    const extra = ['m=video 9 UDP/TLS/RTP/SAVPF 96', 'c=IN IP4 0.0.0.0', 'a=sendrecv', 'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'c=IN IP4 0.0.0.0']
    send(s, callId, { kind: 'renegotiate', sdp: OFFER(FP(0x61), extra), answer: false })
    await waitFor(() => rang[0].state === 'ended' || (pc.remote?.sdp.includes('m=video') ?? false), 'the renegotiation was handled')
    assert.equal(pc.remote?.sdp.includes('m=video'), false, 'the added video section was applied')
    assert.equal(rang[0].endReason, 'protocol')
  })

  it('rings answered "busy" during a call leave at most MAX_REMEMBERED_CALLS call ids in memory', async function () {
    this.timeout(120_000)
    const { alice, bob } = await pair({ callsPerPeer: 1_000_000 })
    const rang = incomingOf(bob)
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => rang.length === 1)
    await rang[0].accept()
    await waitFor(() => call.state === 'connected', 'connected')
    // Alice's other device rings again and again during the call (each a fresh call id, each answered busy).
    const extra = MAX_REMEMBERED_CALLS + 50
    for (let i = 0; i < extra; i++) {
      const s = await connect(bob, alice.party.device.peerId)
      send(s, id(0x70, i), { kind: 'ring', video: false, sdp: OFFER(FP(0x70)), deviceRecord: alice.party.record })
      await waitFor(() => s.remoteWriteStatus !== 'writable' || s.status !== 'open', `busy ${i}`)
    }
    const remembered = (bob.service as unknown as { endedCalls: Map<string, true> }).endedCalls.size
    assert.ok(remembered <= MAX_REMEMBERED_CALLS, `${remembered} call ids remembered`)
    assert.equal(rang.length, 1)
    assert.equal(call.state, 'connected')
  })

  it('hide my IP: a host candidate that the WebRTC stack gathers despite iceTransportPolicy "relay" never leaves', async () => {
    const network = new FakeNetwork()
    // A stack that ignores the policy (a bug, or a library that does not implement it): one host candidate too.
    const leaky: PeerConnectionFactory = async (config) => {
      const pc = new FakePeerConnection(config, network)
      const setLocal = pc.setLocalDescription.bind(pc)
      pc.setLocalDescription = async (description) => {
        await setLocal(description)
        setTimeout(() => { pc.dispatch('icecandidate', { candidate: { candidate: 'candidate:9 1 udp 2122260223 192.0.2.99 50009 typ host', sdpMid: '0', sdpMLineIndex: 0 } }) }, 0)
      }
      return pc
    }
    const { alice, bob } = await pair({ hideMyIp: () => true, iceServers: async () => [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }], createPeerConnection: leaky })
    const rang = incomingOf(bob)
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => rang.length === 1)
    await rang[0].accept()
    await waitFor(() => call.state === 'connected' && rang[0].state === 'connected', 'connected')
    // Every candidate was gathered before "connected"; a mute frame after them on each stream shows they all arrived.
    call.mute(true)
    rang[0].mute(true)
    await waitFor(() => !call.remoteMedia.audio && !rang[0].remoteMedia.audio, 'both mute frames arrived')
    const seen = [...call.received.candidates, ...rang[0].received.candidates]
    assert.ok(seen.length > 0)
    assert.deepEqual(seen.filter(c => !c.includes(' typ relay')), [], 'an address left although hide my IP is on')
  })
})
