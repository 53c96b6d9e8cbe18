/**
 * When the host hears of a call it placed (service.ts place(): `outgoing`
 * once the ring has left): never after the call's end. A call whose stream
 * is dropped while its connection is still being made (the caller's
 * microphone prompt open longer than the callee waits for a ring) ends
 * before any ring leaves: the host hears `outgoing`, then `ended`, as it did
 * before the event moved, not an `outgoing` for a call already over (a tab
 * then showed an ended screen that never closed).
 */
import assert from 'node:assert/strict'
import type { CallServiceEvent } from '../../../src/calls/index.js'
import { droppedWhileMaking, pair, party, stopAll, target, waitFor } from './helpers.js'

describe('calls: the host hears of a placed call before its end', () => {
  afterEach(async () => { await stopAll() })

  it('a call whose stream is dropped while its connection is made: outgoing, then ended; place() gives the ended call', async () => {
    const { alice, bob, release } = await droppedWhileMaking()
    const seen: Array<{ type: CallServiceEvent['type'], over: boolean }> = []
    alice.service.on((event) => { seen.push({ type: event.type, over: event.call.over }) })
    const placing = alice.service.place(target(bob), party(bob))
    await waitFor(() => seen.some(e => e.type === 'ended'), 'the call ended with its stream')
    release()
    const call = await placing
    assert.equal(call.over, true)
    assert.equal(call.endReason, 'unreachable')
    assert.deepEqual(seen, [{ type: 'outgoing', over: false }, { type: 'ended', over: true }])
    assert.ok(alice.pcs.every(pc => pc.closed), 'the connection made after the end is closed')
  })

  it('a host that hangs up on hearing of it as it ends: one end', async () => {
    const { alice, bob, release } = await droppedWhileMaking()
    const seen: string[] = []
    alice.service.on((event) => {
      seen.push(event.type)
      if (event.type === 'outgoing') event.call.hangUp()
    })
    const placing = alice.service.place(target(bob), party(bob))
    await waitFor(() => seen.includes('ended'), 'the end')
    release()
    const call = await placing
    await new Promise(resolve => setTimeout(resolve, 10))
    assert.deepEqual(seen, ['outgoing', 'ended'])
    assert.equal(call.over, true)
  })

  it('a call placed as usual: outgoing once, after the ring left, before any end', async () => {
    const { alice, bob } = await pair()
    const seen: string[] = []
    alice.service.on((event) => { seen.push(event.type) })
    const call = await alice.service.place(target(bob), party(bob))
    assert.deepEqual(seen, ['outgoing'])
    call.hangUp()
    await waitFor(() => seen.length === 2, 'the end')
    assert.deepEqual(seen, ['outgoing', 'ended'])
  })

  it('a call whose connection cannot be made (place() throws): the host hears its end only, no outgoing', async () => {
    const { alice, bob } = await pair({ hideMyIp: () => true })
    const seen: string[] = []
    alice.service.on((event) => { seen.push(event.type) })
    await assert.rejects(alice.service.place(target(bob), party(bob)), /hide my IP/)
    assert.deepEqual(seen, ['ended'])
  })
})
