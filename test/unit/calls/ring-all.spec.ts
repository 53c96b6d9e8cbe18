/**
 * Ringing every device of a contact at once (src/calls/ring-group.ts), over
 * in-memory streams: Bob has two devices of one account; Alice's call rings
 * both; the first to accept gets the call and the other stops ringing as
 * "answered elsewhere" (on the device and on Alice's side, whose screen
 * follows the ring that was taken); a decline or Alice hanging up ends every
 * ring; a device that cannot be reached does not keep the others from ringing.
 */
import assert from 'node:assert/strict'
import type { Connection, PeerId, StreamHandler } from '@libp2p/interface'
import { CallService } from '../../../src/calls/index.js'
import type { CallServiceComponents, CallServiceEvent, CallSession } from '../../../src/calls/index.js'
import { signedDevice, newDevice } from '../identity/helpers.js'
import { FakeNetwork, FakePeerConnection, NOW, TestCallers, connect, crypto, newParty, waitFor } from './helpers.js'
import type { Side, TestParty } from './helpers.js'

interface Ring { alice: Side, bobs: Side[], outgoing: CallSession[], incoming: Map<Side, CallSession[]> }

/** Alice, and Bob with `devices` devices of one account (the last `unreachable` of them never answer a dial). */
async function setUp (devices: number, unreachable = 0, options: { aliceHeld?: Promise<void> } = {}): Promise<Ring> {
  const networks = new Map<string, FakeNetwork>()
  const alicePart = await newParty()
  const bobFirst = await newParty()
  const bobParties: TestParty[] = [bobFirst]
  for (let i = 1; i < devices; i++) {
    const device = await newDevice()
    const signed = await signedDevice(bobFirst.account, device)
    bobParties.push({ account: bobFirst.account, device, record: signed.value, identityKey: signed.record.identityKey })
  }
  const sides: Side[] = []
  const make = async (party: TestParty, others: () => Side[]): Promise<Side> => {
    const side: Side = { party, callers: new TestCallers(), pcs: [], inbound: [], dialled: [], service: undefined as unknown as CallService }
    side.service = new CallService({
      registrar: { handle: async (_p, handler: StreamHandler) => { side.handler = handler }, unhandle: async () => { side.handler = undefined } },
      dialer: {
        dial: async (to: PeerId) => {
          const other = others().find(o => o.party.device.peerId.equals(to))
          if (other == null || bobParties.indexOf(other.party) >= devices - unreachable) throw new Error('no route to the device')
          return { remotePeer: to, newStream: async () => await connect(other, party.device.peerId) } as unknown as Connection
        }
      } as unknown as CallServiceComponents['dialer']
    }, {
      crypto,
      callers: side.callers,
      createPeerConnection: async (config, request) => {
        // Alice's first connection (the lead ring's) waits for the test: her devices opening.
        if (party === alicePart && side.pcs.length === 0 && options.aliceHeld != null) {
          const held = options.aliceHeld
          options.aliceHeld = undefined
          await held
        }
        const network = networks.get(request.callId) ?? new FakeNetwork()
        networks.set(request.callId, network)
        const pc = new FakePeerConnection(config, network)
        side.pcs.push(pc)
        return pc
      },
      deviceRecord: () => party.record,
      name: party === alicePart ? 'alice' : 'bob',
      now: () => NOW
    })
    await side.service.start()
    sides.push(side)
    return side
  }
  const bobs: Side[] = []
  const alice = await make(alicePart, () => bobs)
  for (const p of bobParties) bobs.push(await make(p, () => [alice]))
  // Alice has Bob's devices pinned; each of Bob's devices has Alice.
  alice.callers.add(bobFirst, 'contact', 'bob~test')
  for (const p of bobParties.slice(1)) alice.callers.entries.get(Buffer.from(p.account.publicKey).toString('hex'))?.devices.set(p.device.peerId.toString(), Buffer.from(p.identityKey).toString('hex'))
  for (const b of bobs) b.callers.add(alicePart, 'contact', 'alice~test')
  const outgoing: CallSession[] = []
  alice.service.on((e: CallServiceEvent) => { if (e.type === 'outgoing') outgoing.push(e.call) })
  const incoming = new Map<Side, CallSession[]>()
  for (const b of bobs) {
    incoming.set(b, [])
    b.service.on((e: CallServiceEvent) => { if (e.type === 'incoming') incoming.get(b)?.push(e.call) })
  }
  running.push(...sides)
  return { alice, bobs, outgoing, incoming }
}

const running: Side[] = []
const targets = (r: Ring): Array<{ peerId: PeerId, addrs: [] }> => r.bobs.map(b => ({ peerId: b.party.device.peerId, addrs: [] }))
const bob = (r: Ring): { account: string, handle: string, contact: boolean } => ({ account: Buffer.from(r.bobs[0].party.account.publicKey).toString('hex'), handle: 'bob~test', contact: true })
const rang = (r: Ring, i: number): CallSession => r.incoming.get(r.bobs[i])?.[0] as CallSession

