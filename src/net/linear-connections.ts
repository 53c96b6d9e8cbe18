/**
 * Known upstream issue (libp2p 3.x, every version we looked at): the
 * connection manager's `getConnections()` without a peer builds its list
 * with `conns = conns.concat(c)` once per peer, copying the list so far each
 * time: quadratic in the number of peers. On this machine a call took 0.87
 * ms with 2,000 peers and 2.3 ms with 3,000 (0.03-0.09 ms when pushing).
 * libp2p calls it for every inbound connection (`acceptIncomingConnection`)
 * and its pruner for every connection opened; a relay that 2,000 users
 * reached at once spent most of each second of their arrival in it
 * (`npm run bench:relay -- --phases connections`, CPU profile of the relay,
 * 2026-12-07). Here the node's connection manager lists by pushing: the same
 * connections in the same order. The one place this is done;
 * test/unit/net/linear-connections.spec.ts fails once upstream stops
 * concatenating, to say this can go.
 */
import type { Connection, PeerId } from '@libp2p/interface'

/** What this needs of the connection manager (libp2p's `DefaultConnectionManager`). */
export interface ListingConnectionManager {
  getConnections(peerId?: PeerId): Connection[]
  getConnectionsMap(): { values(): Iterable<Connection[]> }
}

/** The node's connection manager, where libp2p keeps it (its `components`); undefined where it is not there. */
export function connectionManagerOf (node: object): ListingConnectionManager | undefined {
  const manager = (node as { components?: { connectionManager?: Partial<ListingConnectionManager> } }).components?.connectionManager
  if (typeof manager?.getConnections !== 'function' || typeof manager.getConnectionsMap !== 'function') return undefined
  return manager as ListingConnectionManager
}

/** Every connection of the manager, in its map's order, in one pass. */
export function listConnections (manager: Pick<ListingConnectionManager, 'getConnectionsMap'>): Connection[] {
  const out: Connection[] = []
  for (const connections of manager.getConnectionsMap().values()) {
    for (const connection of connections) out.push(connection)
  }
  return out
}

/** Makes the node's `getConnections()` (and libp2p's own calls to it) linear; a peer's own list is libp2p's, as before. */
export function linearConnectionList (node: object): void {
  const manager = connectionManagerOf(node)
  if (manager == null) return
  const forPeer = manager.getConnections.bind(manager)
  manager.getConnections = (peerId?: PeerId): Connection[] => peerId != null ? forPeer(peerId) : listConnections(manager)
}
