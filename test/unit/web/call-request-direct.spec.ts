/**
 * A call from someone who is not a contact, in the tab (web/src/app/calls.ts),
 * when our relays offer no TURN server: accepting it would make the media
 * direct, and the caller would see the user's IP address. The call screen
 * must say so while it rings (src/calls knows the path only once the
 * connection is made, at the accept: until then the screen said "the call
 * goes through your relay"), and the accept must go through the peer's
 * guarded accept (PeerCalls.accept refuses a direct request unless the user
 * was told), not straight to the session.
 */
import assert from 'node:assert/strict'
import type { CallSession } from '../../../src/calls/index.js'
import type { PeerCalls } from '../../../src/peer/index.js'
import { TabCalls } from '../../../web/src/app/calls.js'
import { StateBox } from '../../../web/src/app/state.js'
import type { AppState } from '../../../web/src/app/state.js'
import { fakeCall, fakeMedia } from './fake-calls.js'

type Listener = (event: { type: string, call?: unknown, state?: string, reason?: string }) => void

function fakeRequest (): { call: CallSession, accepted: Array<{ video?: boolean }> } {
  const accepted: Array<{ video?: boolean }> = []
  const { call } = fakeCall({ id: 'c1', direction: 'incoming', request: true, handle: 'mallory~x1', accept: async (options) => { accepted.push(options) } })
  return { call, accepted }
}

describe('web: a stranger\'s call when our relays offer no TURN server', () => {
  it('the ringing screen says the call would be direct, and accepting does not connect it unasked', async () => {
    const listeners: Listener[] = []
    const guarded: Array<{ direct?: boolean }> = []
    const peerCalls = {
      service: { on: (l: Listener) => { listeners.push(l); return () => {} } },
      mediaPath: async () => 'direct',
      accept: async (call: CallSession, options: { video?: boolean, direct?: boolean }) => {
        guarded.push({ direct: options.direct })
        if (options.direct !== true) throw Object.assign(new Error('would be direct'), { name: 'DirectCallError' })
        await call.accept({ video: options.video })
      }
    } as unknown as PeerCalls
    const { media } = fakeMedia()
    const state = new StateBox({} as unknown as AppState)
    const tab = new TabCalls(peerCalls, media, state, () => {}, () => false)
    tab.start()
    const { call, accepted } = fakeRequest()
    for (const l of listeners) l({ type: 'incoming', call })
    for (let i = 0; i < 50 && state.get().call?.directToStranger !== true; i++) await new Promise(resolve => setImmediate(resolve))
    assert.equal(state.get().call?.request, true)
    assert.equal(state.get().call?.directToStranger, true, 'the ringing screen says the call would be direct')
    // The user accepts having been shown that: the peer's guarded accept is told so.
    await tab.accept(false)
    assert.deepEqual(guarded, [{ direct: true }])
    assert.deepEqual(accepted, [{ video: false }])
    tab.stop()
  })

  it('an accept before the path is known goes through the guard, which refuses a direct one', async () => {
    const listeners: Listener[] = []
    const peerCalls = {
      service: { on: (l: Listener) => { listeners.push(l); return () => {} } },
      mediaPath: async () => await new Promise<never>(() => {}),
      accept: async (_call: CallSession, options: { direct?: boolean }) => {
        if (options.direct !== true) throw Object.assign(new Error('would be direct'), { name: 'DirectCallError' })
      }
    } as unknown as PeerCalls
    const { media } = fakeMedia()
    const tab = new TabCalls(peerCalls, media, new StateBox({} as unknown as AppState), () => {}, () => false)
    tab.start()
    const { call, accepted } = fakeRequest()
    for (const l of listeners) l({ type: 'incoming', call })
    await assert.rejects(tab.accept(false), { name: 'DirectCallError' })
    assert.deepEqual(accepted, [])
    tab.stop()
  })
})
