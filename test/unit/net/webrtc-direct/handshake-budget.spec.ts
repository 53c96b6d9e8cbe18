/**
 * The bound on WebRTC-direct handshakes under way (src/net/webrtc-direct/
 * handshake-budget.ts), over a stub upgrader: beyond `max`, the signal
 * handed out is already aborted (so the listener allocates nothing); a
 * handshake that ends gives its place back, once.
 */
import assert from 'node:assert/strict'
import type { ClearableSignal, Upgrader } from '@libp2p/interface'
import { HandshakeBudget } from '../../../../src/net/webrtc-direct/handshake-budget.js'

function stubUpgrader (): Upgrader & { made: number } {
  const stub = {
    made: 0,
    createInboundAbortSignal (parent: AbortSignal): ClearableSignal {
      stub.made++
      const controller = new AbortController()
      parent.addEventListener('abort', () => { controller.abort(parent.reason) })
      return Object.assign(controller.signal, { clear () {} })
    }
  }
  return stub as unknown as Upgrader & { made: number }
}

describe('WebRTC-direct handshake budget', () => {
  it('refuses handshakes beyond max with an aborted signal, before asking the real upgrader', () => {
    const inner = stubUpgrader()
    const budget = new HandshakeBudget({ max: 2 })
    const upgrader = budget.upgrader(() => inner)
    const parent = new AbortController().signal
    const a = upgrader.createInboundAbortSignal(parent)
    const b = upgrader.createInboundAbortSignal(parent)
    const c = upgrader.createInboundAbortSignal(parent)
    assert.equal(a.aborted, false)
    assert.equal(b.aborted, false)
    assert.equal(c.aborted, true)
    assert.equal((c.reason as Error).name, 'HandshakesBusyError')
    assert.throws(() => { c.throwIfAborted() }, { name: 'HandshakesBusyError' })
    assert.equal(inner.made, 2)
    assert.deepEqual(budget.metrics, { pending: 2, refused: 1 })
    c.clear()
    assert.equal(budget.metrics.pending, 2, 'clearing a refused signal frees nothing')
  })

  it('gives a place back when a handshake ends, once however often it is cleared', () => {
    const budget = new HandshakeBudget({ max: 1 })
    const upgrader = budget.upgrader(stubUpgrader)
    const parent = new AbortController().signal
    const a = upgrader.createInboundAbortSignal(parent)
    a.clear()
    a.clear()
    assert.equal(budget.metrics.pending, 0)
    const b = upgrader.createInboundAbortSignal(parent)
    assert.equal(b.aborted, false)
    assert.equal(upgrader.createInboundAbortSignal(parent).aborted, true)
  })
})
