/** Times in the thread (web/src/ui/format.ts): the same words as the browser's own locale formatting, from formatters made once. */
import assert from 'node:assert/strict'
import { formatTime } from '../../../web/src/ui/format.js'

describe('web: message times', function () {
  const now = new Date(2026, 11, 7, 15, 30).getTime()

  it('today: the time of day, as toLocaleTimeString says it', () => {
    for (const t of [new Date(2026, 11, 7, 0, 0), new Date(2026, 11, 7, 9, 5), new Date(2026, 11, 7, 23, 59)]) {
      assert.equal(formatTime(t.getTime(), now), t.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }))
    }
  })

  it('another day (yesterday, last year, the same day of another month): the date and time, as toLocaleString says it', () => {
    for (const t of [new Date(2026, 11, 6, 23, 59), new Date(2025, 11, 7, 15, 30), new Date(2026, 10, 7, 15, 30)]) {
      assert.equal(formatTime(t.getTime(), now), t.toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' }))
    }
  })
})
