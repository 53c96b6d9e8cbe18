/**
 * Attacks on the announce wait (a contact's incoming call is told to the
 * host once its connection, made while it rings, has its answer set, at
 * most RING_ANNOUNCE_WAIT_MS later) and on the callee's candidates that
 * wait at the caller while its answer is applied: a second call during the
 * wait still gets "busy"; the ring clock running out, a factory that
 * throws and an offer that fails to apply neither hang the announcement
 * nor leave a connection open; a flood of candidates, or one naming
 * another call, while the answer is applied ends the call with none added.
 */
import assert from 'node:assert/strict'
import type { Stream } from '@libp2p/interface'
import { CALLS_PER_PEER, MAX_CANDIDATES_PER_CALL } from '../../../src/calls/index.js'
import type { CallServiceEvent, PeerConnectionFactory } from '../../../src/calls/index.js'
import { encodeCallFrame } from '../../../src/calls/wire.js'
import type { Signal } from '../../../src/calls/wire.js'
import { FakeNetwork, connect, fakeFactory, nextIncoming, newParty, pair, stopAll, waitFor, target, party, acceptedWithHeldAnswer, heldFactory } from './helpers.js'
import type { FakePeerConnection, Side } from './helpers.js'
import { newDevice, signedDevice } from '../identity/helpers.js'


/** An offer naming a certificate of its own (`byte`): one named by an earlier call would be a replay. */
const offerSdp = (byte = 0xab): string => [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0', 'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'c=IN IP4 0.0.0.0',
  `a=fingerprint:sha-256 ${new Array(32).fill(byte.toString(16).padStart(2, '0').toUpperCase()).join(':')}`, 'a=setup:actpass'
].join('\r\n') + '\r\n'
const SDP = offerSdp()

function send (stream: Stream, callId: Uint8Array, signal: Signal): void {
  stream.send(encodeCallFrame(callId, signal))
}

function types (side: Side): Array<CallServiceEvent['type']> {
  const seen: Array<CallServiceEvent['type']> = []
  side.service.on((event) => { seen.push(event.type) })
  return seen
}

const tick = async (ms = 20): Promise<void> => { await new Promise(resolve => setTimeout(resolve, ms)) }

describe('calls: attacks on the announce wait and the candidates held for the answer', () => {
  afterEach(async () => { await stopAll() })

  it('a second contact\'s ring during the wait gets busy; only the first call is announced', async () => {
    const held = heldFactory()
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { bob: { createPeerConnection: held.factory, ringAnnounceWaitMs: 600_000 } })
    held.set(fakeFactory(bob, network))
    const seen = types(bob)
    const mallory = await newParty()
    bob.callers.add(mallory, 'contact', 'mallory~test')
    await alice.service.place(target(bob), party(bob))
    await waitFor(() => bob.service.active.length === 1, 'the first ring at the callee')
    const first = bob.service.active[0]
    const s = await connect(bob, mallory.device.peerId)
    send(s, new Uint8Array(16).fill(7), { kind: 'ring', video: false, sdp: SDP, deviceRecord: mallory.record })
    await waitFor(() => s.status !== 'open' || s.remoteWriteStatus !== 'writable', 'the second ring answered')
    assert.deepEqual(bob.service.active, [first])
    held.release()
    await waitFor(() => seen.length > 0, 'the first call announced')
    await tick()
    assert.deepEqual(seen, ['incoming'])
    assert.equal(bob.service.active.length, 1)
  })

  it('the ring clock running out during the wait: nothing announced, a missed call, the late connection closed', async () => {
    const held = heldFactory()
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { bob: { createPeerConnection: held.factory, ringAnnounceWaitMs: 600_000, ringTimeoutMs: 30 } })
    held.set(fakeFactory(bob, network))
    const seen = types(bob)
    const call = await alice.service.place(target(bob), party(bob))
    await waitFor(() => call.over, 'the caller told it was missed')
    assert.equal(call.endReason, 'missed')
    held.release()
    await waitFor(() => bob.pcs[0]?.closed === true, 'the late connection closed')
    await tick()
    assert.deepEqual(seen, ['ended'])
  })

  it('a factory that throws while it rings, or an offer its connection refuses: announced at once, nothing left open, and the accept connects', async () => {
    for (const failure of ['factory', 'offer'] as const) {
      let made = 0
      const sides: { bob?: Side } = {}
      const inner: { f?: PeerConnectionFactory } = {}
      const flaky: PeerConnectionFactory = async (config, request) => {
        if (request.direction === 'incoming' && made++ === 0) {
          if (failure === 'factory') throw new Error('no WebRTC now')
          // On a network of its own: the fakes connect the first two made on one.
          const pc = await fakeFactory(sides.bob as Side, () => new FakeNetwork())(config, request) as FakePeerConnection
          pc.setRemoteDescription = async () => { throw new Error('offer refused') }
          return pc
        }
        return await (inner.f as PeerConnectionFactory)(config, request)
      }
      const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { bob: { createPeerConnection: flaky, ringAnnounceWaitMs: 600_000 } })
      sides.bob = bob
      inner.f = fakeFactory(bob, network)
      const ringing = nextIncoming(bob)
      const call = await alice.service.place(target(bob), party(bob))
      const { call: bobCall } = await ringing
      if (failure === 'offer') assert.equal(bob.pcs[0].closed, true, 'the refused connection closed')
      await bobCall.accept()
      await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', `connected after a ${failure} failure`)
      call.hangUp()
      await waitFor(() => bob.service.active.length === 0)
      await stopAll()
    }
  })

  it('a flood of candidates, or one for another call, while the caller applies the answer ends the call; none is added, then or after', async () => {
    for (const attack of ['flood', 'other call'] as const) {
      const { bob, call, pc, release } = await acceptedWithHeldAnswer()
      await waitFor(() => call.received.candidates.length > 0, 'the callee\'s candidates at the caller')
      const stream = bob.inbound[0]
      const line = (i: number): Signal => ({ kind: 'candidate', candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 ${2000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0 } })
      if (attack === 'flood') for (let i = 0; i <= MAX_CANDIDATES_PER_CALL; i++) send(stream, call.callId, line(i))
      else send(stream, new Uint8Array(16).fill(9), line(1))
      await waitFor(() => call.over, `the call ended (${attack})`)
      assert.ok(call.received.candidates.length <= MAX_CANDIDATES_PER_CALL)
      release()
      await tick()
      assert.deepEqual(pc.remoteCandidates, [], attack)
      await stopAll()
    }
  })
})

