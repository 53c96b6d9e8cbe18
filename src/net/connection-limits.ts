/**
 * Connections a node accepts from one source (an IPv4 address or an IPv6
 * /64, see source.ts). libp2p refuses every inbound connection once a node
 * holds `maxConnections`, and counts them per node only, so one address
 * with a few fresh peer ids could take every slot of a relay and keep
 * everyone else out for as long as it liked (no reservation needed). Each
 * inbound connection is now refused before its handshake when its source
 * already holds `maxPerSource` connections. Relayed connections are not
 * counted here: the relay they cross bounds them.
 *
 * Connections being upgraded are not counted yet, so a source may exceed
 * its limit by what libp2p lets through at once (maxIncomingPendingConnections).
 */
import { logger } from '@libp2p/logger'
import type { ConnectionGater, Libp2p, MultiaddrConnection } from '@libp2p/interface'
import { addressSource } from './source.js'

const log = logger('starling:net:connection-limits')

/** Connections one source may hold on a node by default. */
export const MAX_CONNECTIONS_PER_SOURCE = 64

/** Options of {@link ConnectionLimits}. */
export interface ConnectionLimitsInit {
  maxPerSource?: number
}

/** Counters of refusals (for metrics and tests). */
export interface ConnectionLimitsMetrics {
  refused: number
}

/** Per-source inbound connection limits, as a libp2p connection gater. */
export class ConnectionLimits {
  readonly maxPerSource: number
  readonly metrics: ConnectionLimitsMetrics = { refused: 0 }
  private node?: Pick<Libp2p, 'getConnections'>

  constructor (init: ConnectionLimitsInit = {}) {
    this.maxPerSource = init.maxPerSource ?? MAX_CONNECTIONS_PER_SOURCE
    this.denyInboundConnection = this.denyInboundConnection.bind(this)
  }

  /** The gater hook to pass as part of libp2p's `connectionGater` (before the node exists). */
  gater (): ConnectionGater {
    return { denyInboundConnection: this.denyInboundConnection }
  }

  /** Starts counting the node's connections (after `createLibp2p`). */
  attach (node: Pick<Libp2p, 'getConnections'>): void {
    this.node = node
  }

  /** Called for each inbound connection before its handshake: true refuses it. */
  denyInboundConnection (maConn: MultiaddrConnection): boolean {
    const source = addressSource(maConn.remoteAddr)
    if (source == null || this.node == null) return false
    let held = 0
    for (const connection of this.node.getConnections()) {
      if (addressSource(connection.remoteAddr) === source) held++
    }
    if (held < this.maxPerSource) return false
    this.metrics.refused++
    log('refusing a connection from %s: it holds %d', source, held)
    return true
  }
}
