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
 *
 * The count per source is kept as connections open and close (libp2p's
 * `connection:open` and `connection:close`), so a refusal costs the same with
 * 3,000 connections as with 3: counting them at each inbound connection
 * parsed every address the node held, and a relay that 2,000 users reached
 * at once spent much of each second of it there.
 */
import { logger } from '@libp2p/logger'
import type { Connection, ConnectionGater, Libp2p, MultiaddrConnection } from '@libp2p/interface'
import { addressSource } from './source.js'
import type { Source } from './source.js'

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

/** What the limits read from the node once it exists. */
export type ConnectionLimitsNode = Pick<Libp2p, 'getConnections' | 'addEventListener' | 'removeEventListener'>

/** Per-source inbound connection limits, as a libp2p connection gater. */
export class ConnectionLimits {
  readonly maxPerSource: number
  readonly metrics: ConnectionLimitsMetrics = { refused: 0 }
  private node?: ConnectionLimitsNode
  /** Open connections per source (relayed ones have none), and the source each was counted under. */
  private readonly held = new Map<Source, number>()
  private counted = new WeakMap<Connection, Source>()
  private readonly onOpen = (evt: CustomEvent<Connection>): void => { this.opened(evt.detail) }
  private readonly onClose = (evt: CustomEvent<Connection>): void => { this.closed(evt.detail) }

  constructor (init: ConnectionLimitsInit = {}) {
    this.maxPerSource = init.maxPerSource ?? MAX_CONNECTIONS_PER_SOURCE
    this.denyInboundConnection = this.denyInboundConnection.bind(this)
  }

  /** The gater hook to pass as part of libp2p's `connectionGater` (before the node exists). */
  gater (): ConnectionGater {
    return { denyInboundConnection: this.denyInboundConnection }
  }

  /** Starts counting the node's connections (after `createLibp2p`), those it holds already included. */
  attach (node: ConnectionLimitsNode): void {
    this.detach()
    this.node = node
    node.addEventListener('connection:open', this.onOpen)
    node.addEventListener('connection:close', this.onClose)
    for (const connection of node.getConnections()) {
      if (connection.status === 'open') this.opened(connection)
    }
  }

  /** Stops counting and forgets the counts (attach counts the node's open connections afresh). */
  detach (): void {
    this.node?.removeEventListener('connection:open', this.onOpen)
    this.node?.removeEventListener('connection:close', this.onClose)
    this.node = undefined
    // Both forgotten: a connection still marked counted would be skipped when attached again.
    this.held.clear()
    this.counted = new WeakMap()
  }

  /** Connections `source` holds now (for tests and metrics). */
  holding (source: Source): number {
    return this.held.get(source) ?? 0
  }

  /** Called for each inbound connection before its handshake: true refuses it. */
  denyInboundConnection (maConn: MultiaddrConnection): boolean {
    const source = addressSource(maConn.remoteAddr)
    if (source == null || this.node == null) return false
    const held = this.holding(source)
    if (held < this.maxPerSource) return false
    this.metrics.refused++
    log('refusing a connection from %s: it holds %d', source, held)
    return true
  }

  private opened (connection: Connection): void {
    // libp2p announces a connection that closed during its upgrade too, and no close follows it: its
    // connection manager skips those (never listed), and so must this count, or it never comes down.
    if (connection.status !== 'open' || this.counted.has(connection)) return
    const source = addressSource(connection.remoteAddr)
    if (source == null) return
    this.counted.set(connection, source)
    this.held.set(source, this.holding(source) + 1)
  }

  private closed (connection: Connection): void {
    const source = this.counted.get(connection)
    if (source == null) return
    this.counted.delete(connection)
    const left = this.holding(source) - 1
    if (left > 0) this.held.set(source, left)
    else this.held.delete(source)
  }
}
