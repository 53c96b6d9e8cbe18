/**
 * A contact's call gets its connection while it rings (when the host can
 * add media later), without weakening "no address before accept": the
 * callee sets the caller's offer and makes its answer (its transceivers set
 * to send, no track), so that the accept makes none, but captures no media
 * and sends no candidate and no SDP until its user accepts; a stranger's
 * request makes no connection at all; the media the user accepts with is
 * what is attached. And the caller's candidates leave as soon as the
 * accept arrives, while the answer is still being applied.
 */
import assert from 'node:assert/strict'
import { CANDIDATES_WAIT_FOR_MEDIA_MS, sdpHasAddresses } from '../../../src/calls/index.js'
import type { CallSession } from '../../../src/calls/index.js'
import type { Signal } from '../../../src/calls/wire.js'
import { heldAnswerFactory, pair, stopAll, waitFor, nextIncoming, target, party, acceptedWithHeldAnswer, tap } from './helpers.js'
import type { Side } from './helpers.js'


const incoming = nextIncoming


describe('calls: the callee\'s connection made while it rings', () => {
  afterEach(async () => { await stopAll() })

  it('a contact\'s call: offer set and answer made while ringing, nothing captured or sent before the accept, no answer made at it; the accepted media attached', async () => {
    const attached: Array<{ callId: string, video: boolean }> = []
    const { alice, bob } = await pair({ attachMedia: async (callId, options) => { attached.push({ callId, ...options }) } })
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party(bob), { video: true })
    const { call: bobCall } = await ringing
    const fromBob = tap(bob.dialled[0])
    await waitFor(() => bob.pcs[0]?.remote != null, 'the callee\'s connection with the offer')
    await new Promise(resolve => setTimeout(resolve, 20))
    const pc = bob.pcs[0]
    assert.equal(bob.pcs.length, 1)
    assert.equal(pc.remote?.type, 'offer')
    assert.equal(sdpHasAddresses(pc.remote?.sdp ?? ''), false)
    // The answer is made and set (its transceivers send, with no track yet): candidates are gathered and held.
    assert.equal(pc.local?.type, 'answer')
    assert.deepEqual(pc.transceivers.map(t => t.direction), ['sendrecv'])
    assert.equal(pc.answers.length, 1)
    // No media; nothing sent: no candidate, no SDP.
    assert.deepEqual(attached, [])
    assert.deepEqual(fromBob.filter(s => s.kind !== 'ringing'), [])
    assert.deepEqual(call.received.candidates, [])
    assert.deepEqual(call.received.sdps, [])
    assert.equal(bobCall.state, 'ringing')
    // Accepting a video call with audio only: the media attached is audio, and no second answer is made.
    await bobCall.accept({ video: false })
    assert.deepEqual(attached, [{ callId: bobCall.id, video: false }])
    assert.equal(bob.pcs.length, 1, 'the connection made while ringing is the one used')
    assert.equal(pc.answers.length, 1, 'the accept sent the answer made while ringing')
    await waitFor(() => call.received.sdps.length > 0, 'the accept at the caller')
    assert.match(call.received.sdps.join('\n'), new RegExp(pc.fingerprint), 'the accept carries that answer')
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
    assert.equal(bobCall.localMedia.video, false)
    assert.equal(call.remoteMedia.video, false)
  })

  it('a call that ends while it rings closes the connection made for it; a stranger\'s request makes none', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.remote != null, 'the callee\'s connection')
    call.hangUp()
    await waitFor(() => bobCall.over && bob.pcs[0].closed, 'closed with the call')
    assert.equal(bobCall.endReason, 'missed')

    const strangers = await pair({ attachMedia: async () => {} }, { contacts: false })
    const request = incoming(strangers.bob)
    await strangers.alice.service.place(target(strangers.bob), party(strangers.bob))
    const { call: requestCall } = await request
    assert.equal(requestCall.request, true)
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(strangers.bob.pcs.length, 0)
  })

  it('the caller\'s candidates leave when the accept arrives, not after its answer is applied', async () => {
    // The caller's answer takes long to apply (a busy WebRTC thread).
    const { call, bobCall, pc, release } = await acceptedWithHeldAnswer()
    await waitFor(() => bobCall.received.candidates.length > 0, 'the caller\'s candidates at the callee')
    assert.equal(call.state, 'connecting')
    assert.equal(pc.remote, undefined, 'the answer is not applied yet')
    release()
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
  })

  it('the answer made while ringing leaves at the accept while the microphone and camera are still being opened; a mute meanwhile applies to them', async () => {
    let open = (): void => {}
    const opened: string[] = []
    const sides: { bob?: Side } = {}
    const { alice, bob } = await pair({
      attachMedia: async (callId) => {
        await new Promise<void>(resolve => { open = resolve })
        // The microphone's track goes on the sender (replaceTrack): a new track, enabled.
        const sender = sides.bob?.pcs[0].senders[0]
        if (sender != null) sender.track = { kind: 'audio', enabled: true }
        opened.push(callId)
      }
    })
    sides.bob = bob
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.local?.type === 'answer', 'the answer made while ringing')
    const accepting = bobCall.accept()
    await waitFor(() => call.received.sdps.length > 0 && bobCall.received.candidates.length > 0, 'the accept at the caller, and its candidates back')
    assert.deepEqual(opened, [], 'the devices are still opening')
    // The caller's candidates wait too: each addIceCandidate would hold the page's thread while the tracks go on.
    assert.equal(bob.pcs[0].remoteCandidates.length, 0, 'none added while the devices open')
    bobCall.mute(true)
    open()
    await accepting
    assert.deepEqual(opened, [bobCall.id])
    await waitFor(() => bob.pcs[0].remoteCandidates.length > 0, 'the caller\'s candidates added once they are on')
    assert.deepEqual(bob.pcs[0].remoteCandidates.map(c => c.candidate), bobCall.received.candidates.filter(c => c !== ''), 'all of them, in order')
    assert.equal(bob.pcs[0].senders[0].track?.enabled, false, 'the track opened after the mute is muted')
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
  })

  it('devices that fail to open after the accept left end the call as failed on both sides', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => { throw new Error('NotAllowedError: permission denied') } })
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.local?.type === 'answer', 'the answer made while ringing')
    await assert.rejects(bobCall.accept(), /permission denied/)
    assert.equal(bobCall.endReason, 'failed')
    await waitFor(() => call.over, 'the caller told')
  })

  it('the caller applies the answer before its screen hears of the accept (a render would hold it back)', async () => {
    const { alice, bob } = await pair({ attachMedia: async () => {} })
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => alice.pcs[0]?.local != null)
    const pc = alice.pcs[0]
    const order: string[] = []
    const setRemote = pc.setRemoteDescription.bind(pc)
    pc.setRemoteDescription = async (d) => { order.push(`setRemoteDescription ${d.type}`); await setRemote(d) }
    call.on((e) => { if (e.type === 'state') order.push(`state ${e.state}`) })
    await bobCall.accept()
    await waitFor(() => call.state === 'connected', 'connected')
    assert.deepEqual(order.slice(0, 2), ['setRemoteDescription answer', 'state connecting'])
  })

  /** Bob's connection made while it rings sets its answer only when the test says (its WebRTC stack busy), or fails to. */
  async function heldAnswer (options: { fail?: boolean } = {}): Promise<{ alice: Side, bob: Side, call: CallSession, bobCall: CallSession, fromBob: Signal[], release: () => void }> {
    const held = heldAnswerFactory(() => bob, () => network, options)
    const { alice, bob, network } = await pair({ attachMedia: async () => {} }, { bob: { createPeerConnection: held.factory } })
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party(bob), { video: true })
    const { call: bobCall } = await ringing
    const fromBob = tap(bob.dialled[0])
    return { alice, bob, call, bobCall, fromBob, release: held.release }
  }

  it('a call accepted before its answer is set: the answer leaves as soon as it is made, while it is set here, and once only', async () => {
    const { bob, call, bobCall, fromBob, release } = await heldAnswer()
    const accepting = bobCall.accept()
    await waitFor(() => call.received.sdps.length > 0, 'the answer at the caller before it is set at the callee')
    assert.equal(bob.pcs[0].local, undefined, 'not set yet')
    assert.match(call.received.sdps.join('\n'), new RegExp(bob.pcs[0].fingerprint))
    release()
    await accepting
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'both connected')
    assert.equal(fromBob.filter(s => s.kind === 'accept').length, 1)
    assert.equal(bob.pcs.length, 1, 'no second connection')
  })

  it('an answer sent that then fails to be set ends the call as failed on both sides, with no second answer', async () => {
    const { bob, call, bobCall, fromBob, release } = await heldAnswer({ fail: true })
    const accepting = bobCall.accept()
    await waitFor(() => call.received.sdps.length > 0, 'the answer at the caller')
    release()
    await assert.rejects(accepting, /could not be set/)
    await waitFor(() => call.over && bobCall.over, 'ended on both sides')
    assert.equal(bobCall.endReason, 'failed')
    assert.equal(fromBob.filter(s => s.kind === 'accept').length, 1)
    assert.equal(bob.pcs.length, 1, 'no connection made at the accept after the failure')
    assert.equal(bob.pcs[0].closed, true)
  })

  it('devices slow to open (a permission prompt) hold the caller\'s candidates back CANDIDATES_WAIT_FOR_MEDIA_MS at most: the connection is made meanwhile', async () => {
    let open = (): void => {}
    const { alice, bob } = await pair({ attachMedia: async () => { await new Promise<void>(resolve => { open = resolve }) } })
    const ringing = incoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    const accepting = bobCall.accept()
    const acceptedAt = performance.now()
    await waitFor(() => bob.pcs[0].remoteCandidates.length > 0, 'the caller\'s candidates added while the devices still open')
    assert.ok(performance.now() - acceptedAt >= CANDIDATES_WAIT_FOR_MEDIA_MS - 5, 'they waited for the devices first')
    await waitFor(() => call.state === 'connected', 'the caller connected before the devices opened')
    open()
    await accepting
    await waitFor(() => bobCall.state === 'connected', 'the callee connected')
  })
})
