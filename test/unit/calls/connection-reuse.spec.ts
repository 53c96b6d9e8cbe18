/**
 * Placing a call over a connection already open to the callee's device
 * (src/calls/service.ts): between two tabs only relayed (limited)
 * connections may be open, and libp2p's dial then tries another circuit,
 * which was refused ("Remote closed connection during opening"): the call
 * must use the open one. A connection to another peer is never used.
 */
import assert from 'node:assert/strict'
import type { CallServiceComponents, CallServiceEvent } from '../../../src/calls/index.js'
import { CallService } from '../../../src/calls/index.js'
import { FakeNetwork, NOW, connect, crypto, fakeFactory, newParty, pair, stopAll, waitFor } from './helpers.js'
import type { Side, TestParty } from './helpers.js'

describe('calls: an open connection to the device is used', () => {
  afterEach(stopAll)

  async function caller (bob: Side, alice: TestParty, connections: (peer: unknown) => unknown[]): Promise<{ service: CallService, dials: () => number }> {
    bob.callers.add(alice, 'contact', 'alice~test')
    let dials = 0
    const pcs = { pcs: [] }
    const network = new FakeNetwork()
    const service = new CallService({
      registrar: { handle: async () => {}, unhandle: async () => {} },
      dialer: {
        dial: async () => { dials++; throw new Error('Remote closed connection during opening') },
        getConnections: connections
      } as unknown as CallServiceComponents['dialer']
    }, { crypto, callers: bob.callers, createPeerConnection: fakeFactory(pcs, () => network), deviceRecord: () => alice.record, name: 'alice', now: () => NOW })
    await service.start()
    return { service, dials: () => dials }
  }

  it('rings over an open relayed connection instead of dialling another', async () => {
    const { bob } = await pair()
    const incoming: CallServiceEvent[] = []
    bob.service.on(e => { if (e.type === 'incoming') incoming.push(e) })
    const alice = await newParty()
    const { service, dials } = await caller(bob, alice, (peer) => [{
      status: 'open',
      limits: { bytes: 0n },
      remotePeer: peer,
      newStream: async () => await connect(bob, alice.device.peerId)
    }])
    const call = await service.place([{ peerId: bob.party.device.peerId, addrs: [] }], { account: '', handle: 'bob~test', contact: true })
    assert.equal(dials(), 0, 'no new dial')
    await waitFor(() => incoming.length === 1 || call.over, 'the ring')
    assert.equal(incoming.length, 1, `Bob's device rang (the call is ${call.state}: ${String(call.endReason)})`)
    call.hangUp()
    await service.stop()
  })

  it('a connection that turns out to be another peer\'s is not rung', async () => {
    const { bob } = await pair()
    const other = await newParty()
    let streams = 0
    const { service } = await caller(bob, await newParty(), () => [{ status: 'open', limits: undefined, remotePeer: other.device.peerId, newStream: async () => { streams++; throw new Error('no stream expected') } }])
    await assert.rejects(service.place([{ peerId: bob.party.device.peerId, addrs: [] }], { account: '', handle: 'bob~test', contact: true }), { name: 'CallUnreachableError' })
    assert.equal(streams, 0)
    await service.stop()
  })
})
