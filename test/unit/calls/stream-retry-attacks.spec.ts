/**
 * Attacks on the second try at a call stream (src/calls/open-stream.ts):
 * may it ring a device other than the one the verified record names, ring
 * one device twice for one call, or be made to dial and open streams
 * without bound? Connections are in-memory stubs (as in
 * stream-retry.spec.ts); Bob's call service is real. All held on the code
 * as merged; kept as coverage.
 */
import assert from 'node:assert/strict'
import type { PeerId } from '@libp2p/interface'
import { connect, newParty, pair, stopAll, waitFor } from './helpers.js'
import { eof, stub, stubbedCaller } from './stream-stubs.js'
import type { StubConnection } from './stream-stubs.js'

describe('calls: the second try at a call stream under attack', () => {
  afterEach(stopAll)



  const remote = { account: '', handle: 'bob~test', contact: true }

  it('held: the fresh dial of the second try reaches another peer: refused as a binding error, nothing rung, no third try', async () => {
    const { bob } = await pair()
    const rang: unknown[] = []
    bob.service.on(e => { if (e.type === 'incoming') rang.push(e) })
    const alice = await newParty()
    const mallory = (await newParty()).device.peerId
    const givenUp = stub(bob.party.device.peerId, 'direct', eof)
    const impostor = stub(mallory, 'direct', async () => await connect(bob, alice.device.peerId))
    let dials = 0
    const service = await stubbedCaller(bob, alice, () => [givenUp], async () => { dials++; return impostor })
    await assert.rejects(service.place([{ peerId: bob.party.device.peerId, addrs: [] }], remote), { name: 'CallUnreachableError', message: /reached/ })
    assert.deepEqual([givenUp.streams, impostor.streams, dials, rang.length], [1, 0, 1, 0])
  })

  it('held: a first try whose stream reached the callee but whose answer never came back: the callee rings once, not twice', async () => {
    const { bob } = await pair()
    const rang: unknown[] = []
    bob.service.on(e => { if (e.type === 'incoming') rang.push(e) })
    const alice = await newParty()
    const me = alice.device.peerId
    // The stream opens at Bob (his handler has it) but our side never hears so: its try times out.
    const lost = stub(bob.party.device.peerId, 'direct', async (options) => {
      const stream = await connect(bob, me)
      return await new Promise((_resolve, reject) => {
        options.signal.addEventListener('abort', () => { stream.abort(options.signal.reason as Error); reject(options.signal.reason) }, { once: true })
      })
    })
    const relayed = stub(bob.party.device.peerId, 'relayed', async () => await connect(bob, me))
    const service = await stubbedCaller(bob, alice, () => [lost, relayed], async () => { throw new Error('no dial expected') })
    const call = await service.place([{ peerId: bob.party.device.peerId, addrs: [] }], remote)
    await waitFor(() => rang.length > 0 || call.over, 'the ring')
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.equal(rang.length, 1, 'one ring')
    assert.equal(bob.service.active.length, 1, 'one call at the callee')
    assert.deepEqual([lost.streams, relayed.streams], [1, 1])
    call.hangUp()
  })

  it('held: several devices that all fail: two tries each and at most one dial each, then unreachable', async () => {
    const { bob } = await pair()
    const alice = await newParty()
    const devices = await Promise.all([1, 2, 3].map(async () => (await newParty()).device.peerId))
    const open = new Map(devices.map(d => [d.toString(), [stub(d, 'direct', eof)]]))
    const dialled: StubConnection[] = []
    const service = await stubbedCaller(bob, alice, (peer) => open.get(peer.toString()) ?? [], async (to) => {
      const c = stub(to as PeerId, 'direct', eof)
      dialled.push(c)
      return c
    })
    await assert.rejects(service.place(devices.map(peerId => ({ peerId, addrs: [] })), remote), { name: 'CallUnreachableError' })
    const tries = [...open.values()].flat().reduce((n, c) => n + c.streams, 0) + dialled.reduce((n, c) => n + c.streams, 0)
    assert.equal(tries, 6, 'two tries per device')
    assert.equal(dialled.length, 3, 'one fresh dial per device, for its second try')
  })
})
