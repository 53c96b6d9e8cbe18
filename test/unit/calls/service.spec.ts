/**
 * The call state machine over in-memory streams and fake peer connections:
 * what each side sees and sends, in order, for a call that connects, one
 * that is declined, busy, missed (a 60 s ring on fake timers), hung up
 * (also in-band, with the signalling stream gone), a stranger's call, hide
 * my IP, and ICE restarts.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import type { CallServiceEvent, CallSession } from '../../../src/calls/index.js'
import { RING_TIMEOUT_MS, sdpHasAddresses } from '../../../src/calls/index.js'
import { connect, newParty, pair, stopAll, waitFor, target, tap } from './helpers.js'
import type { Side } from './helpers.js'

const bobParty = (side: Side): { account: string, handle: string, contact: boolean } => ({ account: Buffer.from(side.party.account.publicKey).toString('hex'), handle: 'bob~test', contact: true })

/** The next call event of `type` on `side`. */
async function next<T extends CallServiceEvent['type']> (side: Side, type: T): Promise<Extract<CallServiceEvent, { type: T }>> {
  return await new Promise(resolve => {
    const off = side.service.on((event) => {
      if (event.type !== type) return
      off()
      resolve(event as Extract<CallServiceEvent, { type: T }>)
    })
  })
}

/** Every signal arriving on a stream, decoded as it comes. */

async function connected (a: CallSession, b: CallSession): Promise<void> {
  await waitFor(() => a.state === 'connected' && b.state === 'connected', 'both sides connected')
}

