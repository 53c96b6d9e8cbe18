/** The thread's window (web/src/ui/window.ts): the newest messages, widened to one the user goes to. */
import assert from 'node:assert/strict'
import { THREAD_WINDOW, windowStart } from '../../../web/src/ui/window.js'

describe('web: the thread renders a window of the newest messages', function () {
  it('renders everything while it fits, the newest THREAD_WINDOW of a flood', () => {
    assert.equal(windowStart(10, THREAD_WINDOW), 0)
    assert.equal(windowStart(THREAD_WINDOW, THREAD_WINDOW), 0)
    assert.equal(windowStart(100_000, THREAD_WINDOW), 100_000 - THREAD_WINDOW)
    assert.equal(windowStart(100_000, 2 * THREAD_WINDOW), 100_000 - 2 * THREAD_WINDOW)
  })

  it('reaches back to a message the user goes to, never past the start', () => {
    assert.equal(windowStart(1000, THREAD_WINDOW, 3), 3)
    assert.equal(windowStart(1000, THREAD_WINDOW, 999), 1000 - THREAD_WINDOW)
    assert.equal(windowStart(1000, THREAD_WINDOW, -1), 1000 - THREAD_WINDOW)
    assert.equal(windowStart(5, 200_000), 0)
  })
})
