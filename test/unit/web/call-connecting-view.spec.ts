/**
 * The caller's screen and "connecting" (web/src/app/calls.ts): a placed
 * call whose accept arrived is shown as connecting only once that has
 * lasted CONNECTING_SHOWN_AFTER_MS; one that connects sooner goes from
 * "Ringing…" straight to the call, with no render in between (that render
 * came right after the accept, on the thread the answer and the callee's
 * candidates wait for). A callee's own accept shows at once, and a warning
 * while connecting is never held back. Fake timers.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import type { CallSession } from '../../../src/calls/index.js'
import type { PeerCalls } from '../../../src/peer/index.js'
import { CONNECTING_SHOWN_AFTER_MS, TabCalls } from '../../../web/src/app/calls.js'
import { StateBox } from '../../../web/src/app/state.js'
import type { AppState } from '../../../web/src/app/state.js'
import { fakeCall, fakeMedia } from './fake-calls.js'

type Listener = (event: { type: string, call: unknown }) => void

describe('web: when the caller\'s screen says "connecting"', () => {
  let clock: ReturnType<typeof FakeTimers.install>
  let service: Listener[]
  let tab: TabCalls
  let shown: string[]

  beforeEach(() => {
    clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    service = []
    shown = []
    const peerCalls = {
      service: { on: (l: Listener) => { service.push(l); return () => {} } },
      accept: async (call: CallSession) => { await call.accept() }
    } as unknown as PeerCalls
    const { media } = fakeMedia({ cameraOn: true })
    const state = new StateBox({} as unknown as AppState)
    // Each write of the call's view is a render of the call screen.
    state.subscribe((s) => { if (s.call != null) shown.push(s.call.state + (s.call.warning != null ? ` (${s.call.warning})` : '')) })
    tab = new TabCalls(peerCalls, media, state, () => {}, () => false)
    tab.start()
  })

  afterEach(() => {
    tab.stop()
    clock.uninstall()
  })

  it('a call that connects within the wait goes from ringing to connected with no "connecting" shown', () => {
    const { call, emit } = fakeCall({ direction: 'outgoing', video: true })
    for (const l of service) l({ type: 'outgoing', call })
    emit({ type: 'state', state: 'ringing' })
    emit({ type: 'state', state: 'connecting' })
    assert.deepEqual(shown, ['calling', 'ringing'], 'nothing rendered at the accept')
    clock.tick(CONNECTING_SHOWN_AFTER_MS - 1)
    emit({ type: 'state', state: 'connected' })
    clock.tick(CONNECTING_SHOWN_AFTER_MS)
    assert.deepEqual(shown, ['calling', 'ringing', 'connected'])
  })

  it('one still connecting after the wait says so, once; a warning meanwhile is shown at once', () => {
    const { call, emit } = fakeCall({ direction: 'outgoing', video: true })
    for (const l of service) l({ type: 'outgoing', call })
    emit({ type: 'state', state: 'connecting' })
    emit({ type: 'warning', message: 'careful' })
    clock.tick(CONNECTING_SHOWN_AFTER_MS)
    emit({ type: 'state', state: 'connected' })
    assert.deepEqual(shown, ['calling', 'connecting (careful)', 'connected (careful)'])
  })

  it('the screen moved to another ring that was accepted (several devices rung): that call shows at once, not the ring it left for 200 ms', () => {
    const lead = fakeCall({ direction: 'outgoing', id: 'lead', video: true })
    for (const l of service) l({ type: 'outgoing', call: lead.call })
    const taken = fakeCall({ direction: 'outgoing', id: 'taken', video: true })
    taken.call.state = 'connecting'
    const ids: string[] = []
    const box = (tab as unknown as { state: StateBox }).state
    box.subscribe((s) => { if (s.call != null) ids.push(s.call.id) })
    // ring-group.ts: the screen follows the ring taken (outgoing), then the lead ends as answered elsewhere.
    for (const l of service) l({ type: 'outgoing', call: taken.call })
    lead.emit({ type: 'ended', state: 'ended' })
    assert.deepEqual(ids, ['taken'], 'the call taken is on the screen at once')
    assert.equal(box.get().call?.state, 'connecting')
    clock.tick(CONNECTING_SHOWN_AFTER_MS)
    assert.deepEqual(ids, ['taken'])
  })

  it('a callee\'s accept shows "connecting" at once (the user pressed it)', async () => {
    const { call } = fakeCall({ direction: 'incoming', video: true })
    for (const l of service) l({ type: 'incoming', call })
    await tab.accept(true)
    assert.deepEqual(shown.slice(-1), ['connecting'])
  })
})
