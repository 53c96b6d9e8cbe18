/**
 * Attacks on call signalling (issue 12, Binding): a forged device, replayed
 * SDP and call ids, a frame for another call, a certificate that does not
 * match the SDP, floods of rings, candidates and bytes, and garbage. Each
 * is refused (the stream dropped, nothing rings, the call ended with a
 * warning), and the service keeps serving honest calls afterwards.
 */
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import type { CallServiceComponents, CallServiceEvent, CallSession } from '../../../src/calls/index.js'
import { CallService, CALLS_PER_PEER, MAX_CANDIDATES_PER_CALL, MAX_FRAME_LENGTH, STRANGER_CALLS } from '../../../src/calls/index.js'
import { encodeCallFrame } from '../../../src/calls/wire.js'
import type { Signal } from '../../../src/calls/wire.js'
import { encodeFrame } from '../../../src/protocols/dm/dm.js'
import { decodeDeviceRecord, encodeDeviceRecord } from '../../../src/identity/index.js'
import { NOW, connect, crypto, newParty, pair, stopAll, waitFor, target, party } from './helpers.js'
import type { Side, TestParty } from './helpers.js'


const SDP = (fingerprint: string): string => [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0',
  `a=fingerprint:sha-256 ${fingerprint}`, 'a=setup:actpass'
].join('\r\n') + '\r\n'
const FP = (byte: number): string => new Array(32).fill(byte.toString(16).padStart(2, '0').toUpperCase()).join(':')

function send (stream: Stream, callId: Uint8Array, signal: Signal): void {
  stream.send(encodeCallFrame(callId, signal))
}

function id (byte: number): Uint8Array {
  return new Uint8Array(16).fill(byte)
}

/** Records the incoming calls of a side. */
function incomingOf (side: Side): CallSession[] {
  const calls: CallSession[] = []
  side.service.on((e: CallServiceEvent) => { if (e.type === 'incoming') calls.push(e.call) })
  return calls
}

async function dropped (stream: Stream): Promise<void> {
  await waitFor(() => stream.status !== 'open', 'the stream dropped')
  assert.notEqual(stream.status, 'open')
}

/** A call from Alice to Bob, connected. */
async function connectedCall (alice: Side, bob: Side): Promise<{ call: CallSession, bobCall: CallSession }> {
  const rang = incomingOf(bob)
  const call = await alice.service.place(target(bob), party(bob))
  await waitFor(() => rang.length === 1)
  await rang[0].accept()
  await waitFor(() => call.state === 'connected' && rang[0].state === 'connected', 'connected')
  return { call, bobCall: rang[0] }
}

/** An honest call still rings and connects after an attack. */
async function stillServes (alice: Side, bob: Side): Promise<void> {
  const { call } = await connectedCall(alice, bob)
  call.hangUp()
  await waitFor(() => bob.service.active.length === 0)
}

