/**
 * Waiting for a DHT server to ask. Daemons are DHT clients and relays are
 * the servers (DESIGN.md): a node that has just started may still be
 * connecting to its relays, and until one is in its routing table any
 * publication reaches nobody and any resolution would wrongly say "nobody
 * claims it". Publication and resolution both wait here first.
 */
import { routingTableSize } from './node.js'
import type { StarlingLibp2p } from './node.js'

/** How often the routing table is looked at while waiting. */
const DHT_SERVER_POLL_MS = 50

/** Waits until the routing table has a DHT server, or throws `unavailable()` once `signal` aborts. */
export async function waitForDhtServer (node: StarlingLibp2p, signal: AbortSignal, unavailable: () => Error): Promise<void> {
  while (routingTableSize(node) === 0) {
    if (signal.aborted) throw unavailable()
    await new Promise(resolve => setTimeout(resolve, DHT_SERVER_POLL_MS))
  }
}
