/**
 * What the daemon says about relays it cannot reach: at start, and when a
 * lookup fails. Without a relay a daemon has no DHT server to ask, so "no
 * such handle" would be a guess: it says the relay is unreachable instead.
 */
import type { ReservationStatus } from '../../src/net/reservations.js'
import type { PeerStatus } from '../../src/peer/index.js'

/** A lookup that could not be made: no relay (so no DHT server) answers. */
export class RelayUnreachableError extends Error {
  override readonly name = 'RelayUnreachableError'
}

/** How long `firstAttempts` waits for every relay's first reservation attempt. */
export const FIRST_ATTEMPT_WAIT_MS = 10_000

/** One relay's trouble in one line ("… unreachable since 12:03:04 (3 attempts; …)"). */
export function describeUnreachable (r: ReservationStatus): string {
  const since = r.unreachableSince != null ? ` since ${new Date(r.unreachableSince).toISOString().slice(11, 19)}` : ''
  const attempts = r.failures != null ? ` (${r.failures} attempt${r.failures === 1 ? '' : 's'}, retrying with backoff)` : ''
  return `relay ${r.relay} unreachable${since}${attempts}${r.lastError != null ? `: ${r.lastError}` : ''}`
}

/** The relays that failed every attempt so far. */
export function unreachableRelays (status: Pick<PeerStatus, 'reservations'>): ReservationStatus[] {
  return status.reservations.filter(r => !r.reserved && r.unreachableSince != null)
}

/**
 * True when every relay failed its last attempts (the routing table may
 * still list them: kad-dht drops a dead peer only after its own checks):
 * the relays are the DHT servers, so a lookup has nobody to ask.
 */
export function cutOff (status: Pick<PeerStatus, 'reservations'>): boolean {
  return status.reservations.length > 0 && status.reservations.every(r => !r.reserved && r.unreachableSince != null)
}

/**
 * Waits until each relay either holds a reservation or has failed once
 * (bounded by `timeoutMs`), so that a daemon can say at start that its
 * bootstrap relay is away.
 */
export async function firstAttempts (status: () => Pick<PeerStatus, 'reservations'>, timeoutMs = FIRST_ATTEMPT_WAIT_MS, signal?: AbortSignal): Promise<ReservationStatus[]> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline && signal?.aborted !== true) {
    const rs = status().reservations
    if (rs.every(r => r.reserved || r.unreachableSince != null)) break
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return unreachableRelays(status())
}
