/**
 * The spread monitor (src/net/spread-monitor.ts) runs on every node now,
 * daemons and tabs too (node.ts). What a remote peer can do to it, on a
 * real user node over the memory transport with setInterval and Date faked
 * (the monitor comes round only when the test moves the clock):
 *
 * - open its own ping streams to us, hold them, or flood them: our pings
 *   of it are ours (one outbound stream), the connection stays open;
 * - echo our ping and never close its side: the stream lingers, the
 *   monitor passes over that connection (one lingering stream, never more)
 *   and closes nothing;
 * - be pinged when the node stops: the ping under way is dropped, nothing
 *   counted as failed or closed; started again, the node's monitor pings
 *   its new connections.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { memory } from '@libp2p/memory'
import { ping } from '@libp2p/ping'
import { byteStream } from '@libp2p/utils'
import { createLibp2p } from 'libp2p'
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createStarlingNode } from '../../../src/net/node.js'
import type { StarlingLibp2p } from '../../../src/net/node.js'
import { PING_PROTOCOL, spreadMonitorOf } from '../../../src/net/spread-monitor.js'
import type { SpreadMonitor } from '../../../src/net/spread-monitor.js'
import { starlingDhtValidators } from '../../../src/identity/index.js'
import { createCrypto } from '../../../src/crypto/index.js'

/** A user node's default ping interval (libp2p's 10 s). */
const INTERVAL_MS = 10_000

