/**
 * Property tests (fast-check) over a simulated network between Alice and
 * Bob: sends from either side, deliveries in any order, duplicates.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { decrypt, encrypt } from '../../../src/crypto/session.js'
import type { SessionState } from '../../../src/crypto/session.js'
import { daemonCrypto as crypto } from './providers.js'
import { connectedPair, str, text } from './parties.js'

type Side = 'alice' | 'bob'
type Op =
  | { kind: 'send', from: Side }
  | { kind: 'deliver', to: Side, pick: number }
  | { kind: 'duplicate', to: Side, pick: number }

const side = fc.constantFrom<Side>('alice', 'bob')
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), from: side }),
  fc.record({ kind: fc.constant('deliver' as const), to: side, pick: fc.nat() }),
  fc.record({ kind: fc.constant('duplicate' as const), to: side, pick: fc.nat() })
)

interface InFlight { bytes: Uint8Array, text: string }

describe('session properties', () => {
  it('any delivery order decrypts every message exactly once, duplicates are rejected, and both sides keep talking', async () => {
    await fc.assert(fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 80 }), fc.array(fc.nat(), { minLength: 60, maxLength: 60 }), async (ops, finalOrder) => {
      const pair = await connectedPair(crypto)
      // Alice's first message was already delivered by connectedPair; Bob's state can reply.
      const state: Record<Side, SessionState> = { alice: pair.alice, bob: pair.bob }
      const pending: Record<Side, InFlight[]> = { alice: [], bob: [] }
      const delivered: Record<Side, InFlight[]> = { alice: [], bob: [] }
      const received: Record<Side, string[]> = { alice: [], bob: [] }
      let counter = 0
      const other = (s: Side): Side => s === 'alice' ? 'bob' : 'alice'

      const deliver = async (to: Side, index: number): Promise<void> => {
        const [m] = pending[to].splice(index, 1)
        const d = await decrypt(crypto, state[to], m.bytes)
        assert.equal(str(d.plaintext), m.text)
        state[to] = d.state
        received[to].push(m.text)
        delivered[to].push(m)
      }

      for (const o of ops) {
        if (o.kind === 'send') {
          const body = `${o.from}-${counter++}`
          const m = await encrypt(crypto, state[o.from], text(body))
          state[o.from] = m.state
          pending[other(o.from)].push({ bytes: m.message, text: body })
        } else if (o.kind === 'deliver' && pending[o.to].length > 0) {
          await deliver(o.to, o.pick % pending[o.to].length)
        } else if (o.kind === 'duplicate' && delivered[o.to].length > 0) {
          const m = delivered[o.to][o.pick % delivered[o.to].length]
          await assert.rejects(decrypt(crypto, state[o.to], m.bytes), { name: 'ReplayError' })
        }
      }
      let i = 0
      for (const to of ['alice', 'bob'] as const) {
        while (pending[to].length > 0) await deliver(to, finalOrder[i++ % finalOrder.length] % pending[to].length)
      }
      for (const to of ['alice', 'bob'] as const) {
        assert.equal(new Set(received[to]).size, received[to].length, 'each message once')
        assert.equal(received[to].length, delivered[to].length)
      }
      // Both sides keep talking after any interleaving.
      const a = await encrypt(crypto, state.alice, text('still here?'))
      const b = await decrypt(crypto, state.bob, a.message)
      assert.equal(str(b.plaintext), 'still here?')
      const c = await encrypt(crypto, b.state, text('yes'))
      assert.equal(str((await decrypt(crypto, a.state, c.message)).plaintext), 'yes')
    }), { numRuns: 100 })
  })
})
