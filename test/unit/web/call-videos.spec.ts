/**
 * When a call's screen shows the videos (web/src/ui/CallScreen.tsx): the
 * caller's from its screen's first showing (its ring has left, and it waits
 * for the callee: mounting them at the connect held back the first remote
 * frame the page sees), the callee's once connected (not while its camera
 * goes on the connection), both while it reconnects; never for a voice call.
 */
import assert from 'node:assert/strict'
import { videosShown } from '../../../web/src/ui/CallScreen.js'
import type { CallState } from '../../../src/calls/index.js'

describe('web: the call screen\'s videos', () => {
  const states: CallState[] = ['ringing', 'calling', 'connecting', 'connected', 'reconnecting', 'ended']

  it('a video call\'s caller sees them from the start; its callee once connected; both while it reconnects', () => {
    assert.deepEqual(states.filter(state => videosShown({ video: true, state, direction: 'outgoing' })), ['ringing', 'calling', 'connecting', 'connected', 'reconnecting'])
    assert.deepEqual(states.filter(state => videosShown({ video: true, state, direction: 'incoming' })), ['connected', 'reconnecting'])
  })

  it('a voice call never shows them', () => {
    for (const direction of ['outgoing', 'incoming'] as const) {
      for (const state of states) assert.equal(videosShown({ video: false, state, direction }), false, `${direction} ${state}`)
    }
  })
})
