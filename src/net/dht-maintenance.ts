/**
 * kad-dht's background lookups, made settable. kad-dht 16.4 runs one: the
 * self query (1 s after start, then every 5 minutes), a lookup of the node's
 * own key reaching up to k (20) DHT servers, to keep its view of its own
 * neighbourhood. A user node (a DHT client) is never asked about its
 * neighbourhood and meets the servers it needs in the answers to its own
 * lookups, so it may run it rarely; a simulation under time dilation
 * stretches it by its factor, as it does the other per-node timers.
 *
 * (kad-dht 16.4's routing-table refresh, every 5 minutes by its constants,
 * never runs: its RoutingTableRefresh has `afterStart` but no `start`, so
 * kad-dht's `start()` helper takes it for not startable and skips it.
 * Nothing here depends on that; checked in test/unit/net/dht-maintenance.spec.ts.)
 */

/** How often a node runs kad-dht's background lookups. */
export interface DhtMaintenance {
  /**
   * Self-query interval, ms (kad-dht: 5 min). The first one, 1 s after start,
   * always runs: kad-dht holds every other lookup until it has. 0: only that one.
   */
  querySelfIntervalMs?: number
}

/** setTimeout fires at once for delays above this (2^31 - 1 ms, ~24.8 days). */
export const MAX_TIMER_MS = 2 ** 31 - 1

/** kad-dht's `querySelfInterval` for `maintenance` (undefined: its default); never 0, which would loop. */
export function querySelfInterval (maintenance: DhtMaintenance | undefined): number | undefined {
  const ms = maintenance?.querySelfIntervalMs
  if (ms == null) return undefined
  return ms > 0 ? Math.min(ms, MAX_TIMER_MS) : MAX_TIMER_MS
}
