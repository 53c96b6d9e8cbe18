/**
 * Per-source circuit relay reservation limits on a real relay node (TCP on
 * loopback; each party dials from its own 127.0.0.x address): one source's
 * fresh peer ids get no more than its limit, another source still gets a
 * reservation, and a reservation ends with its connection.
 */
import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { createStarlingNode } from '../../../src/net/node.js'
import type { StarlingLibp2p } from '../../../src/net/node.js'
import { starlingDhtValidators } from '../../../src/identity/index.js'
import { createCrypto } from '../../../src/crypto/index.js'
import { HOP_OK, reserve } from '../../e2e/hop.js'
import { tcpFrom, waitFor } from '../relay/helpers.js'

async function client (from: string): Promise<Libp2p> {
  return await createLibp2p({ transports: [tcpFrom(from)], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
}

describe('net/reservation-limits on a real relay', function () {
  this.timeout(60_000)
  let relay: StarlingLibp2p
  const clients: Libp2p[] = []

  before(async () => {
    const { validators, selectors } = starlingDhtValidators(createCrypto(), { now: Date.now })
    const { generateKeyPair } = await import('@libp2p/crypto/keys')
    relay = await createStarlingNode({
      privateKey: await generateKeyPair('Ed25519'),
      role: 'relay',
      transports: [tcp()],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      validators,
      selectors,
      loopback: true,
      reservations: { max: 100, maxPerSource: 3 }
    })
  })

  after(async () => {
    await Promise.all(clients.map(async c => { await c.stop() }))
    await relay.stop()
  })

  async function attempt (from: string): Promise<{ node: Libp2p, status: number }> {
    const node = await client(from)
    clients.push(node)
    return { node, status: await reserve(node, relay.getMultiaddrs()) }
  }

  it('one source gets its limit however many peer ids it uses; another source still gets one; a closed connection frees its slot', async () => {
    const attacker: Array<{ node: Libp2p, status: number }> = []
    for (let i = 0; i < 8; i++) attacker.push(await attempt('127.0.0.2'))
    assert.deepEqual(attacker.map(a => a.status === HOP_OK), [true, true, true, false, false, false, false, false])
    // A refresh by a peer that holds one is not a new reservation.
    assert.equal(await reserve(attacker[0].node, relay.getMultiaddrs()), HOP_OK)
    assert.equal((await attempt('127.0.0.3')).status, HOP_OK)

    await attacker[1].node.stop()
    const server = relay.services.relay as { reservations: { has(peer: unknown): boolean, size: number } }
    await waitFor('the reservation released', () => !server.reservations.has(attacker[1].node.peerId))
    assert.equal((await attempt('127.0.0.2')).status, HOP_OK)
    assert.notEqual((await attempt('127.0.0.2')).status, HOP_OK)
    assert.equal(server.reservations.size, 4)
  })
})
