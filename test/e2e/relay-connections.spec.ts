/**
 * Sybils against a relay's connection slots, with a real relay process on
 * loopback. libp2p refuses every inbound connection once a node holds
 * `maxConnections` (300 by default), and nothing counted connections per
 * source: one address (127.0.0.2) opening 320 connections left the relay
 * refusing everyone else, a real user from another address (127.0.0.3)
 * included, for as long as the sybil kept them open (no reservation
 * needed). It also meant a relay could never hold its 1,024 reservations,
 * each of which lives on a connection. Prints the relay's disk and memory
 * before and after.
 *
 * Now a relay holds up to 4,096 connections and each source at most 64
 * (`--max-connections`, `--max-connections-per-source`).
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { Network, Processes, mapLimit } from './harness.js'
import { HOP_OK, reserve } from './hop.js'
import { footprint, nodeFrom, printFootprint } from './measure.js'

const ATTEMPTS = 640

describe('e2e: sybils against a relay\'s connection slots', function () {
  this.timeout(600_000)
  const procs = new Processes()
  const net = new Network(procs)
  const open: Libp2p[] = []
  after(async () => {
    await Promise.all(open.map(async n => { await n.stop() }))
    await procs.stopAll()
  })

  it(`${ATTEMPTS} connections from one source leave room for a real user`, async () => {
    const relay = await net.startRelay()
    const addr = multiaddr(relay.addr)
    const before = await footprint(relay.dataDir, relay.relay.proc)
    // Ten peer ids from one address, 32 connections each, all kept open.
    const sybils = await Promise.all(Array.from({ length: 20 }, async () => nodeFrom('127.0.0.2')))
    open.push(...sybils)
    const outcomes = await mapLimit(Array.from({ length: ATTEMPTS }, (_, i) => i), 8, async (i) => {
      try {
        await sybils[i % sybils.length].dial(addr, { force: true, signal: AbortSignal.timeout(15_000) })
        return true
      } catch {
        return false
      }
    })
    const held = sybils.reduce((n, s) => n + s.getConnections().length, 0)
    const after = await footprint(relay.dataDir, relay.relay.proc)
    printFootprint(`${ATTEMPTS} connections asked for from one source: ${outcomes.filter(Boolean).length} dials succeeded, ${held} still open`, before, after)

    const user = await nodeFrom('127.0.0.3')
    open.push(user)
    let status: number | string
    try {
      status = await reserve(user, addr)
    } catch (err) {
      status = `${(err as Error).name}: ${(err as Error).message}`
    }
    assert.equal(status, HOP_OK, 'a real user from another address connects and gets a reservation')
    // What the source holds: its limit, give or take the handshakes under way at once (8 here).
    const perSource = (relay.relay.ready.limits as { connections: { maxPerSource: number } }).connections.maxPerSource
    assert.ok(held <= perSource + 8, `one source holds ${held} connections; its limit is ${perSource}`)
  })
})
