/**
 * The relay's connection monitor (src/net/spread-monitor.ts) pings each
 * connection once per interval at its own phase, not all in one tick as
 * libp2p's does; a failed ping closes the connection when asked, a peer
 * without the ping protocol counts as alive. Fake connections and an
 * injected clock for the spread; two real libp2p nodes for the ping itself.
 */
import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createLibp2p } from 'libp2p'
import type { Connection, Libp2p } from '@libp2p/interface'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { memory } from '@libp2p/memory'
import { multiaddr } from '@multiformats/multiaddr'
import { PING_METRIC, SpreadMonitor } from '../../../src/net/spread-monitor.js'
import type { Metrics } from '@libp2p/interface'
import { waitFor } from '../relay/helpers.js'

/** A connection whose ping stream fails with `error` (or never opens when `hang`), recording pings and aborts. */
function fakeConnection (error: Error, hang = false, clock: () => number = () => 0): Connection & { opened: number, at: number[], aborted?: Error } {
  const conn = {
    status: 'open',
    streams: [],
    opened: 0,
    at: [] as number[],
    aborted: undefined as Error | undefined,
    remotePeer: { toString: () => 'fake' },
    newStream: async (_protocol: string, options: { signal: AbortSignal }) => {
      conn.opened++
      conn.at.push(clock())
      if (hang) {
        await new Promise((_resolve, reject) => options.signal.addEventListener('abort', () => { reject(options.signal.reason) }, { once: true }))
      }
      throw error
    },
    abort: (err: Error) => { conn.aborted = err; conn.status = 'closed' }
  }
  return conn as unknown as Connection & { opened: number, at: number[], aborted?: Error }
}

function unsupported (): Error {
  const err = new Error('protocol selection failed')
  err.name = 'UnsupportedProtocolError'
  return err
}