describe('calls: every device of a contact rings at once', () => {
  afterEach(async () => {
    for (const s of running.splice(0)) await s.service.stop()
  })

  it('both devices ring; the second accepts and gets the call; the first stops ringing as answered elsewhere', async () => {
    const r = await setUp(2)
    const call = await r.alice.service.place(targets(r), bob(r))
    await waitFor(() => r.bobs.every(b => r.incoming.get(b)?.length === 1), 'both devices ring')
    assert.equal(rang(r, 0).state, 'ringing')
    assert.equal(rang(r, 1).state, 'ringing')
    await rang(r, 1).accept()
    await waitFor(() => rang(r, 1).state === 'connected', 'the second device connected')
    await waitFor(() => rang(r, 0).over, 'the first device stops ringing')
    assert.equal(rang(r, 0).endReason, 'answered-elsewhere')
    // Alice's screen followed the ring that was taken; the ring it showed first says where the call went.
    const taken = r.outgoing.at(-1) as CallSession
    assert.notEqual(taken, call)
    assert.equal(taken.remote.device.toString(), r.bobs[1].party.device.peerId.toString())
    await waitFor(() => taken.state === 'connected', 'Alice connected')
    assert.equal(call.endReason, 'answered-elsewhere')
    assert.equal(call.continuedBy, taken)
    assert.equal(r.alice.service.active.length, 1)
    // The first device made no connection that stays open, and heard nothing of Alice's addresses.
    assert.ok(r.bobs[0].pcs.every(pc => pc.closed))
    assert.deepEqual(rang(r, 0).received.candidates, [])
  })

  it('the second device accepts while the lead ring\'s connection is still being made: the host\'s last outgoing is the call taken, never the lead that ended', async () => {
    let release = (): void => {}
    const r = await setUp(2, 0, { aliceHeld: new Promise<void>(resolve => { release = resolve }) })
    const order: Array<{ type: string, id: string, over: boolean }> = []
    r.alice.service.on((e) => { order.push({ type: e.type, id: e.call.id, over: e.call.over }) })
    const placing = r.alice.service.place(targets(r), bob(r))
    // Only the second device rings (the lead's ring waits for its connection); it accepts.
    await waitFor(() => r.incoming.get(r.bobs[1])?.length === 1, 'the second device rings')
    await rang(r, 1).accept()
    await waitFor(() => r.outgoing.length === 1, 'the screen follows the call taken')
    const taken = r.outgoing[0]
    release()
    const lead = await placing
    assert.equal(lead.over, true)
    assert.equal(lead.continuedBy, taken)
    await waitFor(() => taken.state === 'connected', 'connected')
    assert.equal(r.outgoing.at(-1), taken, 'the screen stays on the call taken')
    assert.deepEqual(order.filter(e => e.type === 'outgoing').map(e => e.over), [false], 'no outgoing for a call over')
  })

  it('the first device accepts: the second stops ringing; Alice\'s screen stays on the call', async () => {
    const r = await setUp(2)
    const call = await r.alice.service.place(targets(r), bob(r))
    await waitFor(() => r.bobs.every(b => r.incoming.get(b)?.length === 1), 'both devices ring')
    await rang(r, 0).accept()
    await waitFor(() => call.state === 'connected' && rang(r, 1).over, 'connected, the other stopped')
    assert.equal(rang(r, 1).endReason, 'answered-elsewhere')
    assert.equal(r.outgoing.length, 1)
    assert.equal(call.continuedBy, undefined)
  })

  it('a decline from one device, or Alice hanging up, ends every ring', async () => {
    const r = await setUp(2)
    const call = await r.alice.service.place(targets(r), bob(r))
    await waitFor(() => r.bobs.every(b => r.incoming.get(b)?.length === 1), 'both devices ring')
    rang(r, 1).decline()
    await waitFor(() => call.over && rang(r, 0).over, 'every ring ended')
    assert.equal(call.endReason, 'declined')
    assert.equal(rang(r, 0).endReason, 'missed')
    assert.equal(r.alice.service.active.length, 0)

    const again = await setUp(2)
    const second = await again.alice.service.place(targets(again), bob(again))
    await waitFor(() => again.bobs.every(b => again.incoming.get(b)?.length === 1), 'both devices ring')
    second.hangUp()
    await waitFor(() => again.bobs.every((_b, i) => rang(again, i).over), 'both devices stop ringing')
    assert.deepEqual(again.bobs.map((_b, i) => rang(again, i).endReason), ['missed', 'missed'])
    assert.equal(again.alice.service.active.length, 0)
  })

  it('a device that cannot be reached does not keep the others from ringing', async () => {
    const r = await setUp(3, 1)
    const call = await r.alice.service.place(targets(r), bob(r))
    await waitFor(() => r.bobs.slice(0, 2).every(b => r.incoming.get(b)?.length === 1), 'the two reachable devices ring')
    await rang(r, 1).accept()
    await waitFor(() => (r.outgoing.at(-1) as CallSession).state === 'connected' && rang(r, 0).over, 'connected')
    assert.equal(call.continuedBy?.state, 'connected')
  })
})
