/**
 * Per-source connection limits (src/net/connection-limits.ts): counts kept
 * as connections open and close, so a decision never walks the node's
 * connections. A stand-in node (an EventTarget with libp2p's event names)
 * and stand-in connections.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import type { Connection, MultiaddrConnection } from '@libp2p/interface'
import { ConnectionLimits } from '../../../src/net/connection-limits.js'
import type { ConnectionLimitsNode } from '../../../src/net/connection-limits.js'

function conn (addr: string, status = 'open'): Connection {
  return { remoteAddr: multiaddr(addr), status } as unknown as Connection
}

function inbound (addr: string): MultiaddrConnection {
  return { remoteAddr: multiaddr(addr) } as unknown as MultiaddrConnection
}

class FakeNode extends EventTarget {
  listed = 0
  constructor (private readonly held: Connection[] = []) { super() }
  getConnections (): Connection[] {
    this.listed++
    return this.held
  }

  open (c: Connection): void { this.dispatchEvent(new CustomEvent('connection:open', { detail: c })) }
  close (c: Connection): void { this.dispatchEvent(new CustomEvent('connection:close', { detail: c })) }
}

describe('net: connections per source', () => {
  it('refuses a source at its limit, takes it again once one closes; other sources and relayed connections are apart', () => {
    const node = new FakeNode()
    const limits = new ConnectionLimits({ maxPerSource: 2 })
    limits.attach(node as unknown as ConnectionLimitsNode)
    const a1 = conn('/ip4/10.0.0.1/tcp/1')
    const a2 = conn('/ip4/10.0.0.1/tcp/2')
    node.open(a1)
    node.open(a2)
    node.open(conn('/ip4/10.0.0.2/tcp/1'))
    node.open(conn('/ip4/10.9.9.9/tcp/1/p2p/12D3KooWDBEFf1T7ZSwfhjfa1PM1ujZCLe4ZpY5YHTfZSE9rzRR6/p2p-circuit'))
    const listed = node.listed
    assert.equal(limits.denyInboundConnection(inbound('/ip4/10.0.0.1/tcp/3')), true)
    assert.equal(limits.denyInboundConnection(inbound('/ip4/10.0.0.2/tcp/3')), false)
    assert.equal(node.listed, listed, 'no decision walks the node\'s connections')
    assert.equal(limits.metrics.refused, 1)
    node.close(a1)
    // Told twice (libp2p should not, but a count must never go below the truth).
    node.close(a1)
    assert.equal(limits.holding('ip4:10.0.0.1'), 1)
    assert.equal(limits.denyInboundConnection(inbound('/ip4/10.0.0.1/tcp/3')), false)
    node.open(a1)
    node.open(a1)
    assert.equal(limits.holding('ip4:10.0.0.1'), 2, 'one connection opened twice counts once')
  })

  it('counts the connections the node held before it was attached; an IPv6 /64 is one source', () => {
    const node = new FakeNode([conn('/ip6/2001:db8::1/tcp/1'), conn('/ip6/2001:db8::2/tcp/1'), conn('/ip6/2001:db8::3/tcp/1', 'closing')])
    const limits = new ConnectionLimits({ maxPerSource: 2 })
    limits.attach(node as unknown as ConnectionLimitsNode)
    assert.equal(limits.denyInboundConnection(inbound('/ip6/2001:db8::ffff/tcp/9')), true)
    assert.equal(limits.denyInboundConnection(inbound('/ip6/2001:db8:0:1::1/tcp/9')), false)
  })
})
