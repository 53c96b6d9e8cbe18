/**
 * Sybils against a relay's circuit relay reservations, with a real relay
 * process on loopback: 1,024 fresh peer ids from one address (127.0.0.2)
 * ask for a reservation each, the first 32 keeping their connection open.
 * The relay holds at most its per-source limit for them, a real user from
 * another address (127.0.0.3) still gets one, and once the sybils'
 * connections close their source may reserve again. Prints the relay's
 * disk and memory before and after.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'
import { Network, Processes, eventually, mapLimit } from './harness.js'
import { HOP_OK, reserve } from './hop.js'
import { footprint, nodeFrom, printFootprint } from './measure.js'

describe('e2e: sybils against a relay\'s reservations', function () {
  this.timeout(600_000)
  const procs = new Processes()
  const net = new Network(procs)
  const open: Libp2p[] = []
  after(async () => {
    await Promise.all(open.map(async n => { await n.stop() }))
    await procs.stopAll()
  })

  it('1,024 reservations from one source leave room for a real user, and end with their connections', async () => {
    const relay = await net.startRelay()
    const addr = multiaddr(relay.addr)
    const perSource = (relay.relay.ready.limits as { reservations: { maxPerSource: number } }).reservations.maxPerSource
    const before = await footprint(relay.dataDir, relay.relay.proc)

    const held = 32
    const statuses = await mapLimit(Array.from({ length: 1024 }, (_, i) => i), 8, async (i) => {
      const sybil = await nodeFrom('127.0.0.2')
      try {
        return await reserve(sybil, addr)
      } finally {
        // The first ones keep their connection (and whatever they reserved); the others leave.
        if (i < held) open.push(sybil)
        else await sybil.stop()
      }
    })
    const granted = statuses.filter(s => s === HOP_OK).length
    const grantedToHolders = statuses.slice(0, held).filter(s => s === HOP_OK).length
    const after = await footprint(relay.dataDir, relay.relay.proc)
    printFootprint(`1,024 reservation requests from one source, ${held} kept open (${granted} granted over time, ${grantedToHolders} to the ones still connected)`, before, after)
    assert.equal(grantedToHolders, perSource, 'the source holds its limit while connected')

    const user = await nodeFrom('127.0.0.3')
    open.push(user)
    assert.equal(await reserve(user, addr), HOP_OK, 'a real user from another address gets a reservation')

    // The sybils still connected go; their source may reserve again.
    await Promise.all(open.splice(0, held).map(async n => { await n.stop() }))
    const again = await nodeFrom('127.0.0.2')
    open.push(again)
    await eventually(async () => await reserve(again, addr) === HOP_OK ? true : undefined, 15_000, 'a reservation for 127.0.0.2 once its connections closed')
  })
})
