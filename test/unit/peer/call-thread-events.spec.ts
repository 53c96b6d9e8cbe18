/**
 * The call event the caller writes into the thread (src/peer/calls.ts,
 * PeerCalls.place): one for every call it placed, never two, also when the
 * call ended before `place()` returned (its stream dropped while its
 * connection was made, or a host that hung up on hearing of it). The call
 * services are src/calls' over in-memory streams (test/unit/calls/helpers.ts);
 * the messenger is a fake that records what would be sent.
 */
import assert from 'node:assert/strict'
import { PeerCalls } from '../../../src/peer/calls.js'
import type { PeerCallsInit } from '../../../src/peer/calls.js'
import type { CallService } from '../../../src/calls/index.js'
import type { CallBody } from '../../../src/messenger/model/index.js'
import { crypto, droppedWhileMaking, pair, stopAll } from '../calls/helpers.js'
import type { Side } from '../calls/helpers.js'

/** Alice's calls as her peer has them, over `alice`'s call service; `written` is what went into the thread. */
function peerCalls (alice: Side, bob: Side): { calls: PeerCalls, written: Array<Partial<CallBody>> } {
  const written: Array<Partial<CallBody>> = []
  const messenger = {
    recipient: async (handle: string) => ({ handle, account: bob.party.account.publicKey, devices: [{ peerId: bob.party.device.peerId, addrs: [] }] }),
    send: async (_handle: string, body: Partial<CallBody>) => { written.push(body) }
  }
  const calls = new PeerCalls({
    crypto,
    node: {} as unknown as PeerCallsInit['node'],
    directory: {} as unknown as PeerCallsInit['directory'],
    messenger: messenger as unknown as PeerCallsInit['messenger'],
    createPeerConnection: async () => { throw new Error('the test\'s call service makes the connections') },
    relays: [],
    name: 'alice',
    now: Date.now
  })
  // Alice's service from the call tests (in-memory streams to Bob's), in place of one on a libp2p node.
  ;(calls as unknown as { service: CallService }).service = alice.service
  return { calls, written }
}

/** Lets what is under way (the thread write is asynchronous) settle. */
async function settle (): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, 50))
}

describe('peer: a placed call ends up as one event in the caller\'s thread', () => {
  afterEach(stopAll)

  it('its stream dropped while its connection was made (over before place() returned): one missed call', async () => {
    const { alice, bob, release } = await droppedWhileMaking()
    const { calls, written } = peerCalls(alice, bob)
    const ended = new Promise<void>(resolve => { alice.service.on(e => { if (e.type === 'ended') resolve() }) })
    const placing = calls.place('bob~test')
    await ended
    release()
    const call = await placing
    assert.equal(call.endReason, 'unreachable')
    await settle()
    assert.deepEqual(written, [{ kind: 'call', outcome: 'missed', durationMs: 0, video: false }])
  })

  it('a host that hangs up on hearing of it (its ring left; over before place() returned): one missed call', async () => {
    const { alice, bob } = await pair()
    alice.service.on((event) => { if (event.type === 'outgoing') event.call.hangUp() })
    const { calls, written } = peerCalls(alice, bob)
    const call = await calls.place('bob~test')
    assert.equal(call.endReason, 'missed')
    await settle()
    assert.deepEqual(written, [{ kind: 'call', outcome: 'missed', durationMs: 0, video: false }])
  })
})
