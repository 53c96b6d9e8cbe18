/**
 * The caller's ring leaves with its offer as soon as the offer is made,
 * while its connection sets it (4-8 ms of WebRTC's threads in a tab): the
 * callee applies it meanwhile. The callee's answer is applied only once the
 * offer is set; an offer that then fails to be set ends the call on both
 * sides, and place() says why.
 */
import assert from 'node:assert/strict'
import { heldAnswerFactory, nextIncoming, pair, party, stopAll, tap, target, waitFor } from './helpers.js'
import type { Side } from './helpers.js'

describe('calls: the ring leaves while the caller\'s offer is set', () => {
  afterEach(stopAll)

  async function heldOffer (options: { fail?: boolean } = {}): Promise<{ alice: Side, bob: Side, release: () => void }> {
    const held = heldAnswerFactory(() => alice, () => network, { ...options, offer: true })
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { alice: { createPeerConnection: held.factory } })
    return { alice, bob, release: held.release }
  }

  it('the callee rings, and its answer made, before the caller\'s offer is set; the answer is applied only once it is, and the call connects', async () => {
    const { alice, bob, release } = await heldOffer()
    const ringing = nextIncoming(bob)
    const placing = alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    assert.equal(alice.pcs[0].local, undefined, 'the offer is not set yet')
    await waitFor(() => bob.pcs[0]?.answers.length === 1, 'the answer made while the offer is set at the caller')
    const applied: string[] = []
    const setRemote = alice.pcs[0].setRemoteDescription.bind(alice.pcs[0])
    alice.pcs[0].setRemoteDescription = async (d) => { applied.push(`${d.type} after offer ${alice.pcs[0].local?.type ?? 'unset'}`); await setRemote(d) }
    await bobCall.accept()
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(applied, [], 'the answer waits for the offer to be set')
    release()
    const call = await placing
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
    assert.deepEqual(applied, ['answer after offer offer'])
  })

  it('an offer that fails to be set after the ring left ends the call on both sides: the callee hears it, place() says why', async () => {
    const { alice, bob, release } = await heldOffer({ fail: true })
    const ringing = nextIncoming(bob)
    const placing = alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    const fromAlice = tap(bob.inbound[0])
    release()
    await assert.rejects(placing, /could not be set/)
    await waitFor(() => bobCall.over, 'the callee told')
    assert.deepEqual(fromAlice.map(s => s.kind), ['hangup'])
    assert.equal(alice.service.active.length, 0)
    await waitFor(() => alice.pcs[0].closed, 'the caller\'s connection closed')
  })
})
