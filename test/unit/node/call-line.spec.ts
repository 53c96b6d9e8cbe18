/**
 * What `starling call` says of a call that never connected
 * (node/cli/commands/call.ts): each way it can end in its own words, not
 * "not answered" for all but three of them.
 */
import assert from 'node:assert/strict'
import { notConnectedLine } from '../../../node/cli/commands/call.js'

describe('cli: the line for a call that never connected', () => {
  it('says how it ended: declined, busy, not reachable, not answered, could not connect, tampered with, a protocol error', () => {
    assert.equal(notConnectedLine('bob~x1', 'declined'), 'call with bob~x1: declined')
    assert.equal(notConnectedLine('bob~x1', 'busy'), 'call with bob~x1: busy')
    assert.equal(notConnectedLine('bob~x1', 'unreachable'), 'call with bob~x1: not reachable')
    assert.equal(notConnectedLine('bob~x1', 'missed'), 'call with bob~x1: not answered')
    assert.equal(notConnectedLine('bob~x1', 'failed'), 'call with bob~x1: answered, but the call could not be connected')
    assert.match(notConnectedLine('bob~x1', 'fingerprint'), /tampered with/)
    assert.equal(notConnectedLine('bob~x1', 'protocol'), 'call with bob~x1: ended: a protocol error')
    assert.equal(notConnectedLine('bob~x1', 'remote-hangup'), 'call with bob~x1: ended by the other side before it connected')
  })

  it('a reason this version does not know is said as it is; none at all reads as ended', () => {
    assert.equal(notConnectedLine('bob~x1', 'something-new'), 'call with bob~x1: ended (something-new)')
    assert.equal(notConnectedLine('bob~x1', undefined), 'call with bob~x1: ended before it connected')
  })
})