describe('calls: the state machine over in-memory streams', () => {
  let timers: FakeTimers.Clock | undefined
  afterEach(async () => {
    timers?.uninstall()
    timers = undefined
    await stopAll()
  })

  it('connects: ring, ringing, accept, answer; no address leaves before the callee accepts', async () => {
    const { alice, bob } = await pair()
    const incoming = next(bob, 'incoming')
    const call = await alice.service.place(target(bob), bobParty(bob))
    const { call: bobCall } = await incoming
    const received = tap(bob.inbound[0])
    assert.equal(bobCall.state, 'ringing')
    assert.equal(bobCall.request, false)
    assert.equal(bobCall.remote.handle, 'alice~test')
    await waitFor(() => call.state === 'calling' && alice.pcs[0]?.local != null)
    // The callee made no connection while it rings; the caller's candidates wait.
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(bob.pcs.length, 0)
    assert.equal(received.filter(s => s.kind === 'candidate').length, 0)
    await bobCall.accept()
    assert.equal(bob.pcs.length, 1)
    const offer = bob.pcs[0].remote?.sdp ?? ''
    assert.equal(sdpHasAddresses(offer), false, offer)
    assert.match(offer, /a=fingerprint:sha-256 /)
    assert.doesNotMatch(offer, /192\.0\.2\.7/)
    const answer = alice.pcs[0].remote?.sdp ?? ''
    assert.equal(sdpHasAddresses(answer), false, answer)
    await connected(call, bobCall)
    // Candidates crossed only after the accept.
    assert.ok(received.some(s => s.kind === 'candidate'))
    assert.equal(call.remote.device.toString(), bob.party.device.peerId.toString())
    const stats = await call.stats()
    assert.equal(stats?.localCandidateType, 'host')
    assert.ok((stats?.mos ?? 0) > 4)
  })

  it('mute and camera: the track is disabled and the other side told', async () => {
    const { alice, bob } = await pair()
    const incoming = next(bob, 'incoming')
    const call = await alice.service.place(target(bob), bobParty(bob), { video: true })
    const { call: bobCall } = await incoming
    assert.equal(bobCall.video, true)
    await bobCall.accept()
    await connected(call, bobCall)
    const told = new Promise(resolve => bobCall.on(e => { if (e.type === 'remote-media') resolve(e) }))
    call.mute(true)
    assert.deepEqual(await told, { type: 'remote-media', audio: false, video: true })
    assert.equal(alice.pcs[0].senders[0].track.enabled, false)
    call.camera(false)
    await waitFor(() => !bobCall.remoteMedia.video)
    assert.deepEqual(bobCall.remoteMedia, { audio: false, video: false })
  })

  it('hang-up: both sides end, the caller with its duration; the callee learns it in-band when the stream is gone', async () => {
    const { alice, bob } = await pair()
    const incoming = next(bob, 'incoming')
    const call = await alice.service.place(target(bob), bobParty(bob))
    const { call: bobCall } = await incoming
    await bobCall.accept()
    await connected(call, bobCall)
    // The signalling stream breaks; the connected call goes on, and the hang-up goes on the data channel.
    bob.inbound[0].abort(new Error('path lost'))
    await new Promise(resolve => setTimeout(resolve, 10))
    assert.equal(bobCall.state, 'connected')
    const ended = next(bob, 'ended')
    call.hangUp()
    const event = await ended
    assert.equal(event.reason, 'remote-hangup')
    assert.equal(call.endReason, 'hangup')
    assert.ok(call.durationMs >= 0)
    assert.equal(alice.service.active.length, 0)
    assert.equal(bob.service.active.length, 0)
  })

  it('decline: the caller hears "declined"; busy: a second call while one rings hears "busy"', async () => {
    const { alice, bob } = await pair()
    const incoming = next(bob, 'incoming')
    const call = await alice.service.place(target(bob), bobParty(bob))
    const { call: bobCall } = await incoming
    // Carol (a contact of Bob's too) rings while Alice's call rings.
    const carol = await newParty()
    bob.callers.add(carol, 'contact', 'carol~test')
    const stream = await connect(bob, carol.device.peerId)
    const heard = tap(stream)
    const { encodeCallFrame } = await import('../../../src/calls/wire.js')
    stream.send(encodeCallFrame(new Uint8Array(16).fill(7), { kind: 'ring', video: false, sdp: alice.pcs[0].local?.sdp ?? '', deviceRecord: carol.record }))
    await waitFor(() => heard.length > 0, 'an answer to the second ring')
    assert.deepEqual(heard, [{ kind: 'busy' }])
    assert.equal(bob.service.active.length, 1)
    const ended = new Promise(resolve => call.on(e => { if (e.type === 'ended') resolve(e.reason) }))
    bobCall.decline()
    assert.equal(await ended, 'declined')
    assert.equal(bobCall.endReason, 'declined')
  })

  it(`missed: nobody answers in ${RING_TIMEOUT_MS / 1000} s (fake clock): both sides end as missed`, async () => {
    const { alice, bob } = await pair()
    timers = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'], shouldAdvanceTime: true })
    const incoming = next(bob, 'incoming')
    const call = await alice.service.place(target(bob), bobParty(bob))
    const { call: bobCall } = await incoming
    await timers.tickAsync(RING_TIMEOUT_MS - 1_000)
    assert.equal(bobCall.state, 'ringing')
    assert.equal(call.state, 'calling')
    await timers.tickAsync(2_000)
    await waitFor(() => bobCall.state === 'ended' && call.state === 'ended')
    assert.equal(call.endReason, 'missed')
    assert.equal(bobCall.endReason, 'missed')
    await assert.rejects(bobCall.accept(), { name: 'CallStateError' })
  })

  it('a caller who gives up while it rings leaves a missed call', async () => {
    const { alice, bob } = await pair()
    const incoming = next(bob, 'incoming')
    const call = await alice.service.place(target(bob), bobParty(bob))
    const { call: bobCall } = await incoming
    call.hangUp()
    await waitFor(() => bobCall.state === 'ended')
    assert.equal(bobCall.endReason, 'missed')
  })

  it('a stranger rings as a request, with media through TURN when our relays offer it, else a warning that it is direct', async () => {
    const turn = [{ urls: ['turn:127.0.0.1:3478?transport=udp'], username: 'u', credential: 'c' }]
    for (const servers of [turn, []]) {
      const { alice, bob } = await pair({ iceServers: async () => servers }, { contacts: false })
      alice.callers.add(bob.party, 'contact', 'bob~test')
      const incoming = next(bob, 'incoming')
      const call = await alice.service.place(target(bob), bobParty(bob))
      const { call: bobCall } = await incoming
      assert.equal(bobCall.request, true)
      assert.equal(bobCall.remote.handle?.startsWith('alice~'), true, 'the name the caller gave, with the tag its account proves')
      const warnings: string[] = []
      bobCall.on(e => { if (e.type === 'warning') warnings.push(e.message) })
      await bobCall.accept()
      assert.equal(bob.pcs[0].config.iceTransportPolicy, servers.length > 0 ? 'relay' : 'all')
      assert.equal(bobCall.directToStranger, servers.length === 0)
      assert.equal(warnings.length, servers.length > 0 ? 0 : 1)
      // The caller (Bob is Alice's contact) keeps direct media.
      assert.equal(alice.pcs[0].config.iceTransportPolicy, 'all')
      await connected(call, bobCall)
      call.hangUp()
    }
  })

  it('strangers set to "refuse": their call never rings', async () => {
    const { alice, bob } = await pair({ strangers: () => 'refuse' }, { contacts: false })
    let rang = false
    bob.service.on(e => { if (e.type === 'incoming') rang = true })
    const call = await alice.service.place(target(bob), bobParty(bob))
    await waitFor(() => call.state === 'ended')
    assert.equal(rang, false)
    // The caller learns nothing more than from a device that is away.
    assert.equal(call.endReason, 'unreachable')
  })

  it('hide my IP: media through TURN on both sides, contacts too', async () => {
    const { alice, bob } = await pair({ hideMyIp: () => true, iceServers: async () => [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }] })
    const incoming = next(bob, 'incoming')
    const call = await alice.service.place(target(bob), bobParty(bob))
    const { call: bobCall } = await incoming
    await bobCall.accept()
    await connected(call, bobCall)
    assert.equal(alice.pcs[0].config.iceTransportPolicy, 'relay')
    assert.equal(bob.pcs[0].config.iceTransportPolicy, 'relay')
    assert.equal((await call.stats())?.localCandidateType, 'relay')
  })

  it('hide my IP with no TURN from our relays: the call is refused at once with NoTurnServerError, nothing is rung', async () => {
    const { alice, bob } = await pair({ hideMyIp: () => true, iceServers: async () => [] })
    let rang = false
    bob.service.on((event) => { if (event.type === 'incoming') rang = true })
    await assert.rejects(alice.service.place(target(bob), bobParty(bob)), { name: 'NoTurnServerError' })
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(rang, false)
    assert.equal(alice.pcs.length, 0)
  })

  it('a network change restarts ICE instead of ending the call (caller offers iceRestart; the callee asks for it)', async () => {
    const { alice, bob } = await pair()
    const incoming = next(bob, 'incoming')
    const call = await alice.service.place(target(bob), bobParty(bob))
    const { call: bobCall } = await incoming
    await bobCall.accept()
    await connected(call, bobCall)
    const [a, b] = [alice.pcs[0], bob.pcs[0]]
    // The callee's network changed: it asks, the caller makes the iceRestart offer, the callee answers.
    bobCall.networkChanged()
    await waitFor(() => a.offers.some(o => o.iceRestart === true), 'an iceRestart offer')
    assert.equal(call.state, 'reconnecting')
    await waitFor(() => b.remote?.type === 'offer' && a.remote?.type === 'answer' && a.offers.length === 2, 'the restart answered')
    a.setConnectionState('connected')
    b.setConnectionState('connected')
    await connected(call, bobCall)
    // A lost path on the caller's side: after a moment of "disconnected", it restarts by itself.
    timers = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'], shouldAdvanceTime: true, shouldClearNativeTimers: true })
    a.setConnectionState('disconnected')
    await timers.tickAsync(2_500)
    await waitFor(() => a.offers.filter(o => o.iceRestart === true).length === 2, 'a second restart')
    a.setConnectionState('connected')
    await waitFor(() => call.state === 'connected')
    assert.equal(call.state, 'connected')
    assert.equal(bobCall.state, 'connected')
  })
})
