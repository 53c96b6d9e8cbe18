/**
 * When a call's screen shows the videos (web/src/ui/CallScreen.tsx): a video
 * call's once it is connected, and while it reconnects; not while it is
 * being set up, when mounting two playing video elements took the tab's
 * thread between the accept and DTLS (CPU profiles of the call benchmark),
 * and never for a voice call.
 */
import assert from 'node:assert/strict'
import { videosShown } from '../../../web/src/ui/CallScreen.js'
import type { CallState } from '../../../src/calls/index.js'

describe('web: the call screen\'s videos', () => {
  it('a video call shows them connected and reconnecting only', () => {
    const shown = (['ringing', 'calling', 'connecting', 'connected', 'reconnecting', 'ended'] as CallState[]).filter(state => videosShown({ video: true, state }))
    assert.deepEqual(shown, ['connected', 'reconnecting'])
  })

  it('a voice call never shows them', () => {
    for (const state of ['connecting', 'connected', 'reconnecting'] as CallState[]) assert.equal(videosShown({ video: false, state }), false, state)
  })
})
