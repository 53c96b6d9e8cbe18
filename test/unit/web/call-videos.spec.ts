/**
 * When a call's screen shows the videos (web/src/ui/CallScreen.tsx,
 * web/src/app/calls.ts): a video call's once it is connected (and while it
 * reconnects) and the other side's frames flow, or once it has been
 * connected VIDEOS_SHOWN_AFTER_MS without them; from then on for the rest
 * of the call; never while it is set up, nor for a voice call. Mounting two
 * playing video elements as the call connected held back its first sound
 * and first frame by ~20 ms each on the benchmark's machine; mounted while
 * it connected, the WebRTC steps between the accept and DTLS. Fake timers.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import type { CallSession, CallState } from '../../../src/calls/index.js'
import type { PeerCalls } from '../../../src/peer/index.js'
import { TabCalls, VIDEOS_SHOWN_AFTER_MS } from '../../../web/src/app/calls.js'
import { StateBox } from '../../../web/src/app/state.js'
import type { AppState } from '../../../web/src/app/state.js'
import { videosShown } from '../../../web/src/ui/CallScreen.js'
import { fakeCall, fakeMedia } from './fake-calls.js'
import type { FakeMedia } from './fake-calls.js'

const STATES: CallState[] = ['ringing', 'calling', 'connecting', 'connected', 'reconnecting', 'ended']

describe('web: the call screen\'s videos', () => {
  it('a video call shows them connected and reconnecting, once the other side\'s frames flow', () => {
    assert.deepEqual(STATES.filter(state => videosShown({ video: true, state, videoFlowing: true })), ['connected', 'reconnecting'])
    assert.deepEqual(STATES.filter(state => videosShown({ video: true, state, videoFlowing: false })), [])
  })

  it('a voice call never shows them', () => {
    for (const state of STATES) assert.equal(videosShown({ video: false, state, videoFlowing: true }), false, state)
  })

  describe('in the tab', () => {
    let clock: ReturnType<typeof FakeTimers.install>
    let service: Array<(event: { type: string, call: unknown }) => void>
    let media: FakeMedia
    let state: StateBox
    let tab: TabCalls

    beforeEach(() => {
      clock = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
      service = []
      const peerCalls = {
        service: { on: (l: (event: { type: string, call: unknown }) => void) => { service.push(l); return () => {} } },
        accept: async (call: CallSession) => { await call.accept() }
      } as unknown as PeerCalls
      media = fakeMedia({ cameraOn: true })
      state = new StateBox({} as unknown as AppState)
      tab = new TabCalls(peerCalls, media.media, state, () => {}, () => false)
      tab.start()
    })

    afterEach(() => {
      tab.stop()
      clock.uninstall()
    })

    const shown = (): boolean => {
      const view = state.get().call
      return view != null && videosShown(view)
    }

    /** A placed video call, connected. */
    const connected = (id = 'c1'): ReturnType<typeof fakeCall> => {
      const fake = fakeCall({ id, direction: 'outgoing', video: true })
      for (const l of service) l({ type: 'outgoing', call: fake.call })
      fake.emit({ type: 'state', state: 'ringing' })
      fake.emit({ type: 'state', state: 'connected' })
      return fake
    }

    it('connected, they wait for the other side\'s frames, and stay once shown (camera off, reconnecting)', () => {
      const { emit } = connected()
      assert.equal(shown(), false, 'not as it connects')
      media.flowing.add('c1')
      media.changed('c1')
      assert.equal(shown(), true, 'once the frames flow')
      // The other side's camera turns off (its track mutes): the elements stay.
      media.flowing.delete('c1')
      media.changed('c1')
      emit({ type: 'state', state: 'reconnecting' })
      assert.equal(shown(), true)
      emit({ type: 'state', state: 'connected' })
      assert.equal(shown(), true)
    })

    it('with no frames, they show VIDEOS_SHOWN_AFTER_MS after the call connected', () => {
      connected()
      clock.tick(VIDEOS_SHOWN_AFTER_MS - 1)
      assert.equal(shown(), false)
      clock.tick(1)
      assert.equal(shown(), true)
    })

    it('frames that flowed already when it connected show them at once', () => {
      const fake = fakeCall({ id: 'c2', direction: 'outgoing', video: true })
      for (const l of service) l({ type: 'outgoing', call: fake.call })
      media.flowing.add('c2')
      fake.emit({ type: 'state', state: 'connected' })
      assert.equal(shown(), true)
    })

    it('the next call starts without them, and an ended call\'s timer shows nothing', () => {
      const first = connected('c1')
      media.flowing.add('c1')
      media.changed('c1')
      assert.equal(shown(), true)
      first.emit({ type: 'state', state: 'ended' })
      first.emit({ type: 'ended', reason: 'hangup' })
      tab.dismiss()
      connected('c3')
      assert.equal(shown(), false, 'a new call waits for its own frames')
      const views: Array<boolean | undefined> = []
      state.subscribe((s) => { views.push(s.call?.videoFlowing) })
      const ended = connected('c4')
      ended.emit({ type: 'state', state: 'ended' })
      ended.emit({ type: 'ended', reason: 'hangup' })
      views.length = 0
      clock.tick(VIDEOS_SHOWN_AFTER_MS)
      assert.deepEqual(views.filter(v => v === true), [], 'no view of the ended call turned them on')
    })
  })
})
