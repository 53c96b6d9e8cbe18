/**
 * A call stream that the callee resets (or closes) before the caller's
 * channel listens to it (src/calls/channel.ts). The callee's device can
 * drop a stream as soon as it opens (too many attempts, its service
 * stopping), and that reset can be read in the same batch as the stream's
 * opening: gone before `place()` wraps the stream in its channel. The
 * caller must hear it and end the call at once as unreachable, not ring
 * for the 60 s ring time. The streams are in-memory pairs; Bob's handler
 * is the test's.
 */
import assert from 'node:assert/strict'
import type { PeerId, Stream } from '@libp2p/interface'
import { connect, newParty, pair, stopAll, waitFor } from './helpers.js'
import type { Side } from './helpers.js'
import { stub, stubbedCaller } from './stream-stubs.js'

const target = (bob: Side): Array<{ peerId: PeerId, addrs: [] }> => [{ peerId: bob.party.device.peerId, addrs: [] }]
const remote = { account: '', handle: 'bob~test', contact: true }

/** Alice's call service whose stream to Bob is handed over only once `gone` holds for it (what Bob's handler did has arrived). */
async function callerAfter (bob: Side, gone: (stream: Stream) => boolean): Promise<Awaited<ReturnType<typeof stubbedCaller>>> {
  const alice = await newParty()
  const connection = stub(bob.party.device.peerId, 'direct', async () => {
    const stream = await connect(bob, alice.device.peerId)
    await waitFor(() => gone(stream), 'what Bob did to the stream, at Alice\'s end')
    return stream
  })
  return await stubbedCaller(bob, alice, () => [connection], async () => { throw new Error('no dial expected') })
}

describe('calls: a call stream gone before the caller listens to it', () => {
  afterEach(stopAll)

  it('reset by the callee as it opened: the call ends at once as unreachable, it does not ring out', async () => {
    const { bob } = await pair()
    bob.handler = (stream) => { stream.abort(new Error('too many call attempts')) }
    const service = await callerAfter(bob, (stream) => stream.status !== 'open')
    try {
      const call = await service.place(target(bob), remote)
      await new Promise(resolve => setTimeout(resolve, 50))
      assert.equal(call.state, 'ended', 'the call ended (before: it stayed "calling" for the ring time)')
      assert.equal(call.endReason, 'unreachable')
      assert.equal(service.active.length, 0)
    } finally {
      await service.stop()
    }
  })

  it('closed by the callee with nothing said: the call ends at once as unreachable', async () => {
    const { bob } = await pair()
    bob.handler = (stream) => { void stream.close() }
    const service = await callerAfter(bob, (stream) => stream.remoteWriteStatus === 'closed')
    try {
      const call = await service.place(target(bob), remote)
      await new Promise(resolve => setTimeout(resolve, 50))
      assert.equal(call.state, 'ended')
      assert.equal(call.endReason, 'unreachable')
    } finally {
      await service.stop()
    }
  })
})