describe('calls: attacks on signalling are refused', () => {
  afterEach(stopAll)

  it('a forged device: a record of another device, or one whose account signature is not its account\'s, never rings', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    const mallory = await newParty()
    // 1. Mallory's stream carries Alice's (valid) record: it names another peer id.
    const s1 = await connect(bob, mallory.device.peerId)
    send(s1, id(1), { kind: 'ring', video: false, sdp: SDP(FP(1)), deviceRecord: alice.party.record })
    await dropped(s1)
    // 2. Mallory's own record with Alice's account key put in: the signatures do not verify.
    const forged = decodeDeviceRecord(mallory.record)
    forged.accountKey = alice.party.account.publicKey as typeof forged.accountKey
    const s2 = await connect(bob, mallory.device.peerId)
    send(s2, id(2), { kind: 'ring', video: false, sdp: SDP(FP(2)), deviceRecord: encodeDeviceRecord(forged) })
    await dropped(s2)
    // 3. No record at all, and none in the DHT.
    const s3 = await connect(bob, mallory.device.peerId)
    send(s3, id(3), { kind: 'ring', video: false, sdp: SDP(FP(3)) })
    await dropped(s3)
    assert.equal(rang.length, 0)
    // A device of Alice's that Bob did not pin rings only as a request, never as Alice.
    const other = await newParty()
    const { signedDevice } = await import('../identity/helpers.js')
    const record = await signedDevice(alice.party.account, other.device)
    const s4 = await connect(bob, other.device.peerId)
    send(s4, id(4), { kind: 'ring', video: false, sdp: SDP(FP(4)), deviceRecord: record.value })
    await waitFor(() => rang.length === 1)
    assert.equal(rang[0].request, true, 'a device not pinned for Alice is not Alice')
    rang[0].decline()
    await stillServes(alice, bob)
  })

  it('an SDP replayed from an earlier call is refused: its call id, or its DTLS fingerprint, in a new ring or a new answer', async () => {
    const { alice, bob, newCall } = await pair()
    const first = await connectedCall(alice, bob)
    const oldOffer = alice.pcs[0].local?.sdp ?? ''
    const oldAnswer = bob.pcs[0].local?.sdp ?? ''
    const oldId = first.call.callId
    first.call.hangUp()
    await waitFor(() => bob.service.active.length === 0)
    const rang = incomingOf(bob)
    // The old ring again, on a new stream from Alice's own device (as a relay or a bug could replay it).
    const s1 = await connect(bob, alice.party.device.peerId)
    send(s1, oldId, { kind: 'ring', video: false, sdp: oldOffer, deviceRecord: alice.party.record })
    await dropped(s1)
    // The old offer under a new call id: its fingerprint is of the earlier call.
    const s2 = await connect(bob, alice.party.device.peerId)
    send(s2, id(9), { kind: 'ring', video: false, sdp: oldOffer, deviceRecord: alice.party.record })
    await dropped(s2)
    assert.equal(rang.length, 0)
    // A new call from Alice, answered with Bob's old answer: the caller refuses it.
    newCall()
    const aliceFirstSeen = alice.pcs.length
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => rang.length === 1)
    const bobStream = bob.inbound.at(-1) as Stream
    // Bob's side writes the replayed answer itself (a compromised device, or a replay in transit).
    send(bobStream, call.callId, { kind: 'accept', sdp: oldAnswer, video: false })
    await waitFor(() => call.state === 'ended', 'the caller ended the call')
    assert.equal(call.endReason, 'protocol')
    assert.equal(alice.pcs[aliceFirstSeen].remote, undefined, 'the replayed answer was never applied')
  })

  it('a frame naming another call on a call\'s stream drops it and ends that call', async () => {
    const { alice, bob } = await pair()
    const { call, bobCall } = await connectedCall(alice, bob)
    const stream = bob.inbound[0]
    send(stream, id(0xee), { kind: 'media', audio: false, video: false })
    await waitFor(() => call.state === 'ended', 'the call ended')
    assert.equal(call.endReason, 'protocol')
    assert.equal(bobCall.remoteMedia.audio, true)
  })

  it('another account\'s device cannot answer or hang up someone else\'s call: its stream must open with its own ring', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => rang.length === 1)
    const mallory = await newParty()
    for (const signal of [{ kind: 'accept', sdp: SDP(FP(5)), video: false }, { kind: 'hangup', reason: 'normal' }] as Signal[]) {
      const s = await connect(alice, mallory.device.peerId)
      send(s, call.callId, signal)
      await dropped(s)
    }
    assert.equal(call.state, 'calling')
    assert.equal(alice.pcs[0].remote, undefined)
    await rang[0].accept()
    await waitFor(() => call.state === 'connected')
  })

  it('an address that leads to another device than the one called is not rung', async () => {
    const { bob } = await pair()
    const mallory = await newParty()
    let streams = 0
    const caller = new CallService({
      registrar: { handle: async () => {}, unhandle: async () => {} },
      // The address in the record answers as Mallory's device.
      dialer: { dial: async () => ({ remotePeer: mallory.device.peerId, newStream: async () => { streams++; return await connect(bob, mallory.device.peerId) } }) }
    } as unknown as CallServiceComponents, { crypto, callers: bob.callers, createPeerConnection: async () => { throw new Error('no connection expected') }, now: () => NOW })
    await caller.start()
    await assert.rejects(caller.place(target(bob), party(bob)), { name: 'CallUnreachableError' })
    assert.equal(streams, 0)
    await caller.stop()
  })

  it('a remote DTLS certificate that is not the SDP\'s ends the call with a warning, on both sides', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const warnings: string[] = []
    call.on(e => { if (e.type === 'warning') warnings.push(e.message) })
    await waitFor(() => rang.length === 1)
    await rang[0].accept()
    // A man in the middle terminates DTLS with his own certificate.
    alice.pcs[0].remoteCertificate = FP(0xab)
    await waitFor(() => call.state === 'ended' && rang[0].state === 'ended', 'both ended')
    assert.equal(call.endReason, 'fingerprint')
    assert.equal(rang[0].endReason, 'fingerprint')
    assert.equal(call.connectedAt, undefined)
    assert.match(warnings[0] ?? '', /not the one its SDP named/)
  })

  it('floods: rings per device and from strangers together are budgeted; candidates, frames and frame sizes per call', async () => {
    const { alice, bob } = await pair()
    const rang = incomingOf(bob)
    // A contact's device rings again and again (each ring declined at once by a bot-like callee).
    bob.service.on(e => { if (e.type === 'incoming') e.call.decline() })
    for (let i = 0; i < CALLS_PER_PEER; i++) {
      const s = await connect(bob, alice.party.device.peerId)
      send(s, id(0x10 + i), { kind: 'ring', video: false, sdp: SDP(FP(0x10 + i)), deviceRecord: alice.party.record })
      await waitFor(() => rang.length === i + 1, `ring ${i + 1}`)
    }
    const over = await connect(bob, alice.party.device.peerId)
    await dropped(over)
    assert.equal(rang.length, CALLS_PER_PEER)
    // Strangers with fresh peer ids share one budget.
    const strangers: TestParty[] = []
    for (let i = 0; i < STRANGER_CALLS + 2; i++) strangers.push(await newParty())
    let refused = 0
    for (const [i, s] of strangers.entries()) {
      const before: number = rang.length
      const stream = await connect(bob, s.device.peerId)
      send(stream, id(0x40 + i), { kind: 'ring', video: false, sdp: SDP(FP(0x40 + i)), deviceRecord: s.record })
      // Declined (closed) or refused (reset): either way the stream ends.
      await waitFor(() => stream.status !== 'open' || stream.remoteWriteStatus !== 'writable', `stranger ${i} answered`)
      if (rang.length === before) refused++
    }
    assert.equal(refused, 2)
    assert.equal(rang.length, CALLS_PER_PEER + STRANGER_CALLS)
  })

  it('floods within a call: more candidates than the budget, or an over-long frame, drop the stream and end the call', async () => {
    const { alice, bob } = await pair({ callsPerPeer: 100 })
    const { call } = await connectedCall(alice, bob)
    const stream = bob.inbound[0]
    for (let i = 0; i <= MAX_CANDIDATES_PER_CALL; i++) {
      send(stream, call.callId, { kind: 'candidate', candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 ${1000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0 } })
    }
    await waitFor(() => call.state === 'ended', 'the flooded call ended')
    assert.equal(call.endReason, 'protocol')
    assert.ok(alice.pcs[0].remoteCandidates.length <= MAX_CANDIDATES_PER_CALL)
    // An over-long frame on a fresh ring.
    const s = await connect(bob, alice.party.device.peerId)
    const huge = new Uint8Array(MAX_FRAME_LENGTH + 1)
    s.send(encodeFrame(huge))
    await dropped(s)
  })

  it('garbage frames drop the stream and nothing else; the next honest call connects', async () => {
    const { alice, bob } = await pair({ callsPerPeer: 100 })
    const rang = incomingOf(bob)
    const mallory = await newParty()
    bob.callers.add(mallory, 'contact', 'mallory~test')
    const garbage: Uint8Array[] = [
      encodeFrame(new Uint8Array([0xff, 0xff, 0xff, 0xff])).subarray(),
      encodeFrame(new Uint8Array(0)).subarray(),
      new Uint8Array([0x80, 0x80, 0x80, 0x80, 0x80]),
      encodeCallFrame(new Uint8Array(3), { kind: 'busy' }).subarray(),
      encodeCallFrame(id(1), { kind: 'accept', sdp: SDP(FP(1)), video: false }).subarray(),
      encodeCallFrame(id(1), { kind: 'ring', video: false, sdp: 'not an sdp', deviceRecord: mallory.record }).subarray(),
      encodeCallFrame(id(2), { kind: 'ring', video: false, sdp: SDP(FP(2)), deviceRecord: new Uint8Array([1, 2, 3]) }).subarray()
    ]
    for (const bytes of garbage) {
      const s = await connect(bob, mallory.device.peerId)
      s.send(bytes)
      await dropped(s)
    }
    assert.equal(rang.length, 0)
    await stillServes(alice, bob)
  })
})
