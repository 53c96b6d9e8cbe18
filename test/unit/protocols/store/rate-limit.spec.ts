/** Per-peer token buckets with an injected clock. */
import assert from 'node:assert/strict'
import { PeerRateLimiter } from '../../../../src/protocols/store/index.js'

describe('protocols/store rate limiter', () => {
  it('allows a burst, then the refill rate, per peer', () => {
    let t = 0
    const limiter = new PeerRateLimiter({ burst: 3, perSecond: 2, now: () => t })
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false])
    assert.equal(limiter.take('b'), true)
    t += 499
    assert.equal(limiter.take('a'), false)
    t += 1
    assert.equal(limiter.take('a'), true)
    assert.equal(limiter.take('a'), false)
    t += 60_000
    assert.deepEqual([1, 2, 3, 4].map(() => limiter.take('a')), [true, true, true, false])
  })

  it('remembers a bounded number of peers, forgetting the least recently seen', () => {
    const limiter = new PeerRateLimiter({ burst: 1, perSecond: 0, maxPeers: 2, now: () => 0 })
    assert.equal(limiter.take('a'), true)
    assert.equal(limiter.take('b'), true)
    assert.equal(limiter.take('a'), false)
    assert.equal(limiter.take('c'), true)
    assert.equal(limiter.size, 2)
    // b was least recently seen and is forgotten: it starts again with a full bucket.
    assert.equal(limiter.take('b'), true)
    assert.equal(limiter.take('c'), false)
  })
})
