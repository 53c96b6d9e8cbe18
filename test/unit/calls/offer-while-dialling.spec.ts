/**
 * The caller makes its connection and offer while its stream to the callee
 * opens (src/calls/pending-channel.ts), and keeps every rule: nothing leaves
 * before the stream is open and the ring goes first on it, with no address;
 * the candidates gathered meanwhile wait for the accept; hide my IP decides
 * the connection's policy before it is made; a call that reaches nobody, or
 * is hung up while it dials, closes what it made (its end event lets the
 * host's media go) and never rings. The stream's opening is held by the test.
 */
import assert from 'node:assert/strict'
import type { Connection, Stream } from '@libp2p/interface'
import { CallService } from '../../../src/calls/index.js'
import type { CallServiceComponents, CallServiceEvent, CallServiceInit, CallSession } from '../../../src/calls/index.js'
import { NOW, connect, crypto, fakeFactory, pair, stopAll, waitFor, tap } from './helpers.js'
import type { Side } from './helpers.js'

interface Dialling { caller: Side, bob: Side, open: () => void, fail: () => void }

/** Alice's device as a caller whose stream to Bob opens only when the test says (or never: `fail`). */
async function dialling (init: Partial<CallServiceInit> = {}): Promise<Dialling> {
  const { alice, bob, network } = await pair()
  let release!: (ok: boolean) => void
  const gate = new Promise<boolean>(resolve => { release = resolve })
  const caller: Side = { party: alice.party, callers: alice.callers, pcs: [], inbound: [], dialled: [], service: undefined as unknown as CallService }
  caller.service = new CallService({
    registrar: { handle: async () => {}, unhandle: async () => {} },
    dialer: {
      dial: async () => ({
        remotePeer: bob.party.device.peerId,
        newStream: async (): Promise<Stream> => {
          if (!await gate) throw new Error('no route to the device')
          return await connect(bob, alice.party.device.peerId)
        }
      }) as unknown as Connection
    } as unknown as CallServiceComponents['dialer']
  }, { crypto, callers: alice.callers, createPeerConnection: fakeFactory(caller, network), deviceRecord: () => alice.party.record, name: 'alice', now: () => NOW, ...init })
  await caller.service.start()
  return { caller, bob, open: () => { release(true) }, fail: () => { release(false) } }
}

const bobTarget = (bob: Side): Array<{ peerId: Side['party']['device']['peerId'], addrs: [] }> => [{ peerId: bob.party.device.peerId, addrs: [] }]
const bobParty = (bob: Side): { account: string, handle: string, contact: boolean } => ({ account: Buffer.from(bob.party.account.publicKey).toString('hex'), handle: 'bob~test', contact: true })

/** Every frame Bob's end of the stream receives, in order. */

describe('calls: the caller\'s connection and offer while its stream opens', () => {
  const services: CallService[] = []
  afterEach(async () => {
    for (const s of services.splice(0)) await s.stop()
    await stopAll()
  })

  it('the offer is made before the stream opens; the ring leaves first once it is open, with no address, and candidates only after the accept', async () => {
    const { caller, bob, open } = await dialling()
    services.push(caller.service)
    const incoming: CallSession[] = []
    bob.service.on((e: CallServiceEvent) => { if (e.type === 'incoming') incoming.push(e.call) })
    const placing = caller.service.place(bobTarget(bob), bobParty(bob))
    await waitFor(() => caller.pcs[0]?.local?.type === 'offer', 'the offer made while the stream opens')
    // Gathering has run (the fake gathers 1 ms after the offer is set): nothing could leave, there is no stream.
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(bob.inbound.length, 0)
    open()
    await waitFor(() => bob.inbound.length === 1, 'the stream open')
    const call = await placing
    await waitFor(() => incoming.length === 1, 'Bob\'s device rings')
    assert.equal(call.state, 'calling')
    assert.equal(call.pc, caller.pcs[0], 'the call took the connection made while dialling')
    assert.equal(caller.pcs.length, 1)
    // The ring's offer names no address, and nothing but what the callee may see was sent before its accept.
    assert.deepEqual(call.received, { sdps: [], candidates: [] })
    assert.equal(incoming[0].received.sdps.length, 1)
    assert.doesNotMatch(incoming[0].received.sdps[0], /a=candidate|192\.0\.2\.7/)
    assert.deepEqual(incoming[0].received.candidates, [])
    await incoming[0].accept()
    await waitFor(() => call.state === 'connected', 'connected')
    assert.ok(incoming[0].received.candidates.length > 0, 'the caller\'s candidates, held while dialling, sent after the accept')
  })

  it('hide my IP: the connection made while dialling is relay-only, decided before it is made', async () => {
    const { caller, bob, open } = await dialling({
      hideMyIp: () => true,
      iceServers: async () => [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }]
    })
    services.push(caller.service)
    const placing = caller.service.place(bobTarget(bob), bobParty(bob))
    await waitFor(() => caller.pcs.length === 1, 'the connection made while the stream opens')
    assert.equal(caller.pcs[0].config.iceTransportPolicy, 'relay')
    open()
    const call = await placing
    call.hangUp()
  })

  it('nobody reached: the connection made meanwhile is closed, the call ends as unreachable (its end lets the host\'s media go), nothing rings', async () => {
    const { caller, bob, fail } = await dialling()
    services.push(caller.service)
    const ended: string[] = []
    caller.service.on((e: CallServiceEvent) => { if (e.type === 'ended') ended.push(e.reason) })
    const placing = caller.service.place(bobTarget(bob), bobParty(bob))
    await waitFor(() => caller.pcs[0]?.local != null, 'the offer made while the stream opens')
    fail()
    await assert.rejects(placing, { name: 'CallUnreachableError' })
    await waitFor(() => caller.pcs[0].closed, 'the connection closed')
    assert.deepEqual(ended, ['unreachable'])
    assert.equal(caller.service.active.length, 0)
    assert.equal(bob.inbound.length, 0)
  })

  it('hung up while dialling: the stream, when it opens, is closed without a ring', async () => {
    const { caller, bob, open } = await dialling()
    services.push(caller.service)
    const incoming: CallSession[] = []
    bob.service.on((e: CallServiceEvent) => { if (e.type === 'incoming') incoming.push(e.call) })
    const placing = caller.service.place(bobTarget(bob), bobParty(bob))
    await waitFor(() => caller.service.active.length === 1 && caller.pcs[0]?.local != null, 'dialling')
    caller.service.active[0].hangUp()
    await waitFor(() => caller.pcs[0].closed, 'the connection closed')
    open()
    await waitFor(() => bob.inbound.length === 1, 'the stream open')
    const heard = tap(bob.inbound[0])
    await placing.catch(() => {})
    await waitFor(() => bob.inbound[0].status !== 'open' || bob.inbound[0].readStatus !== 'readable', 'the stream closed')
    assert.deepEqual(heard, [])
    assert.equal(incoming.length, 0)
  })
})
