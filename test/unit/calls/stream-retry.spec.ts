/**
 * A call stream that fails to open on a connection is tried once more
 * (src/calls/open-stream.ts). Seen between two tabs: the caller's only
 * unlimited connection to the callee was one the callee had given up (a
 * WebRTC dial that stalled on its side, README, known upstream issues); the
 * stream on it ended with "Unexpected EOF" six seconds later and the call
 * said "no device could be reached" although a relayed connection to the
 * same device was open. Here the connections are in-memory stubs: one
 * that fails or never answers, then one that reaches the callee's handler.
 */
import assert from 'node:assert/strict'
import type { PeerId } from '@libp2p/interface'
import type { CallServiceEvent } from '../../../src/calls/index.js'
import { connect, newParty, pair, stopAll, waitFor } from './helpers.js'
import type { Side } from './helpers.js'
import { eof, silent, stub, stubbedCaller } from './stream-stubs.js'

describe('calls: a call stream that fails on one connection is tried on another', () => {
  afterEach(stopAll)

  async function rings (bob: Side): Promise<() => number> {
    const incoming: CallServiceEvent[] = []
    bob.service.on(e => { if (e.type === 'incoming') incoming.push(e) })
    return () => incoming.length
  }

  const target = (bob: Side): Array<{ peerId: PeerId, addrs: [] }> => [{ peerId: bob.party.device.peerId, addrs: [] }]
  const remote = { account: '', handle: 'bob~test', contact: true }

  it('a direct connection whose stream ends unanswered: the call rings over the relayed one', async () => {
    const { bob } = await pair()
    const rang = await rings(bob)
    const alice = await newParty()
    const me = alice.device.peerId
    const givenUp = stub(bob.party.device.peerId, 'direct', eof)
    const relayed = stub(bob.party.device.peerId, 'relayed', async () => await connect(bob, me))
    let dials = 0
    const service = await stubbedCaller(bob, alice, () => [givenUp, relayed], async () => { dials++; throw new Error('no dial expected') })
    const call = await service.place(target(bob), remote)
    await waitFor(() => rang() === 1 || call.over, 'the ring')
    assert.equal(rang(), 1, `Bob's device rang (the call is ${call.state}: ${String(call.endReason)})`)
    assert.deepEqual([givenUp.streams, relayed.streams, dials], [1, 1, 0])
    call.hangUp()
  })

  it('a connection that never answers: the second try starts when the first try\'s own time is up', async () => {
    const { bob } = await pair()
    const rang = await rings(bob)
    const alice = await newParty()
    const me = alice.device.peerId
    const givenUp = stub(bob.party.device.peerId, 'direct', silent)
    const relayed = stub(bob.party.device.peerId, 'relayed', async () => await connect(bob, me))
    const service = await stubbedCaller(bob, alice, () => [givenUp, relayed], async () => { throw new Error('no dial expected') })
    const call = await service.place(target(bob), remote)
    await waitFor(() => rang() === 1 || call.over, 'the ring')
    assert.equal(rang(), 1, `Bob's device rang (the call is ${call.state}: ${String(call.endReason)})`)
    assert.deepEqual([givenUp.streams, relayed.streams], [1, 1])
    call.hangUp()
  })

  it('the only open connection fails: a fresh connection is dialled (forced: not the one that failed)', async () => {
    const { bob } = await pair()
    const rang = await rings(bob)
    const alice = await newParty()
    const me = alice.device.peerId
    const givenUp = stub(bob.party.device.peerId, 'direct', eof)
    const forced: boolean[] = []
    const service = await stubbedCaller(bob, alice, () => [givenUp], async (_to, options) => {
      forced.push(options.force === true)
      return stub(bob.party.device.peerId, 'direct', async () => await connect(bob, me))
    })
    const call = await service.place(target(bob), remote)
    await waitFor(() => rang() === 1 || call.over, 'the ring')
    assert.equal(rang(), 1, `Bob's device rang (the call is ${call.state}: ${String(call.endReason)})`)
    assert.deepEqual(forced, [true])
  })

  it('bounded: two tries per device (one more after a failure), then "no device could be reached"', async () => {
    const { bob } = await pair()
    const alice = await newParty()
    const connections = [0, 1, 2, 3].map(() => stub(bob.party.device.peerId, 'direct', eof))
    let dials = 0
    const service = await stubbedCaller(bob, alice, () => connections, async () => { dials++; return stub(bob.party.device.peerId, 'direct', eof) })
    await assert.rejects(service.place(target(bob), remote), { name: 'CallUnreachableError', message: /Unexpected EOF/ })
    assert.equal(connections.reduce((n, c) => n + c.streams, 0), 2, 'one try and one more')
    assert.equal(dials, 0)
  })

  it('a call the caller gives up while the first try runs is not tried again', async () => {
    const { bob } = await pair()
    const alice = await newParty()
    const givenUp = stub(bob.party.device.peerId, 'direct', silent)
    const relayed = stub(bob.party.device.peerId, 'relayed', silent)
    const service = await stubbedCaller(bob, alice, () => [givenUp, relayed], async () => { throw new Error('no dial expected') })
    const abort = new AbortController()
    const placing = service.place(target(bob), remote, { signal: abort.signal })
    await waitFor(() => givenUp.streams === 1, 'the first try')
    abort.abort(new Error('the caller hung up'))
    await assert.rejects(placing, { name: 'CallUnreachableError' })
    assert.deepEqual([givenUp.streams, relayed.streams], [1, 0])
  })
})