describe('net: the spread connection monitor', function () {
  this.timeout(30_000)

  it('pings 1,200 connections once per interval each, at most a few per tick (libp2p\'s monitor: all 1,200 in one)', async () => {
    let now = 0
    const conns = Array.from({ length: 1200 }, () => fakeConnection(unsupported(), false, () => now))
    let draw = 0
    const monitor = new SpreadMonitor({ getConnections: () => conns, intervalMs: 30_000, timeoutMs: 30_000, closeOnFailure: true, now: () => now, random: () => (draw++ % 1200) / 1200 })
    const perTick: number[] = []
    // 95 s of 500 ms ticks.
    for (let t = 0; t <= 95_000; t += 500) {
      now = t
      const before = monitor.counts.pings
      monitor.tick()
      perTick.push(monitor.counts.pings - before)
      await new Promise(resolve => setImmediate(resolve))
    }
    // First ping within the first interval after being seen, then every 30 s (to the 500 ms tick), whatever the phase.
    for (const c of conns) {
      assert.ok(c.at[0] <= 30_000 && c.at.length >= 3, `first ping at ${c.at[0]} ms, ${c.at.length} in 95 s`)
      for (let i = 1; i < c.at.length; i++) assert.ok(Math.abs(c.at[i] - c.at[i - 1] - 30_000) <= 500, `pings ${c.at[i] - c.at[i - 1]} ms apart`)
    }
    assert.ok(Math.max(...perTick) <= 2 * 1200 * 500 / 30_000, `at most ${Math.max(...perTick)} pings in a tick, for ${1200 * 500 / 30_000} on average`)
    assert.equal(monitor.counts.failed, 0, 'a peer without the protocol is alive')
    assert.ok(conns.every(c => c.aborted == null))
  })

  it('a failed ping closes the connection, unless told not to; a ping unanswered within the timeout fails', async () => {
    for (const closeOnFailure of [true, false]) {
      const broken = fakeConnection(new Error('stream reset'))
      const silent = fakeConnection(new Error('never'), true)
      let now = 0
      const monitor = new SpreadMonitor({ getConnections: () => [broken, silent], intervalMs: 1_000, timeoutMs: 50, closeOnFailure, now: () => now, random: () => 0 })
      monitor.tick()
      now = 1
      monitor.tick()
      await waitFor('both pings failed', () => monitor.counts.failed === 2)
      assert.equal(broken.aborted != null, closeOnFailure)
      assert.equal(silent.aborted != null, closeOnFailure)
      if (closeOnFailure) assert.equal(silent.aborted?.name, 'TimeoutError')
      monitor.stop()
    }
  })

  it('never has two of its pings in flight on one connection: a ping still under way when the next is due is not doubled', async () => {
    // The ping protocol allows one outbound stream per connection; a second
    // fails with TooManyOutboundProtocolStreamsError, which would close a live
    // connection. Here the first ping hangs (a peer that half-answers) past its due time.
    const slow = fakeConnection(new Error('never'), true)
    let now = 0
    const monitor = new SpreadMonitor({ getConnections: () => [slow], intervalMs: 1_000, timeoutMs: 60_000, closeOnFailure: false, now: () => now, random: () => 0 })
    try {
      for (now = 0; now <= 3_000; now += 500) monitor.tick()
      await new Promise(resolve => setImmediate(resolve))
      assert.equal(slow.opened, 1, `${slow.opened} ping streams opened while the first was under way`)
      assert.equal(monitor.counts.failed, 0)
    } finally {
      monitor.stop()
    }
  })

  it('another ping under way on the connection (the DHT pinging a contact) does not close it: the monitor waits its turn', async () => {
    const nodes: Libp2p[] = []
    try {
      for (const name of ['a', 'b']) {
        nodes.push(await createLibp2p({
          addresses: { listen: [`/memory/spread-monitor-busy-${process.pid}-${name}`] },
          transports: [memory()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          connectionMonitor: { enabled: false },
          services: { identify: identify(), ping: ping() }
        }))
      }
      const conn = await nodes[0].dial(multiaddr(`/memory/spread-monitor-busy-${process.pid}-b`))
      // An outbound ping stream held open, as kad-dht's ping of a slow contact is.
      const held = await conn.newStream('/ipfs/ping/1.0.0')
      let now = 0
      const monitor = new SpreadMonitor({ getConnections: () => nodes[0].getConnections(), intervalMs: 1_000, timeoutMs: 5_000, closeOnFailure: true, now: () => now, random: () => 0 })
      monitor.tick()
      now = 1
      monitor.tick()
      await waitFor('the due ping settled', () => monitor.counts.failed + monitor.counts.busy > 0)
      assert.equal(conn.status, 'open', 'the live connection was closed')
      assert.equal(monitor.counts.failed, 0)
      // Once the other ping is over, the next due one goes out and comes back.
      held.abort(new Error('done'))
      await waitFor('the held stream is gone', () => conn.streams.every(s => s.protocol !== '/ipfs/ping/1.0.0'))
      now = 1_001
      monitor.tick()
      await waitFor('the ping came back', () => conn.rtt != null)
      assert.equal(monitor.counts.failed, 0)
      assert.equal(conn.status, 'open')
      monitor.stop()
    } finally {
      await Promise.all(nodes.map(async n => { await n.stop() }))
    }
  })

  it('keeps libp2p\'s ping-time metric: each ping\'s time as success or failure', async () => {
    const updates: Array<{ name: string, values: Record<string, number> }> = []
    const metrics = { registerMetricGroup: (name: string) => ({ update: (values: Record<string, number>) => { updates.push({ name, values }) } }) } as unknown as Metrics
    const alive = fakeConnection(unsupported())
    const broken = fakeConnection(new Error('stream reset'))
    let now = 0
    const monitor = new SpreadMonitor({ getConnections: () => [alive, broken], intervalMs: 1_000, timeoutMs: 1_000, closeOnFailure: true, now: () => now, random: () => 0, metrics })
    monitor.tick()
    now = 1
    monitor.tick()
    await waitFor('both pings settled', () => updates.length === 2)
    assert.ok(updates.every(u => u.name === PING_METRIC))
    assert.deepEqual(updates.map(u => Object.keys(u.values)[0]).sort(), ['failure', 'success'])
    assert.ok(updates.every(u => Object.values(u.values).every(v => Number.isFinite(v) && v >= 0)))
  })

  it('pings a real peer over libp2p: the round trip is kept, nothing closed', async () => {
    const nodes: Libp2p[] = []
    try {
      for (const name of ['a', 'b']) {
        nodes.push(await createLibp2p({
          addresses: { listen: [`/memory/spread-monitor-${process.pid}-${name}`] },
          transports: [memory()],
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          connectionMonitor: { enabled: false },
          services: { identify: identify(), ping: ping() }
        }))
      }
      const conn = await nodes[0].dial(multiaddr(`/memory/spread-monitor-${process.pid}-b`))
      let now = 0
      const monitor = new SpreadMonitor({ getConnections: () => nodes[0].getConnections(), intervalMs: 1_000, timeoutMs: 5_000, closeOnFailure: true, now: () => now, random: () => 0 })
      monitor.tick()
      now = 1
      monitor.tick()
      await waitFor('the ping came back', () => conn.rtt != null)
      assert.equal(monitor.counts.pings, 1)
      assert.equal(monitor.counts.failed, 0)
      assert.equal(conn.status, 'open')
    } finally {
      await Promise.all(nodes.map(async n => { await n.stop() }))
    }
  })
})
