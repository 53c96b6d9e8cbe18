/**
 * Hide my IP turned on while a contact's call rings: the connection made at
 * ring time had the setting as it was then (every candidate allowed), and
 * the accept must not use it: the callee's candidates would leave with its
 * addresses although the user asked, before accepting, to hide them.
 */
import assert from 'node:assert/strict'
import type { CallServiceEvent } from '../../../src/calls/index.js'
import { pair, stopAll, waitFor } from './helpers.js'

describe('calls: hide my IP turned on while the call rings', () => {
  afterEach(async () => { await stopAll() })

  it('the accept makes a relay-only connection and sends no host candidate', async () => {
    let hide = false
    const { alice, bob } = await pair({
      attachMedia: async () => {},
      hideMyIp: () => hide,
      iceServers: async () => [{ urls: ['turn:127.0.0.1:3478'], username: 'u', credential: 'c' }]
    })
    const ringing = new Promise<Extract<CallServiceEvent, { type: 'incoming' }>>(resolve => {
      const off = bob.service.on((event) => { if (event.type === 'incoming') { off(); resolve(event) } })
    })
    const call = await alice.service.place([{ peerId: bob.party.device.peerId, addrs: [] }], { account: 'bob', handle: 'bob~test', contact: true })
    const { call: bobCall } = await ringing
    await waitFor(() => bob.pcs[0]?.remote != null, 'the connection made while ringing')
    assert.equal(bob.pcs[0].config.iceTransportPolicy, 'all')
    // The user turns hide my IP on, then accepts.
    hide = true
    await bobCall.accept()
    await waitFor(() => call.received.candidates.length > 0 && bobCall.state !== 'ringing', 'the callee\'s candidates at the caller')
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.deepEqual(call.received.candidates.filter(c => !c.includes('typ relay')), [], 'no candidate but relay ones left the callee')
    assert.equal(bob.pcs.at(-1)?.config.iceTransportPolicy, 'relay')
    assert.equal(bob.pcs[0].closed, true, 'the connection made while ringing is closed')
  })
})
