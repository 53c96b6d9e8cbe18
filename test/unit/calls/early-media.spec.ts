/**
 * A callee that accepts while the connection made while it rang is still
 * making its answer: the microphone and camera go on the senders as soon
 * as the offer is applied and the transceivers are set to send, not only
 * once the answer has left (tab to tab, the first frame came ~115 ms after
 * DTLS with them put on just before it, ~80 ms with them on 60 ms before);
 * still never before the user accepts, and not on a connection that hide my
 * IP, turned on since the ring, throws away.
 */
import assert from 'node:assert/strict'
import { fakeFactory, pair, stopAll, waitFor, nextIncoming } from './helpers.js'
import type { FakePeerConnection, Side } from './helpers.js'
import type { PeerConnectionFactory } from '../../../src/calls/index.js'
import { CallFrameDecoder } from '../../../src/calls/wire.js'
import type { Signal } from '../../../src/calls/wire.js'

const target = (side: Side): Array<{ peerId: Side['party']['device']['peerId'], addrs: [] }> => [{ peerId: side.party.device.peerId, addrs: [] }]
const party = (side: Side): { account: string, handle: string, contact: boolean } => ({ account: Buffer.from(side.party.account.publicKey).toString('hex'), handle: 'bob~test', contact: true })

/** Bob's connection made while it rings makes its answer only when the test releases it. */
function slowAnswers (factories: { bob?: PeerConnectionFactory }, gate: { release: () => void }): PeerConnectionFactory {
  return async (config, request) => {
    const pc = await (factories.bob as PeerConnectionFactory)(config, request) as FakePeerConnection
    if (request.media !== false) return pc
    const answer = pc.createAnswer.bind(pc)
    pc.createAnswer = async () => { await new Promise<void>(resolve => { gate.release = resolve }); return await answer() }
    return pc
  }
}

describe('calls: the callee\'s media go on as soon as its connection can take them', () => {
  afterEach(async () => { await stopAll() })

  it('accepted while the answer is being made: the media are attached before the answer is made and sent, and the call connects', async () => {
    const gate = { release: () => {} }
    const attached: string[] = []
    const factories: { bob?: PeerConnectionFactory } = {}
    const { alice, bob, network } = await pair({ attachMedia: async (callId) => { attached.push(callId) } }, { bob: { createPeerConnection: slowAnswers(factories, gate) } })
    factories.bob = fakeFactory(bob, network)
    const ringing = nextIncoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.transceivers[0].direction === 'sendrecv', 'the offer applied, the transceivers set to send')
    assert.deepEqual(attached, [], 'nothing attached before the user accepts')
    const seen: Signal[] = []
    const decoder = new CallFrameDecoder()
    bob.inbound[0].addEventListener('message', (e) => { for (const m of decoder.decode(e.data)) seen.push(m.signal) })
    const accepting = bobCall.accept()
    await waitFor(() => attached.length === 1, 'the media attached')
    assert.equal(bob.pcs[0].answers.length, 0, 'before the answer is made')
    assert.equal(seen.some(s => s.kind === 'accept'), false, 'before the accept leaves')
    gate.release()
    await accepting
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
    assert.deepEqual(attached, [bobCall.id], 'attached once')
  })

  it('hide my IP turned on since the ring: nothing goes on the connection made while it rang; the call is made again through TURN only', async () => {
    const gate = { release: () => {} }
    const attached: string[] = []
    let hide = false
    const factories: { bob?: PeerConnectionFactory } = {}
    const { alice, bob, network } = await pair({
      attachMedia: async (callId) => { attached.push(callId) },
      iceServers: async () => [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }]
    }, { bob: { createPeerConnection: slowAnswers(factories, gate), hideMyIp: () => hide } })
    factories.bob = fakeFactory(bob, network)
    const ringing = nextIncoming(bob)
    await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.transceivers[0].direction === 'sendrecv', 'the offer applied')
    hide = true
    const accepting = bobCall.accept()
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(attached, [], 'not on the connection hide my IP throws away')
    gate.release()
    await accepting.catch(() => {})
    await waitFor(() => bob.pcs.length === 2, 'a connection made again')
    assert.equal(bob.pcs[1].config.iceTransportPolicy, 'relay')
    await waitFor(() => bob.pcs[0].closed, 'the connection made while it rang closed')
    // The new connection is made with its media (the factory's): nothing is attached to either.
    assert.deepEqual(attached, [])
  })
})
