/**
 * A relay's connection monitor settings reach libp2p's monitor: the ping
 * interval, a fixed ping timeout, and whether a failed ping closes the
 * connection (libp2p pings every connection in one tick and by default
 * closes one whose ping took over ~5 s: a busy relay dropped live users).
 * Not a timing test: the monitor libp2p built is read back.
 */
import assert from 'node:assert/strict'
import { memory } from '@libp2p/memory'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createLibp2p } from 'libp2p'
import type { Stream } from '@libp2p/interface'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryLevel } from 'memory-level'
import { RELAY_CONNECTION_MONITOR, createStarlingRelay } from '../../../src/peer/index.js'
import type { RelayPlatform, StarlingRelay } from '../../../src/peer/index.js'
import { connectionMonitorInit } from '../../../src/net/node.js'
import { LevelStore } from '../../../src/store/index.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'

/** What libp2p's ConnectionMonitor keeps of its init (libp2p 3.3's field names). */
interface MonitorFields {
  pingIntervalMs: number
  abortConnectionOnPingFailure: boolean
  timeout: { minTimeout: number, maxTimeout: number }
}

function monitorOf (relay: StarlingRelay): MonitorFields {
  const monitor = (relay.node as unknown as { components: { connectionMonitor?: MonitorFields } }).components.connectionMonitor
  assert.ok(monitor != null, 'libp2p built a connection monitor')
  return monitor
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

/** Unanswered pings one connection may hold at once (src/net/node.ts MAX_PINGS_IN_FLIGHT). */
const MAX_PINGS_IN_FLIGHT = 3

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

  it('an operator\'s interval, timeout and close-on-failure reach libp2p\'s monitor', async () => {
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
    assert.deepEqual(connectionMonitorInit(90_000), { pingInterval: 90_000 })
    assert.deepEqual(connectionMonitorInit(90_000, { intervalMs: 20_000 }), { pingInterval: 20_000 })
    assert.equal(connectionMonitorInit(), undefined)
  })

  it('a timeout of many intervals is cut to three: a peer that never answers a ping holds at most that many open', async () => {
    // Read back: what libp2p's monitor gets for a 1 s interval and a 10 min timeout.
    assert.deepEqual(connectionMonitorInit(undefined, { intervalMs: 1000, timeoutMs: 600_000 }), { pingInterval: 1000, pingTimeout: { minTimeout: 3000, maxTimeout: 3000 } })
    assert.deepEqual(connectionMonitorInit(10_000, { timeoutMs: 30_000 }), { pingInterval: 10_000, pingTimeout: { minTimeout: 30_000, maxTimeout: 30_000 } })
    assert.deepEqual(connectionMonitorInit(undefined, { timeoutMs: 600_000 }), { pingTimeout: { minTimeout: 30_000, maxTimeout: 30_000 } }, "against libp2p's own 10 s interval")
    // Performed: libp2p starts a ping at every tick without waiting for the last; the hostile peer accepts each and never echoes.
    const intervalMs = 200
    const monitor = connectionMonitorInit(undefined, { intervalMs, timeoutMs: 600_000, closeOnFailure: false })
    const base = { transports: [memory()], connectionEncrypters: [noise()], streamMuxers: [yamux()] }
    const relay = await createLibp2p({ ...base, addresses: { listen: [`/memory/ping-flood-${process.pid}`] }, connectionMonitor: monitor })
    const hostile = await createLibp2p({ ...base, connectionMonitor: { enabled: false } })
    let open = 0
    let most = 0
    let started = 0
    try {
      await hostile.handle('/ipfs/ping/1.0.0', (stream: Stream) => {
        started++
        open++
        most = Math.max(most, open)
        stream.addEventListener('close', () => { open-- })
      }, { maxInboundStreams: 10_000 })
      await hostile.dial(relay.getMultiaddrs()[0])
      // Counts pings, not time (a loaded machine only takes longer); bounded polls.
      for (let poll = 0; poll < 250 && started < 5 * MAX_PINGS_IN_FLIGHT; poll++) {
        await new Promise(resolve => setTimeout(resolve, 100))
      }
      assert.ok(started >= 5 * MAX_PINGS_IN_FLIGHT, `the relay pinged the peer ${started} times`)
      assert.ok(most <= MAX_PINGS_IN_FLIGHT + 1, `${most} unanswered pings were open at once on one connection`)
    } finally {
      await hostile.stop()
      await relay.stop()
    }
  })
})
