/**
 * Attacks on the per-source connection counts (src/net/connection-limits.ts),
 * which are kept from libp2p's `connection:open` / `connection:close` events
 * instead of the connection manager's list: a count that drifts up locks an
 * honest source out (everyone behind one NAT or IPv6 /64), one that drifts
 * down lets a source past its limit.
 *
 * The first case uses libp2p's own upgrader: it upgrades a multiaddr
 * connection that closed before the upgrade and announces it with
 * `connection:open`, and no `connection:close` ever follows (the Connection
 * subscribes to its close after it happened). libp2p's connection manager
 * skips such a connection ("this can happen when the remote closes the
 * connection immediately after opening"); the WebRTC-direct listener of a
 * relay makes its multiaddr connection before the Noise handshake, and
 * closes it when the peer connection fails or closes meanwhile.
 */
import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { mockMuxer, multiaddrConnectionPair } from '@libp2p/utils'
import type { Connection, Libp2p, MultiaddrConnection, Upgrader } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { ConnectionLimits } from '../../../src/net/connection-limits.js'
import type { ConnectionLimitsNode } from '../../../src/net/connection-limits.js'
import { tcpFrom, waitFor } from '../relay/helpers.js'

function inbound (addr: string): MultiaddrConnection {
  return { remoteAddr: multiaddr(addr) } as unknown as MultiaddrConnection
}

function conn (addr: string, status = 'open'): Connection {
  return { remoteAddr: multiaddr(addr), status } as unknown as Connection
}

/** A stand-in node: an EventTarget with libp2p's event names, listing what it is given. */
class FakeNode extends EventTarget {
  constructor (readonly held: Connection[] = []) { super() }
  getConnections (): Connection[] { return this.held }
  open (c: Connection): void { this.dispatchEvent(new CustomEvent('connection:open', { detail: c })) }
  close (c: Connection): void { this.dispatchEvent(new CustomEvent('connection:close', { detail: c })) }
}

describe('net: per-source connection counts under attack', function () {
  this.timeout(60_000)
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  it('connections that closed before libp2p announced them (no close follows) do not lock their source out', async () => {
    const limits = new ConnectionLimits({ maxPerSource: 2 })
    const node = await createLibp2p({ connectionGater: limits.gater() })
    nodes.push(node)
    limits.attach(node)
    const upgrader = (node as unknown as { components: { upgrader: Upgrader } }).components.upgrader
    // Three peers from one address whose connections end before their upgrade is done.
    const refused: boolean[] = []
    for (let i = 0; i < 3; i++) {
      const remotePeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const [, maConn] = multiaddrConnectionPair({ inbound: { remoteAddr: multiaddr(`/ip4/10.0.0.1/tcp/${4000 + i}`) } })
      maConn.abort(new Error('the remote left during its handshake'))
      refused.push(await upgrader.upgradeInbound(maConn, { skipEncryption: true, skipProtection: true, remotePeer, muxerFactory: mockMuxer(), signal: AbortSignal.timeout(30_000) }).then(
        () => false,
        (err: Error) => { if (err.name === 'ConnectionInterceptedError') return true; throw err }
      ))
    }
    assert.deepEqual(refused, [false, false, false], 'none refused: the source held no connection')
    assert.equal(node.getConnections().length, 0, 'libp2p holds none of them')
    assert.equal(limits.holding('ip4:10.0.0.1'), 0, 'the count is what libp2p holds')
    assert.equal(limits.denyInboundConnection(inbound('/ip4/10.0.0.1/tcp/5000')), false, 'an honest peer at that address is let in')
    assert.equal(limits.metrics.refused, 0)
  })

  it('attached again (detach, attach): the connections open now are counted, so the source stays within its limit', () => {
    const a1 = conn('/ip4/10.0.0.1/tcp/1')
    const a2 = conn('/ip4/10.0.0.1/tcp/2')
    const node = new FakeNode([a1, a2])
    const limits = new ConnectionLimits({ maxPerSource: 2 })
    limits.attach(node as unknown as ConnectionLimitsNode)
    assert.equal(limits.holding('ip4:10.0.0.1'), 2)
    limits.detach()
    limits.attach(node as unknown as ConnectionLimitsNode)
    assert.equal(limits.holding('ip4:10.0.0.1'), 2, 'both open connections counted again')
    assert.equal(limits.denyInboundConnection(inbound('/ip4/10.0.0.1/tcp/3')), true, 'a third is refused')
    node.close(a1)
    node.close(a2)
    assert.equal(limits.holding('ip4:10.0.0.1'), 0)
  })

  it('held: duplicate and out-of-order events, a close before any open, and a remote address changed after the open', () => {
    const node = new FakeNode()
    const limits = new ConnectionLimits({ maxPerSource: 2 })
    limits.attach(node as unknown as ConnectionLimitsNode)
    const stranger = conn('/ip4/10.0.0.9/tcp/1')
    node.close(stranger)
    assert.equal(limits.holding('ip4:10.0.0.9'), 0, 'a close for a connection never counted changes nothing')
    const a = conn('/ip4/10.0.0.1/tcp/1')
    node.open(a)
    node.open(a)
    // Something rewrites the address after the open: the close is counted against the source of the open.
    ;(a as { remoteAddr: unknown }).remoteAddr = multiaddr('/ip4/10.0.0.2/tcp/1')
    node.close(a)
    node.close(a)
    assert.equal(limits.holding('ip4:10.0.0.1'), 0)
    assert.equal(limits.holding('ip4:10.0.0.2'), 0)
  })

  it('held: a real node stopped and started again (TCP on loopback) counts from zero, then its limit still holds', async () => {
    const limits = new ConnectionLimits({ maxPerSource: 2 })
    const server = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcpFrom()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionGater: limits.gater(),
      connectionManager: { inboundConnectionThreshold: 1_000, maxIncomingPendingConnections: 100 }
    })
    nodes.push(server)
    limits.attach(server)
    const client = async (): Promise<Libp2p> => {
      const c = await createLibp2p({ transports: [tcpFrom('127.0.0.4')], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      nodes.push(c)
      return c
    }
    const source = 'ip4:127.0.0.4'
    for (let i = 0; i < 2; i++) await (await client()).dial(server.getMultiaddrs())
    await waitFor('both counted', () => limits.holding(source) === 2)
    await server.stop()
    assert.equal(limits.holding(source), 0, 'stopping closed them all, and the count followed')
    await server.start()
    for (let i = 0; i < 2; i++) await (await client()).dial(server.getMultiaddrs())
    await waitFor('both counted again', () => limits.holding(source) === 2)
    const third = await client()
    await assert.rejects(third.dial(server.getMultiaddrs()))
    assert.equal(limits.metrics.refused, 1)
    assert.equal(server.getConnections().filter(c => c.remoteAddr.toString().includes('/127.0.0.4/')).length, 2)
  })
})
