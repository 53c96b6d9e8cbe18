/**
 * Waiting for a DHT server to ask. Daemons are DHT clients and relays are
 * the servers (DESIGN.md): a node that has just started may still be
 * connecting to its relays, and until one is in its routing table any
 * publication reaches nobody and any resolution would wrongly say "nobody
 * claims it". Publication and resolution both wait here first.
 *
 * kad-dht adds a server to the routing table once, when identify first shows
 * it speaks the DHT protocol, and only if a ping answers within its adaptive
 * timeout (5 s at least): on a loaded device (a phone, a simulation worker)
 * that one ping can fail, and the node then stays connected to its relays
 * with an empty table for good. While waiting, the connected peers that
 * speak the DHT protocol are offered to the table again, one round per
 * {@link DHT_SERVER_REOFFER_MS}.
 */
import type { PeerId } from '@libp2p/interface'
import { routingTableSize } from './node.js'
import type { StarlingLibp2p } from './node.js'
import { DHT_PROTOCOL } from './constants.js'

/** How often the routing table is looked at while waiting. */
const DHT_SERVER_POLL_MS = 50
/** How often connected DHT servers are offered to an empty routing table again. */
export const DHT_SERVER_REOFFER_MS = 5_000

interface RoutingTableAdd {
  add(peer: PeerId, options?: { signal?: AbortSignal }): Promise<void>
}

/** Waits until the routing table has a DHT server, or throws `unavailable()` once `signal` aborts. */
export async function waitForDhtServer (node: StarlingLibp2p, signal: AbortSignal, unavailable: () => Error): Promise<void> {
  let reofferAt = Date.now() + DHT_SERVER_REOFFER_MS
  while (routingTableSize(node) === 0) {
    if (signal.aborted) throw unavailable()
    if (Date.now() >= reofferAt) {
      reofferAt = Date.now() + DHT_SERVER_REOFFER_MS
      await reofferConnectedServers(node, signal)
      continue
    }
    await new Promise(resolve => setTimeout(resolve, DHT_SERVER_POLL_MS))
  }
}

/** Offers every connected peer known to speak the DHT protocol to the routing table (kad-dht pings each first). */
async function reofferConnectedServers (node: StarlingLibp2p, signal: AbortSignal): Promise<void> {
  const table = (node.services.dht as unknown as { routingTable?: RoutingTableAdd }).routingTable
  if (table == null) return
  const peers = new Map(node.getConnections().map(c => [c.remotePeer.toString(), c.remotePeer]))
  await Promise.all([...peers.values()].map(async peer => {
    try {
      const known = await node.peerStore.get(peer, { signal })
      if (known.protocols.includes(DHT_PROTOCOL)) await table.add(peer, { signal })
    } catch {
      // Not in the peer store, or the ping failed again: the next round retries.
    }
  }))
}