/** Waits on real time (only setInterval and Date are fake) until `check` holds, at most `rounds` × 20 ms of it. */
async function until (what: string, check: () => boolean, rounds = 1_500): Promise<void> {
  for (let i = 0; !check(); i++) {
    if (i >= rounds) assert.fail(`gave up waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

function outboundPings (conn: Connection): number {
  return conn.streams.filter(s => s.direction === 'outbound' && s.protocol === PING_PROTOCOL).length
}

/** Echoes a ping and closes, as libp2p's ping service does. */
async function echo (stream: Stream): Promise<void> {
  const bs = byteStream(stream)
  await bs.write(await bs.read({ bytes: 32 }))
  await stream.close()
}

/** A remote peer whose ping handler `onPing` is the test's (default: libp2p's ping service). */
async function remotePeer (addr: string, onPing?: (stream: Stream) => Promise<void>): Promise<{ node: Libp2p, pings: () => number }> {
  const node = await createLibp2p({
    addresses: { listen: [addr] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionMonitor: { enabled: false },
    services: { identify: identify(), ...(onPing == null ? { ping: ping() } : {}) }
  })
  let pings = 0
  if (onPing != null) {
    await node.handle(PING_PROTOCOL, async (stream: Stream) => {
      pings++
      try {
        await onPing(stream)
      } catch (err) {
        stream.abort(err as Error)
      }
    }, { maxInboundStreams: 8, maxOutboundStreams: 1_000, runOnLimitedConnection: true })
  }
  return { node, pings: () => pings }
}

describe('net: what a remote peer can do to a node\'s connection pings', function () {
  this.timeout(120_000)
  let clock: FakeTimers.Clock | undefined
  const nodes: Array<{ stop: () => void | Promise<void> }> = []
  afterEach(async () => {
    await Promise.allSettled(nodes.splice(0).map(async n => { await n.stop() }))
    clock?.uninstall()
    clock = undefined
  })

  async function userNode (): Promise<{ node: StarlingLibp2p, monitor: SpreadMonitor }> {
    const { validators, selectors } = starlingDhtValidators(createCrypto(), { now: Date.now })
    const node = await createStarlingNode({ privateKey: await generateKeyPair('Ed25519'), role: 'user', transports: [memory()], validators, selectors, loopback: true })
    nodes.push(node)
    const monitor = spreadMonitorOf(node)
    assert.ok(monitor != null)
    return { node, monitor }
  }

  /** Moves the fake clock by `ms` in monitor ticks, letting the event loop run between them. */
  async function advance (ms: number): Promise<void> {
    for (let t = 0; t < ms; t += 500) {
      clock?.tick(500)
      await new Promise(resolve => setImmediate(resolve))
    }
  }

  it('a peer that holds its own ping streams to us, and one that floods them, does not make our pings of it fail', async () => {
    clock = FakeTimers.install({ now: Date.now(), toFake: ['setInterval', 'clearInterval', 'Date'] })
    const addr = `/memory/monitor-attacks-own-${process.pid}`
    const remote = await remotePeer(addr, echo)
    nodes.push(remote.node)
    const { node, monitor } = await userNode()
    const conn = await node.dial(multiaddr(`${addr}/p2p/${remote.node.peerId.toString()}`))
    const back = remote.node.getConnections(node.peerId)[0]
    // Two inbound ping streams (the most our ping service takes) held open, sending nothing.
    const held = [await back.newStream(PING_PROTOCOL, { runOnLimitedConnection: true }), await back.newStream(PING_PROTOCOL, { runOnLimitedConnection: true })]
    // And 50 more opened and dropped at once.
    for (let i = 0; i < 50; i++) {
      const s = await back.newStream(PING_PROTOCOL, { runOnLimitedConnection: true }).catch(() => undefined)
      s?.abort(new Error('gone'))
    }
    await advance(2 * INTERVAL_MS)
    await until('our ping of the peer came back', () => monitor.counts.pings >= 1 && conn.rtt != null && outboundPings(conn) === 0)
    assert.equal(monitor.counts.failed, 0)
    assert.equal(conn.status, 'open')
    for (const s of held) s.abort(new Error('done'))
  })

  it('a peer that echoes our ping and never closes its side: one lingering stream at most, the connection stays open', async () => {
    clock = FakeTimers.install({ now: Date.now(), toFake: ['setInterval', 'clearInterval', 'Date'] })
    const addr = `/memory/monitor-attacks-linger-${process.pid}`
    const remote = await remotePeer(addr, async (stream) => {
      const bs = byteStream(stream)
      await bs.write(await bs.read({ bytes: 32 }))
      // Never closes: its side of the stream stays open.
      await new Promise(() => {})
    })
    nodes.push(remote.node)
    const { node, monitor } = await userNode()
    const conn = await node.dial(multiaddr(`${addr}/p2p/${remote.node.peerId.toString()}`))
    await advance(5 * INTERVAL_MS)
    await until('the first ping came back', () => conn.rtt != null)
    await advance(3 * INTERVAL_MS)
    await until('later rounds passed over the lingering stream', () => monitor.counts.busy >= 2)
    assert.equal(remote.pings(), 1, 'a ping stream was opened beside a lingering one')
    assert.ok(outboundPings(conn) <= 1)
    assert.equal(monitor.counts.failed, 0)
    assert.equal(conn.status, 'open')
  })

  it('a node stopped while a ping is under way counts nothing as failed; started again, it pings its new connections', async () => {
    clock = FakeTimers.install({ now: Date.now(), toFake: ['setInterval', 'clearInterval', 'Date'] })
    const addr = `/memory/monitor-attacks-restart-${process.pid}`
    let answer = false
    const remote = await remotePeer(addr, async (stream) => {
      const bs = byteStream(stream)
      const got = await bs.read({ bytes: 32 })
      // The first ping is never answered: the node stops while it is under way.
      if (!answer) await new Promise(() => {})
      await bs.write(got)
      await stream.close()
    })
    nodes.push(remote.node)
    const { node, monitor } = await userNode()
    const target = multiaddr(`${addr}/p2p/${remote.node.peerId.toString()}`)
    await node.dial(target)
    await advance(2 * INTERVAL_MS)
    await until('a ping under way', () => remote.pings() === 1)
    await node.stop()
    assert.equal(monitor.counts.failed, 0, 'the ping the stop dropped counted as a failure')
    const before = monitor.counts.pings
    await advance(2 * INTERVAL_MS)
    assert.equal(monitor.counts.pings, before, 'a stopped node pinged')

    answer = true
    await node.start()
    await node.start()
    const conn = await node.dial(target)
    await advance(2 * INTERVAL_MS)
    await until('the new connection pinged', () => conn.rtt != null && remote.pings() >= 2)
    assert.equal(monitor.counts.failed, 0)
    assert.equal(conn.status, 'open')
  })
})
