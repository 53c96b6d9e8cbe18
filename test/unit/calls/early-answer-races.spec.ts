/**
 * Attacks on the callee's answer made while it rings and sent as soon as it
 * is made (session.ts `earlyAnswer`, `acceptSent`, connection.ts
 * `hooks.answered`): the order of the accept, the answer being made, its
 * setting failing, and hide my IP turned on.
 */
import assert from 'node:assert/strict'
import type { CallSession } from '../../../src/calls/index.js'
import { MAX_CANDIDATES_PER_CALL } from '../../../src/calls/index.js'
import { encodeCallFrame } from '../../../src/calls/wire.js'
import type { Signal } from '../../../src/calls/wire.js'
import { heldAnswerFactory, pair, stopAll, waitFor, nextIncoming, target, party, tap } from './helpers.js'
import type { Side } from './helpers.js'

/** Bob's connection made while it rings sets its answer only when the test says, or fails to; `hide` turns Bob's hide my IP on. */
async function heldAnswer (options: { fail?: boolean } = {}): Promise<{ alice: Side, bob: Side, call: CallSession, bobCall: CallSession, fromBob: Signal[], release: () => void, hide: (on: boolean) => void }> {
  let hidden = false
  const held = heldAnswerFactory(() => bob, () => network, options)
  const { alice, bob, network } = await pair({
    attachMedia: async () => {},
    iceServers: async () => [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }]
  }, { bob: { hideMyIp: () => hidden, createPeerConnection: held.factory } })
  const ringing = nextIncoming(bob)
  const call = await alice.service.place(target(bob), party(bob))
  const { call: bobCall } = await ringing
  const fromBob = tap(bob.dialled[0])
  return { alice, bob, call, bobCall, fromBob, release: held.release, hide: (on) => { hidden = on } }
}

describe('calls: the answer made while ringing, sent as soon as it is made (attacks)', () => {
  afterEach(async () => { await stopAll() })

  it('an answer that failed to be set while it rang (before any accept) is not sent at the accept: the accept makes a connection and the call goes on', async () => {
    const { bob, call, bobCall, fromBob, release } = await heldAnswer({ fail: true })
    await waitFor(() => bob.pcs[0]?.answers.length === 1, 'the answer made while ringing')
    release()
    await waitFor(() => bob.pcs[0].closed, 'the connection whose answer failed closed')
    await new Promise(resolve => setTimeout(resolve, 10))
    assert.equal(bobCall.state, 'ringing', 'still ringing: nothing was accepted yet')
    await bobCall.accept()
    // (The fake network joins a call's first two connections only: the one made at the accept does not connect here.)
    await waitFor(() => call.state === 'connecting', 'the accept at the caller')
    assert.equal(bobCall.state, 'connecting', 'not failed')
    assert.equal(bob.pcs.length, 2, 'the accept made a connection')
    assert.equal(fromBob.filter(s => s.kind === 'accept').length, 1)
    assert.match(call.received.sdps.join('\n'), new RegExp(bob.pcs[1].fingerprint), 'its answer left')
    assert.doesNotMatch(call.received.sdps.join('\n'), new RegExp(bob.pcs[0].fingerprint), 'the closed connection\'s answer never left')
  })

  it('hide my IP turned on after the accept left (its answer still being set): no host candidate leaves, and the call ends', async () => {
    const { call, bobCall, release, hide } = await heldAnswer()
    const accepting = bobCall.accept()
    await waitFor(() => call.received.sdps.length > 0, 'the accept at the caller')
    hide(true)
    release()
    await accepting.catch(() => {})
    await waitFor(() => bobCall.over, 'the callee ended the call')
    await new Promise(resolve => setTimeout(resolve, 30))
    assert.deepEqual(call.received.candidates.filter(c => !c.includes('typ relay')), [], 'no host candidate reached the caller')
    assert.equal(bobCall.endReason, 'failed')
  })

  it('a second accept() while the first waits for the answer is refused, and one accept frame leaves', async () => {
    const { call, bobCall, fromBob, release } = await heldAnswer()
    const first = bobCall.accept()
    await assert.rejects(bobCall.accept(), /cannot accept a call that is connecting/)
    release()
    await first
    await waitFor(() => call.state === 'connected', 'connected')
    assert.equal(fromBob.filter(s => s.kind === 'accept').length, 1)
  })

  it('the caller hanging up while the answer sent is being set: the connection made while ringing is closed, no candidate is added after', async () => {
    const { bob, call, bobCall, release } = await heldAnswer()
    const accepting = bobCall.accept()
    await waitFor(() => call.received.sdps.length > 0, 'the accept at the caller')
    call.hangUp()
    await waitFor(() => bobCall.over, 'the callee heard the hang-up')
    release()
    await accepting.catch(() => {})
    await waitFor(() => bob.pcs[0].closed, 'closed')
    assert.equal(bob.pcs.length, 1)
    assert.equal(bobCall.endReason, 'remote-hangup')
  })
})

describe('calls: the caller\'s candidates held while the callee\'s devices open (attacks)', () => {
  afterEach(async () => { await stopAll() })

  /** Bob accepts; his devices open only when the test says. */
  async function attaching (): Promise<{ bob: Side, call: CallSession, bobCall: CallSession, open: () => void, accepting: Promise<void> }> {
    let open = (): void => {}
    const opened = new Promise<void>(resolve => { open = resolve })
    const { alice, bob } = await pair({ attachMedia: async () => {} }, { bob: { attachMedia: async () => { await opened } } })
    const ringing = nextIncoming(bob)
    const call = await alice.service.place(target(bob), party(bob))
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.local?.type === 'answer', 'the answer made while ringing')
    const accepting = bobCall.accept()
    await waitFor(() => call.state === 'connecting', 'the accept at the caller')
    return { bob, call, bobCall, open, accepting }
  }

  it('a flood of candidates while the devices open blows the budget: the call ends, and none is added once the devices are on', async () => {
    const { bob, bobCall, open, accepting } = await attaching()
    for (let i = 0; i <= MAX_CANDIDATES_PER_CALL; i++) {
      bob.dialled[0].send(encodeCallFrame(bobCall.callId, { kind: 'candidate', candidate: { candidate: `candidate:${i} 1 udp 1 127.0.0.1 ${40000 + i} typ host`, sdpMid: '0', sdpMLineIndex: 0 } }))
    }
    await waitFor(() => bobCall.over, 'the call ended')
    assert.equal(bobCall.endReason, 'protocol')
    open()
    await accepting.catch(() => {})
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(bob.pcs[0].remoteCandidates.length, 0, 'none added to the closed connection')
    assert.equal(bob.pcs[0].closed, true)
  })

  it('the caller hanging up while the devices open: its candidates are never added, and the accept settles', async () => {
    const { bob, call, bobCall, open, accepting } = await attaching()
    await waitFor(() => bobCall.received.candidates.length > 0, 'the caller\'s candidates arrived')
    call.hangUp()
    await waitFor(() => bobCall.over, 'the callee heard the hang-up')
    open()
    await accepting
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(bob.pcs[0].remoteCandidates.length, 0)
    assert.equal(bobCall.endReason, 'remote-hangup')
  })
})
