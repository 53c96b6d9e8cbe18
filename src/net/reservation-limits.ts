/**
 * Per-source limits on a relay's circuit relay v2 reservations, which
 * `@libp2p/circuit-relay-v2` 4 does not have: its reservation store counts
 * only a total (`maxReservations`) and keeps a reservation for its whole
 * TTL (2 hours here) after the client is gone, so 1,024 fresh peer ids from
 * one address held every slot for two hours.
 *
 * Two hooks, both on the library's public surface, kept in this one file:
 *
 *   - the connection gater's `denyInboundRelayReservation(peer)`, called by
 *     the server before each reservation: refused when a source of the
 *     peer's (direct) connections already holds `maxPerSource`
 *     reservations, counting the reservations in the server's map (each
 *     records the address it was made from) and the ones granted in the
 *     last `pendingMs` that have not reached the map yet (the server awaits
 *     between the gater and the store, so two requests could both pass);
 *   - `connection:close`: once a peer has no open direct connection left,
 *     its reservation is removed (a reservation only serves to reach the
 *     peer over a connection it holds to the relay).
 */
import { logger } from '@libp2p/logger'
import type { CircuitRelayService } from '@libp2p/circuit-relay-v2'
import type { Connection, ConnectionGater, Libp2p, PeerId } from '@libp2p/interface'
import { connectionSource, sourceOf } from './source.js'

const log = logger('starling:net:reservation-limits')

/** Reservations one source may hold on a relay. */
export const RELAY_MAX_RESERVATIONS_PER_SOURCE = 16
/** A granted reservation counts this long before it shows in the server's map (the server's hop timeout). */
export const RESERVATION_PENDING_MS = 30_000

/** What the limits read from the node once it exists. */
export interface ReservationLimitsNode {
  getConnections(peer?: PeerId): Connection[]
  addEventListener: Libp2p['addEventListener']
  removeEventListener: Libp2p['removeEventListener']
  services: { relay?: unknown }
}

/** Options of {@link ReservationLimits}. */
export interface ReservationLimitsInit {
  /** Default {@link RELAY_MAX_RESERVATIONS_PER_SOURCE}. */
  maxPerSource?: number
  /** Default {@link RESERVATION_PENDING_MS}. */
  pendingMs?: number
  /** Milliseconds (default `Date.now`). */
  now?: () => number
}

/** Counters, for metrics and tests. */
export interface ReservationLimitsMetrics {
  refused: number
  released: number
}

function isDirect (connection: Connection): boolean {
  return connection.status === 'open' && !connection.remoteAddr.getComponents().some(c => c.name === 'p2p-circuit')
}

/** Per-source reservation limits for a relay (see the file comment). */
export class ReservationLimits {
  readonly maxPerSource: number
  readonly metrics: ReservationLimitsMetrics = { refused: 0, released: 0 }
  private readonly pendingMs: number
  private readonly now: () => number
  /** Granted, not yet seen in the server's map: peer → source and when. */
  private readonly pending = new Map<string, { source: string, at: number }>()
  private node?: ReservationLimitsNode
  /** The source of each reservation in the server's map, by its entry. */
  private readonly sources = new WeakMap<object, string>()
  private readonly onClose = (evt: CustomEvent<Connection>): void => { this.release(evt.detail.remotePeer) }

  constructor (init: ReservationLimitsInit = {}) {
    this.maxPerSource = init.maxPerSource ?? RELAY_MAX_RESERVATIONS_PER_SOURCE
    this.pendingMs = init.pendingMs ?? RESERVATION_PENDING_MS
    this.now = init.now ?? Date.now
    this.denyInboundRelayReservation = this.denyInboundRelayReservation.bind(this)
  }

  /** The gater hooks to pass as libp2p's `connectionGater` (before the node exists). */
  gater (): ConnectionGater {
    return { denyInboundRelayReservation: this.denyInboundRelayReservation }
  }

  /** Starts watching the node (after `createLibp2p`). */
  attach (node: ReservationLimitsNode): void {
    this.node = node
    node.addEventListener('connection:close', this.onClose)
  }

  detach (): void {
    this.node?.removeEventListener('connection:close', this.onClose)
    this.node = undefined
  }

  /** The server asks before each reservation: true refuses it. */
  denyInboundRelayReservation (peer: PeerId): boolean {
    const node = this.node
    const server = this.server()
    if (node == null || server == null) return false
    const id = peer.toString()
    const sources = new Set(node.getConnections(peer).filter(isDirect).map(c => connectionSource(c)))
    // A refresh of a reservation the peer holds never counts twice.
    if (server.reservations.has(peer)) return false
    const held = this.held(server)
    for (const source of sources) {
      if ((held.get(source) ?? 0) >= this.maxPerSource) {
        this.metrics.refused++
        log('refusing a reservation for %p: %s holds %d', peer, source, held.get(source))
        return true
      }
    }
    const source = [...sources][0]
    if (source != null) this.pending.set(id, { source, at: this.now() })
    return false
  }

  /** Reservations held (or just granted) per source. */
  held (server: CircuitRelayService | undefined = this.server()): Map<string, number> {
    const counts = new Map<string, number>()
    if (server == null) return counts
    for (const [peer, reservation] of server.reservations.entries()) {
      // Each reservation's source parsed once (asked at every reservation, this walks them all).
      let source = this.sources.get(reservation)
      if (source == null) {
        source = sourceOf(reservation.addr, peer)
        this.sources.set(reservation, source)
      }
      counts.set(source, (counts.get(source) ?? 0) + 1)
      if (this.pending.size > 0) this.pending.delete(peer.toString())
    }
    const cutoff = this.now() - this.pendingMs
    for (const [peer, grant] of this.pending) {
      if (grant.at < cutoff) {
        this.pending.delete(peer)
        continue
      }
      counts.set(grant.source, (counts.get(grant.source) ?? 0) + 1)
    }
    return counts
  }

  /** Removes the reservation of a peer that has no direct connection left. */
  private release (peer: PeerId): void {
    const node = this.node
    const server = this.server()
    if (node == null || server == null) return
    if (node.getConnections(peer).some(isDirect)) return
    this.pending.delete(peer.toString())
    const reservation = server.reservations.get(peer)
    if (reservation == null) return
    // Cleared first: its timer would otherwise delete a later reservation of the same peer.
    reservation.signal.clear()
    server.reservations.delete(peer)
    this.metrics.released++
    log('released the reservation of %p: its connection is gone', peer)
  }

  private server (): CircuitRelayService | undefined {
    const relay = this.node?.services.relay as CircuitRelayService | undefined
    return relay?.reservations == null ? undefined : relay
  }
}
