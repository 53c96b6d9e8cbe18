/**
 * A relay's connection monitor settings reach its monitor: the ping
 * interval, a fixed ping timeout, and whether a failed ping closes the
 * connection (libp2p pings every connection in one tick and by default
 * closes one whose ping took over ~5 s: a busy relay dropped live users).
 * Not a timing test: the relay's monitor is read back (spread-monitor.spec.ts
 * tests what it does).
 */
import assert from 'node:assert/strict'
import { memory } from '@libp2p/memory'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryLevel } from 'memory-level'
import { RELAY_CONNECTION_MONITOR, createStarlingRelay } from '../../../src/peer/index.js'
import type { RelayPlatform, StarlingRelay } from '../../../src/peer/index.js'
import { connectionMonitorInit } from '../../../src/net/node.js'
import { spreadMonitorOf } from '../../../src/net/spread-monitor.js'
import { LevelStore } from '../../../src/store/index.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'

/** The relay's monitor (src/net/spread-monitor.ts) and that libp2p built none of its own (it would ping everyone in one tick). */
function monitorOf (relay: StarlingRelay): { pingIntervalMs: number, abortConnectionOnPingFailure: boolean, timeout: { minTimeout: number, maxTimeout: number } } {
  assert.throws(() => (relay.node as unknown as { components: { connectionMonitor?: unknown } }).components.connectionMonitor, { name: 'MissingServiceError' }, 'libp2p\'s own monitor is off')
  const monitor = spreadMonitorOf(relay.node)
  assert.ok(monitor != null, 'the relay runs a spread monitor')
  const s = monitor.settings
  return { pingIntervalMs: s.intervalMs, abortConnectionOnPingFailure: s.closeOnFailure, timeout: { minTimeout: s.timeoutMs, maxTimeout: s.timeoutMs } }
}

async function platform (): Promise<RelayPlatform> {
  const key = await generateKeyPair('Ed25519')
  return {
    crypto,
    transports: () => [memory()],
    peerKey: async () => key,
    openStore: async () => {
      const store = new LevelStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
      await store.open()
      return store
    }
  }
}

describe('relay: connection monitor settings', function () {
  this.timeout(30_000)

  it('a relay by default pings every 30 s, fails a ping after a fixed 30 s (not the adaptive ≥ 5 s), and closes on failure', async () => {
    const relay = await createStarlingRelay(await platform(), { listen: [], announce: [] })
    try {
      const monitor = monitorOf(relay)
      assert.equal(monitor.pingIntervalMs, RELAY_CONNECTION_MONITOR.intervalMs)
      assert.equal(RELAY_CONNECTION_MONITOR.intervalMs, 30_000)
      assert.deepEqual([monitor.timeout.minTimeout, monitor.timeout.maxTimeout], [30_000, 30_000])
      assert.equal(monitor.abortConnectionOnPingFailure, true)
    } finally {
      await relay.stop()
    }
  })

  it('an operator\'s interval, timeout and close-on-failure reach the relay\'s monitor', async () => {
    const relay = await createStarlingRelay(await platform(), {
      listen: [],
      announce: [],
      connectionMonitor: { intervalMs: 45_000, timeoutMs: 12_000, closeOnFailure: false }
    })
    try {
      const monitor = monitorOf(relay)
      assert.equal(monitor.pingIntervalMs, 45_000)
      assert.deepEqual([monitor.timeout.minTimeout, monitor.timeout.maxTimeout], [12_000, 12_000])
      assert.equal(monitor.abortConnectionOnPingFailure, false)
    } finally {
      await relay.stop()
    }
  })

  it('a simulation\'s keep-alive interval still sets the interval when the operator gave none', () => {
    assert.deepEqual(connectionMonitorInit(90_000), { pingInterval: 90_000, pingTimeout: { minTimeout: 90_000, maxTimeout: 90_000 } })
    assert.deepEqual(connectionMonitorInit(90_000, { intervalMs: 20_000 }), { pingInterval: 20_000, pingTimeout: { minTimeout: 20_000, maxTimeout: 20_000 } })
    // A user's node: libp2p's interval, and a fixed timeout of that interval instead of the adaptive one (at least 5 s).
    assert.deepEqual(connectionMonitorInit(), { pingInterval: 10_000, pingTimeout: { minTimeout: 10_000, maxTimeout: 10_000 } })
  })

  it('a timeout longer than the interval is cut to it: a ping unanswered at the next tick fails then anyway, and on a dead connection they would pile up', async () => {
    // libp2p starts a ping on every connection at each tick without waiting for the last (connection-monitor.js).
    assert.deepEqual(connectionMonitorInit(undefined, { intervalMs: 1000, timeoutMs: 600_000 }), { pingInterval: 1000, pingTimeout: { minTimeout: 1000, maxTimeout: 1000 } })
    assert.deepEqual(connectionMonitorInit(undefined, { timeoutMs: 600_000 }), { pingInterval: 10_000, pingTimeout: { minTimeout: 10_000, maxTimeout: 10_000 } }, "against libp2p's own 10 s interval")
    assert.deepEqual(connectionMonitorInit(60_000, { timeoutMs: 30_000 }), { pingInterval: 60_000, pingTimeout: { minTimeout: 30_000, maxTimeout: 30_000 } })
    const relay = await createStarlingRelay(await platform(), { listen: [], announce: [], connectionMonitor: { intervalMs: 1000, timeoutMs: 600_000 } })
    try {
      const monitor = monitorOf(relay)
      assert.equal(monitor.pingIntervalMs, 1000)
      assert.ok(monitor.timeout.maxTimeout <= monitor.pingIntervalMs, `a ping may wait ${monitor.timeout.maxTimeout} ms, ${monitor.timeout.maxTimeout / monitor.pingIntervalMs} intervals`)
    } finally {
      await relay.stop()
    }
  })
})
