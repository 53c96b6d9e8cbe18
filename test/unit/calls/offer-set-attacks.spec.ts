/**
 * The caller's offer set while its ring leaves (session.ts place(), commit
 * 327be53), seen from the edges: an offer that fails to be set once the ring
 * left, or before the stream opened, or that is never set at all. What the
 * caller's host hears (service.ts: never `outgoing` for a call whose place()
 * throws), what the callee is sent, and that place() returns once the call
 * is over (PeerCalls writes the call into the thread only once it returns).
 */
import assert from 'node:assert/strict'
import type { CallServiceEvent } from '../../../src/calls/index.js'
import type { Signal } from '../../../src/calls/wire.js'
import { alteredFactory, heldAnswerFactory, nextIncoming, pair, party, setFactory, stopAll, tap, target, waitFor } from './helpers.js'

describe('calls: the caller\'s offer failing, or never set, while its ring leaves', () => {
  afterEach(stopAll)

  it('an offer that fails to be set after the ring left: place() throws, and the caller\'s host is not told of an outgoing call', async () => {
    const held = heldAnswerFactory(() => alice, () => network, { fail: true, offer: true })
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { alice: { createPeerConnection: held.factory } })
    const heard: Array<CallServiceEvent['type']> = []
    alice.service.on((event) => { heard.push(event.type) })
    const ringing = nextIncoming(bob)
    const placing = alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    held.release()
    await assert.rejects(placing, /could not be set/)
    await waitFor(() => bobCall.over, 'the callee told')
    assert.deepEqual(heard, ['ended'], 'place() threw: the host hears the error and the end, not an outgoing call (before: outgoing, then ended)')
  })

  it('an offer that failed to be set before the stream opened: no ring leaves (the callee does not ring for a call already over)', async () => {
    const { alice, bob, network } = await pair({ attachMedia: async () => {} })
    setFactory(alice, alteredFactory(alice, network, (pc) => { pc.setLocalDescription = async () => { throw new Error('the offer could not be set') } }))
    // Bob's device takes 30 ms to take the stream: the offer has failed by then.
    const handler = bob.handler
    const toBob: Signal[][] = []
    bob.handler = async (stream, connection) => {
      toBob.push(tap(stream))
      await new Promise(resolve => setTimeout(resolve, 30))
      await handler?.(stream, connection)
    }
    const heard: Array<CallServiceEvent['type']> = []
    bob.service.on((event) => { heard.push(event.type) })
    await assert.rejects(alice.service.place(target(bob), party(bob)), /could not be set/)
    await new Promise(resolve => setTimeout(resolve, 50))
    assert.deepEqual(toBob.flat().map(s => s.kind).filter(k => k === 'ring'), [], 'no ring for a call whose offer had already failed (before: a ring, then its hang-up)')
    assert.deepEqual(heard, [], 'the callee heard of no call')
  })

  it('an offer that is never set (a stuck WebRTC stack): the ring times out, and place() returns the call ended', async () => {
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { alice: { ringTimeoutMs: 100 } })
    setFactory(alice, alteredFactory(alice, network, (pc) => { pc.setLocalDescription = async () => await new Promise<never>(() => {}) }))
    const ringing = nextIncoming(bob)
    const placing = alice.service.place(target(bob), party(bob))
    await ringing
    const outcome = await Promise.race([
      placing.then(call => call, (err: Error) => err),
      new Promise<'pending'>(resolve => setTimeout(() => { resolve('pending') }, 1_000))
    ])
    if (outcome === 'pending') assert.fail('place() returns once the call is over (before: never, so no thread event was written)')
    if (outcome instanceof Error) assert.fail(`place() returned the call, not ${outcome.message}`)
    assert.equal(outcome.endReason, 'missed')
    assert.equal(alice.service.active.length, 0)
  })
})
