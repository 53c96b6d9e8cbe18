/**
 * A relay that is away: the daemon keeps trying it, less and less often
 * (the wait doubles up to a bound), says since when it has been unreachable
 * with the failure's first line only, and forgets all that once a
 * reservation is made again. A stub node and fake timers: no network.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { RelayReservations } from '../../../src/net/reservations.js'

const RELAY_ID = '12D3KooWDSe2MsJCRTGqdio1e4mfgFhDjnV7fYebqAEsUBZVwud1'
const RELAY = `/ip4/127.0.0.1/tcp/4001/p2p/${RELAY_ID}`

/** A node whose transport manager fails to listen until `setUp(true)`; then it carries the circuit address. */
function stubNode (): { node: Libp2p, attempts: number[], setUp: (up: boolean) => void } {
  const attempts: number[] = []
  let up = false
  let addrs: Multiaddr[] = []
  const node = {
    getMultiaddrs: () => addrs,
    components: {
      transportManager: {
        listen: async (mas: Multiaddr[]) => {
          attempts.push(Date.now())
          if (!up) throw new Error('The dial request has no valid addresses\n    at DialQueue.dial (file.js:1:1)\n    at more frames')
          addrs = mas.map(m => multiaddr(m.toString()))
        }
      }
    }
  } as unknown as Libp2p
  return { node, attempts, setUp: (v) => { up = v } }
}

describe('net/reservations: an unreachable relay', () => {
  let clock: FakeTimers.Clock
  beforeEach(() => { clock = FakeTimers.install({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout', 'Date'] }) })
  afterEach(() => clock.uninstall())

  it('is retried with a doubling wait up to the bound, says since when, and recovers', async () => {
    const s = stubNode()
    const r = new RelayReservations(s.node, { relays: [RELAY], checkIntervalMs: 1000, maxBackoffMs: 8000, now: () => Date.now() })
    const start = Date.now()
    r.start()
    await clock.tickAsync(60_000)
    r.stop()
    const gaps = s.attempts.slice(1).map((t, i) => t - s.attempts[i])
    assert.deepEqual(gaps.slice(0, 5), [1000, 2000, 4000, 8000, 8000], 'the wait doubles, then stays at the bound')
    const st = r.status()[0]
    assert.equal(st.reserved, false)
    assert.equal(st.unreachableSince, start, 'unreachable since the first failure')
    assert.equal(st.lastError, 'The dial request has no valid addresses', 'one line, no stack')
    // 1 s, 2 s, 4 s, then every 8 s: about 10 attempts in a minute, not 60.
    assert.equal(st.failures, s.attempts.length)
    assert.ok(s.attempts.length <= 11, `attempts in a minute: ${s.attempts.length}`)
  })

  it('a reservation made again clears the failure state', async () => {
    const s = stubNode()
    const r = new RelayReservations(s.node, { relays: [RELAY], checkIntervalMs: 1000, maxBackoffMs: 8000 })
    r.start()
    await clock.tickAsync(10_000)
    assert.ok(r.status()[0].unreachableSince != null)
    s.setUp(true)
    await clock.tickAsync(10_000)
    r.stop()
    const st = r.status()[0]
    assert.equal(st.reserved, true)
    assert.equal(st.unreachableSince, undefined)
    assert.equal(st.lastError, undefined)
  })
})
