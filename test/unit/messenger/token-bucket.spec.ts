import assert from 'node:assert/strict'
import { TokenBucket } from '../../../src/messenger/token-bucket.js'

describe('messenger/token-bucket', () => {
  it('starts full, refuses what it does not hold without taking anything, refills over time up to its capacity', () => {
    const b = new TokenBucket({ capacity: 100, refillMs: 1000 }, 0)
    assert.equal(b.take(60, 0), true)
    assert.equal(b.take(41, 0), false)
    assert.equal(b.available(0), 40)
    assert.equal(b.take(60, 200), true, '20 refilled in 200 ms')
    assert.equal(b.available(200), 0)
    assert.equal(b.available(10_000), 100, 'never above capacity')
    assert.equal(b.take(101, 20_000), false, 'more than the capacity never fits')
  })

  it('a clock that goes back refills nothing', () => {
    const b = new TokenBucket({ capacity: 10, refillMs: 1000 }, 5_000)
    assert.equal(b.take(10, 5_000), true)
    assert.equal(b.available(0), 0)
    assert.equal(b.available(100), 1)
  })

  it('refuses a nonsensical size with RangeError', () => {
    assert.throws(() => new TokenBucket({ capacity: -1, refillMs: 1 }, 0), { name: 'RangeError' })
    assert.throws(() => new TokenBucket({ capacity: 1, refillMs: 0 }, 0), { name: 'RangeError' })
    assert.throws(() => new TokenBucket({ capacity: Number.NaN, refillMs: 1 }, 0), { name: 'RangeError' })
  })
})
