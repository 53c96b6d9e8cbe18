/** Slots for requests in flight per source: the bound, hand-over in order, cancelling, and memory that follows the sources at work. */
import assert from 'node:assert/strict'
import { SourceSlots } from '../../../../src/protocols/store/in-flight.js'

describe('protocols/store slots per source', () => {
  it('takes up to the bound at once; the next waits and gets a slot given back, first come first served', async () => {
    const slots = new SourceSlots(2)
    await slots.take('a')
    await slots.take('a')
    const order: number[] = []
    const third = slots.take('a').then(() => { order.push(3) })
    const fourth = slots.take('a').then(() => { order.push(4) })
    await slots.take('b')
    await Promise.resolve()
    assert.deepEqual(order, [], 'a third request of one source went ahead')
    assert.equal(slots.used('a'), 2)
    slots.give('a')
    await third
    assert.deepEqual(order, [3])
    slots.give('a')
    await fourth
    assert.deepEqual(order, [3, 4])
    assert.equal(slots.used('a'), 2)
  })

  it('cancelling rejects the waiters (nothing taken); a source with nothing under way is forgotten', async () => {
    const slots = new SourceSlots(1)
    await slots.take('a')
    const waiting = slots.take('a')
    slots.cancelWaiting(new Error('stopping'))
    await assert.rejects(waiting, /stopping/)
    assert.equal(slots.used('a'), 1)
    slots.give('a')
    assert.equal(slots.used('a'), 0)
    assert.equal(slots.size, 0)
    assert.throws(() => new SourceSlots(0), RangeError)
  })
})
