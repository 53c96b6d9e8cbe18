/**
 * A user node connected to its relay with an empty routing table (kad-dht
 * adds a server once, after one ping, which a loaded device can miss) gets
 * the relay back into the table while a publication or resolution waits
 * for a DHT server, instead of waiting until it gives up. Real nodes over
 * the memory transport.
 */
import assert from 'node:assert/strict'
import { memory } from '@libp2p/memory'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import { createStarlingNode, routingTableSize } from '../../../src/net/node.js'
import type { StarlingLibp2p } from '../../../src/net/node.js'
import { waitForDhtServer } from '../../../src/net/dht-servers.js'
import { starlingDhtValidators } from '../../../src/identity/index.js'
import { createCrypto } from '../../../src/crypto/index.js'
import { waitFor } from '../relay/helpers.js'

class NoServerError extends Error {
  override name = 'NoServerError'
}

describe('net/dht-servers: an empty routing table while connected to a relay', function () {
  this.timeout(60_000)
  const nodes: StarlingLibp2p[] = []
  after(async () => { await Promise.allSettled(nodes.map(async n => { await n.stop() })) })

  it('the connected relay is offered to the table again while waiting, and the wait ends', async () => {
    const { validators, selectors } = starlingDhtValidators(createCrypto(), { now: Date.now })
    const addr = `/memory/dht-servers-${process.pid}`
    const relay = await createStarlingNode({ privateKey: await generateKeyPair('Ed25519'), role: 'relay', transports: [memory()], listen: [addr], validators, selectors, loopback: true })
    nodes.push(relay)
    const user = await createStarlingNode({ privateKey: await generateKeyPair('Ed25519'), role: 'user', transports: [memory()], validators, selectors, loopback: true })
    nodes.push(user)
    await user.dial(multiaddr(`${addr}/p2p/${relay.peerId.toString()}`))
    await waitFor('the relay in the routing table', () => routingTableSize(user) === 1, 30_000)
    // What a missed verification ping leaves: connected, the table empty.
    const table = (user.services.dht as unknown as { routingTable: { remove(p: PeerId): Promise<void> } }).routingTable
    await table.remove(relay.peerId)
    assert.equal(routingTableSize(user), 0)
    assert.equal(user.getConnections(relay.peerId).length, 1)
    await waitForDhtServer(user, AbortSignal.timeout(30_000), () => new NoServerError('no DHT server'))
    assert.equal(routingTableSize(user), 1)
  })
})