describe('calls: an offer\'s media sections are bounded', () => {
  afterEach(async () => { await stopAll() })

  it('a contact\'s ring whose offer has hundreds of media sections is refused before any connection is made for it, and the next honest call connects', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const seen = types(bob)
    // Each section would be a transceiver (and a track event, a render) in the callee's browser while it rings.
    const sections = Array.from({ length: 300 }, (_, i) => [`m=audio 9 UDP/TLS/RTP/SAVPF 111`, `a=mid:${i}`, 'a=rtpmap:111 opus/48000/2', 'a=sendrecv'].join('\r\n'))
    const offer = SDP + sections.join('\r\n') + '\r\n'
    const s = await connect(bob, alice.party.device.peerId)
    send(s, new Uint8Array(16).fill(5), { kind: 'ring', video: false, sdp: offer, deviceRecord: alice.party.record })
    await waitFor(() => s.status !== 'open', 'the ring refused')
    await tick()
    assert.equal(bob.pcs.length, 0, 'no connection made for it')
    assert.deepEqual(seen.filter(t => t === 'incoming'), [])
    const ringing = nextIncoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await bobCall.accept()
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'the honest call connected')
  })
})

describe('calls: a contact\'s devices share one ring budget', () => {
  afterEach(async () => { await stopAll() })

  it('a contact that pins device after device (each writes once) rings no more often than one device may, and makes no more connections while ringing', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const rang: string[] = []
    // Each ring declined at once, by a bot-like callee: the next one is not "busy".
    bob.service.on(e => { if (e.type === 'incoming') { rang.push(e.call.id); e.call.decline() } })
    const entry = bob.callers.entries.get(Buffer.from(alice.party.account.publicKey).toString('hex'))
    assert.ok(entry != null)
    const extra = CALLS_PER_PEER + 3
    let refused = 0
    for (let i = 0; i < extra; i++) {
      const device = await newDevice()
      const signed = await signedDevice(alice.party.account, device)
      entry.devices.set(device.peerId.toString(), Buffer.from(signed.record.identityKey).toString('hex'))
      const before = rang.length
      const s = await connect(bob, device.peerId)
      send(s, new Uint8Array(16).fill(0x60 + i), { kind: 'ring', video: false, sdp: offerSdp(0x60 + i), deviceRecord: signed.value })
      await waitFor(() => s.status !== 'open' || s.remoteWriteStatus !== 'writable', `ring ${i} answered`)
      await waitFor(() => bob.service.active.length === 0, `ring ${i} over`)
      if (rang.length === before) refused++
    }
    assert.equal(rang.length, CALLS_PER_PEER)
    assert.equal(refused, extra - CALLS_PER_PEER)
    assert.ok(bob.pcs.length <= CALLS_PER_PEER, `${bob.pcs.length} connections made while ringing`)
  })
})
