/**
 * Hide my IP turned on while a call rings: the connections made before had
 * the setting as it was then (every candidate allowed). The callee's accept
 * must not use the one made at ring time (its candidates would leave with
 * its addresses although the user asked, before accepting, to hide them);
 * the caller's candidates, held until the accept, must not leave either.
 * Turned on during a call, no candidate gathered after it carries an
 * address (checked as each leaves, whatever the order of WebRTC's events).
 */
import assert from 'node:assert/strict'
import type { CallServiceEvent, CallSession } from '../../../src/calls/index.js'
import { pair, stopAll, waitFor } from './helpers.js'
import type { Side } from './helpers.js'

/**
 * Alice calls Bob, a contact, and Bob's phone rings; `hider` is the side
 * whose hide-my-IP setting the test turns on (with `hide(true)`) while it rings.
 */
async function ringing (hider: 'alice' | 'bob'): Promise<{ alice: Side, bob: Side, call: CallSession, bobCall: CallSession, hide: (on: boolean) => void }> {
  let hidden = false
  const { alice, bob } = await pair({
    attachMedia: async () => {},
    ...(hider === 'alice' ? { hideMyIp: () => hidden } : {}),
    iceServers: async () => [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }]
  }, { bob: { hideMyIp: () => hider === 'bob' && hidden } })
  const rang = new Promise<Extract<CallServiceEvent, { type: 'incoming' }>>(resolve => {
    const off = bob.service.on((event) => { if (event.type === 'incoming') { off(); resolve(event) } })
  })
  const call = await alice.service.place([{ peerId: bob.party.device.peerId, addrs: [] }], { account: 'bob', handle: 'bob~test', contact: true })
  const { call: bobCall } = await rang
  return { alice, bob, call, bobCall, hide: (on) => { hidden = on } }
}

describe('calls: hide my IP turned on while the call rings', () => {
  afterEach(async () => { await stopAll() })

  it('the accept makes a relay-only connection and sends no host candidate', async () => {
    const { bob, call, bobCall, hide } = await ringing('bob')
    await waitFor(() => bob.pcs[0]?.remote != null, 'the connection made while ringing')
    assert.equal(bob.pcs[0].config.iceTransportPolicy, 'all')
    // The user turns hide my IP on, then accepts.
    hide(true)
    await bobCall.accept()
    await waitFor(() => call.received.candidates.length > 0 && bobCall.state !== 'ringing', 'the callee\'s candidates at the caller')
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(call.received.candidates.filter(c => !c.includes('typ relay')), [], 'no candidate but relay ones left the callee')
    assert.equal(bob.pcs.at(-1)?.config.iceTransportPolicy, 'relay')
    assert.equal(bob.pcs[0].closed, true, 'the connection made while ringing is closed')
  })

  it('the candidates the connection made while ringing gathered (its answer made then) are dropped, not sent at the accept', async () => {
    const { bob, call, bobCall, hide } = await ringing('bob')
    // The early connection's answer is set and its (host) candidates gathered, held for the accept.
    await waitFor(() => bob.pcs[0]?.local?.type === 'answer', 'the answer made while ringing')
    await new Promise(resolve => setTimeout(resolve, 20))
    hide(true)
    await bobCall.accept()
    await waitFor(() => call.received.candidates.length > 0, 'the callee\'s candidates at the caller')
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(call.received.candidates.filter(c => !c.includes('typ relay')), [], 'no candidate but relay ones left the callee')
    assert.equal(bob.pcs.length, 2)
    assert.equal(bob.pcs[0].closed, true)
  })

  it('the caller who turned it on while ringing sends none of the candidates it gathered before: the call ends with the reason', async () => {
    const { alice, call, bobCall, hide } = await ringing('alice')
    await waitFor(() => alice.pcs[0]?.local != null, 'the caller\'s offer')
    await new Promise(resolve => setTimeout(resolve, 20))
    // The caller turns hide my IP on while it rings; the callee (its own setting off) accepts.
    hide(true)
    await bobCall.accept().catch(() => {})
    await waitFor(() => call.over || bobCall.received.candidates.length > 0, 'the call ended, or the caller\'s candidates sent')
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(bobCall.received.candidates.filter(c => !c.includes('typ relay')), [], 'no candidate of the caller but relay ones reached the callee')
    assert.equal(call.endReason, 'failed')
  })

  it('turned on during the call: a candidate gathered after it (an ICE restart, a new network) leaves only if it is a relay one', async () => {
    const { bob, call, bobCall, hide } = await ringing('bob')
    await bobCall.accept()
    await waitFor(() => call.state === 'connected' && bobCall.state === 'connected', 'connected directly')
    const pc = bob.pcs.at(-1)
    assert.equal(pc?.config.iceTransportPolicy, 'all')
    hide(true)
    const host = 'candidate:9 1 udp 2122260223 192.0.2.99 50999 typ host'
    const relay = 'candidate:8 1 udp 41885439 127.0.0.1 3479 typ relay raddr 0.0.0.0 rport 0'
    pc?.dispatch('icecandidate', { candidate: { candidate: host, sdpMid: '0', sdpMLineIndex: 0 } })
    pc?.dispatch('icecandidate', { candidate: { candidate: relay, sdpMid: '0', sdpMLineIndex: 0 } })
    await waitFor(() => call.received.candidates.includes(relay), 'the relay candidate at the caller')
    assert.equal(call.received.candidates.includes(host), false, 'the host candidate never left')
  })
})
