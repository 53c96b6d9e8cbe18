import assert from 'node:assert/strict'
import { mock } from 'node:test'
import fc from 'fast-check'
import { MAX_RANGES, checkRanges, rangeIndices, rangeSize, toRanges } from '../../../../src/protocols/attachment/index.js'
import { CreditGate } from '../../../../src/protocols/attachment/credit.js'
import { InactivityTimer } from '../../../../src/protocols/attachment/inactivity.js'

function protocolErrorOf (fn: () => void): string | undefined {
  try {
    fn()
    return undefined
  } catch (err) {
    return (err as Error).name
  }
}

describe('protocols/attachment ranges and credit', () => {
  it('turns indices into the fewest ranges and back (property)', () => {
    fc.assert(fc.property(fc.uniqueArray(fc.nat({ max: 3000 }), { maxLength: 200 }), raw => {
      const indices = [...raw].sort((a, b) => a - b)
      const ranges = toRanges(indices)
      assert.deepEqual([...rangeIndices(ranges)], indices)
      assert.equal(rangeSize(ranges), indices.length)
      for (let i = 1; i < ranges.length; i++) assert.ok(ranges[i].start > ranges[i - 1].end, 'adjacent ranges are merged')
    }))
    assert.deepEqual(toRanges([0, 1, 2, 5, 7, 8]), [{ start: 0, end: 3 }, { start: 5, end: 6 }, { start: 7, end: 9 }])
  })

  it('refuses empty, reversed, overlapping, unordered, out-of-bounds and too many ranges', () => {
    for (const bad of [[], [{ start: 2, end: 2 }], [{ start: 3, end: 1 }], [{ start: 0, end: 5 }, { start: 4, end: 6 }],
      [{ start: 5, end: 6 }, { start: 0, end: 1 }], [{ start: 0, end: 2 ** 32 }], [{ start: 0.5, end: 2 }],
      Array.from({ length: MAX_RANGES + 1 }, (_, i) => ({ start: 2 * i, end: 2 * i + 1 }))]) {
      assert.equal(protocolErrorOf(() => { checkRanges(bad) }), 'AttachmentProtocolError', JSON.stringify(bad).slice(0, 60))
    }
    assert.equal(protocolErrorOf(() => { checkRanges([{ start: 0, end: 1 }, { start: 1, end: 2 }]) }), undefined)
  })

  it('credit: takes while there is some, waits for more, fails and times out', async () => {
    const gate = new CreditGate(2, 4)
    const signal = new AbortController().signal
    await gate.take(signal)
    await gate.take(signal)
    let taken = false
    const waiting = gate.take(signal).then(() => { taken = true })
    await Promise.resolve()
    assert.equal(taken, false)
    gate.add(10)
    await waiting
    assert.equal(taken, true)
    for (let i = 0; i < 3; i++) await gate.take(signal)
    await assert.rejects(gate.take(AbortSignal.timeout(20)), (err: Error) => err.name === 'TimeoutError')
    const failing = gate.take(signal)
    gate.fail(new Error('gone'))
    await assert.rejects(failing, /gone/)
  })

  it('inactivity timer: touches postpone the deadline, silence fires it, a parent abort passes through', () => {
    // Fake timers and clock: a busy machine cannot stretch a 60 ms pause past the 400 ms limit.
    mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 })
    try {
      const timer = new InactivityTimer(400)
      for (let elapsed = 0; elapsed < 700; elapsed += 60) {
        mock.timers.tick(60)
        timer.touch()
      }
      assert.equal(timer.signal.aborted, false, '700 ms of activity every 60 ms')
      mock.timers.tick(399)
      assert.equal(timer.signal.aborted, false, '399 ms of silence')
      mock.timers.tick(1)
      assert.equal(timer.signal.aborted, true, '400 ms of silence')
      assert.equal((timer.signal.reason as Error).name, 'TimeoutError')
    } finally {
      mock.timers.reset()
    }
    const parent = new AbortController()
    const child = new InactivityTimer(10_000, parent.signal)
    parent.abort(new Error('stop'))
    assert.equal(child.signal.aborted, true)
    child.clear()
  })
})
