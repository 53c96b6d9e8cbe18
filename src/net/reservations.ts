/**
 * Keeps a circuit relay reservation on each configured relay, and gets it
 * back after the relay restarts or the connection drops.
 *
 * libp2p makes a reservation on a relay given as a listen address only once:
 * when the relay restarts, the client reconnects but never reserves again,
 * and `start()` throws if the relay is down at boot (js-libp2p issue #3601).
 * So relays are not passed as listen addresses; this class listens on
 * `<relay>/p2p-circuit` itself after start and again whenever the node's
 * addresses no longer include a circuit address through that relay.
 */
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Libp2p } from '@libp2p/interface'

const log = logger('starling:net:reservations')

/** How often the reservations are checked. */
export const DEFAULT_RESERVATION_CHECK_MS = 2_000
/** Longest wait between attempts on a relay that keeps failing (the wait doubles from the check interval). */
export const MAX_RESERVATION_BACKOFF_MS = 60_000

export interface RelayReservationsInit {
  /** Relay multiaddrs, each ending in `/p2p/<relay peer id>`. */
  relays: string[]
  checkIntervalMs?: number
  /** Longest wait between attempts on a failing relay (default {@link MAX_RESERVATION_BACKOFF_MS}). */
  maxBackoffMs?: number
  /** The clock (tests inject one). */
  now?: () => number
  /** Called after a reservation was (re)made, e.g. to republish the device record. */
  onReserved?(relay: string): void
}

interface TransportManagerLike {
  listen(addrs: Multiaddr[]): Promise<void>
}

/** Reservation state of one relay, as `status` shows it. */
export interface ReservationStatus {
  relay: string
  reserved: boolean
  /** The last failure's first line (libp2p's messages can carry whole stacks). */
  lastError?: string
  /** Since when every attempt on this relay failed (ms since the epoch); absent while it works. */
  unreachableSince?: number
  /** Failed attempts in a row. */
  failures?: number
  /** When the next attempt is due (ms since the epoch), while failing. */
  nextAttemptAt?: number
}

interface RelayState {
  addr: Multiaddr
  peerId: string
  lastError?: string
  busy: boolean
  failures: number
  unreachableSince?: number
  nextAttemptAt: number
}

/** Watches and re-makes relay reservations. */
export class RelayReservations {
  private readonly relays: RelayState[]
  private readonly checkIntervalMs: number
  private readonly maxBackoffMs: number
  private readonly now: () => number
  private timer?: ReturnType<typeof setInterval>
  private stopped = false

  constructor (private readonly node: Libp2p, private readonly init: RelayReservationsInit) {
    this.checkIntervalMs = init.checkIntervalMs ?? DEFAULT_RESERVATION_CHECK_MS
    this.maxBackoffMs = Math.max(init.maxBackoffMs ?? MAX_RESERVATION_BACKOFF_MS, this.checkIntervalMs)
    this.now = init.now ?? Date.now
    this.relays = init.relays.map(r => {
      const addr = multiaddr(r)
      const peerId = addr.getComponents().findLast(c => c.name === 'p2p')?.value
      if (peerId == null) throw new Error(`relay address ${r} has no /p2p/<peer id>`)
      return { addr, peerId, busy: false, failures: 0, nextAttemptAt: 0 }
    })
  }

  start (): void {
    this.stopped = false
    this.check()
    this.timer = setInterval(() => this.check(), this.checkIntervalMs)
  }

  stop (): void {
    this.stopped = true
    clearInterval(this.timer)
  }

  /** Whether each relay currently carries a circuit address for us. */
  status (): ReservationStatus[] {
    return this.relays.map(r => ({
      relay: r.addr.toString(),
      reserved: this.isReserved(r.peerId),
      lastError: r.lastError,
      ...(r.unreachableSince != null ? { unreachableSince: r.unreachableSince, failures: r.failures, nextAttemptAt: r.nextAttemptAt } : {})
    }))
  }

  /** Resolves once every relay has a reservation, or rejects on timeout. */
  async waitForAll (timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!this.relays.every(r => this.isReserved(r.peerId))) {
      if (Date.now() > deadline) throw new Error('no relay reservation yet')
      await new Promise(resolve => setTimeout(resolve, 50))
    }
  }

  private isReserved (relayPeerId: string): boolean {
    return this.node.getMultiaddrs().some(ma => {
      const s = ma.toString()
      return s.includes(`/p2p/${relayPeerId}/p2p-circuit`)
    })
  }

  private check (): void {
    for (const relay of this.relays) {
      if (relay.busy || this.stopped || this.isReserved(relay.peerId)) continue
      // A relay that keeps failing is tried less often: the wait doubles up to maxBackoffMs.
      if (this.now() < relay.nextAttemptAt) continue
      relay.busy = true
      this.reserve(relay.addr)
        .then(() => {
          relay.lastError = undefined
          relay.failures = 0
          relay.unreachableSince = undefined
          relay.nextAttemptAt = 0
          log('reserved a slot on %s', relay.addr)
          this.init.onReserved?.(relay.addr.toString())
        })
        .catch((err: Error) => {
          const now = this.now()
          relay.lastError = String(err.message).split('\n')[0]
          relay.failures++
          relay.unreachableSince ??= now
          relay.nextAttemptAt = now + Math.min(this.checkIntervalMs * 2 ** (relay.failures - 1), this.maxBackoffMs)
          log('reservation on %s failed (%d in a row): %s', relay.addr, relay.failures, relay.lastError)
        })
        .finally(() => { relay.busy = false })
    }
  }

  private async reserve (relay: Multiaddr): Promise<void> {
    // The transport manager is not part of libp2p's public interface, but it
    // is the only way to add a listen address after start; the circuit relay
    // transport itself does the same.
    const components = (this.node as unknown as { components: { transportManager: TransportManagerLike } }).components
    await components.transportManager.listen([relay.encapsulate('/p2p-circuit')])
  }
}
