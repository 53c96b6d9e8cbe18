/**
 * A bound on the WebRTC-direct handshakes a relay runs at once.
 *
 * `@libp2p/webrtc`'s listener makes a native peer connection for every
 * STUN request that carries a ufrag it has not seen, before DTLS, Noise or
 * the connection gater have said anything: one UDP packet, whose source
 * address may be forged, costs the relay a peer connection for up to the
 * inbound upgrade timeout (10 s). Unbounded, a stream of such packets
 * grows memory and native threads without limit. libp2p's own limits on
 * pending connections apply only later, when the connection is upgraded.
 *
 * The listener asks the upgrader for an abort signal for each such request
 * (`createInboundAbortSignal`), checks it before it makes the peer
 * connection, and clears it when the handshake ends either way. The
 * budgeted upgrader below counts the signals not yet cleared and, beyond
 * `max`, hands out one that is already aborted, so nothing is allocated.
 * The count is global: the listener does not say where a request came
 * from, and a forged source could not be charged fairly anyway. A flood
 * can therefore keep new WebRTC-direct handshakes out while it lasts
 * (WebSocket and TCP listeners are not affected), but not exhaust the relay.
 */
import { logger } from '@libp2p/logger'
import type { ClearableSignal, Connection, ConnectionEncrypter, MultiaddrConnection, StreamMuxerFactory, Upgrader } from '@libp2p/interface'
import type { InboundConnectionUpgradeEvents, OutboundConnectionUpgradeEvents, UpgraderOptions, UpgraderWithoutEncryptionOptions } from '@libp2p/interface'
import { MAX_PENDING_HANDSHAKES } from './constants.js'
import { HandshakesBusyError } from './errors.js'

const log = logger('starling:net:webrtc-direct:handshakes')

/** Counters of a {@link HandshakeBudget} (for metrics and tests). */
export interface HandshakeBudgetMetrics {
  /** Handshakes under way now. */
  pending: number
  /** Handshakes refused because `max` were under way. */
  refused: number
}

/** Counts WebRTC-direct handshakes under way and refuses those beyond `max`. */
export class HandshakeBudget {
  readonly max: number
  readonly metrics: HandshakeBudgetMetrics = { pending: 0, refused: 0 }

  constructor (init: { max?: number } = {}) {
    this.max = init.max ?? MAX_PENDING_HANDSHAKES
  }

  /** An upgrader that behaves as `inner()` but budgets `createInboundAbortSignal` (inner is read when used). */
  upgrader (inner: () => Upgrader): Upgrader {
    return new BudgetedUpgrader(inner, this)
  }

  /** A signal for one more handshake: the upgrader's own, counted until cleared, or an aborted one when the budget is spent. */
  signal (inner: Upgrader, parent: AbortSignal): ClearableSignal {
    if (this.metrics.pending >= this.max) {
      this.metrics.refused++
      if (this.metrics.refused === 1 || this.metrics.refused % 1000 === 0) log('refusing WebRTC-direct handshakes: %d under way (%d refused so far)', this.metrics.pending, this.metrics.refused)
      const refused = AbortSignal.abort(new HandshakesBusyError(`${this.max} WebRTC-direct handshakes are under way`)) as ClearableSignal
      refused.clear = () => {}
      return refused
    }
    const signal = inner.createInboundAbortSignal(parent)
    this.metrics.pending++
    const clear = signal.clear.bind(signal)
    let cleared = false
    signal.clear = () => {
      if (!cleared) {
        cleared = true
        this.metrics.pending--
      }
      clear()
    }
    return signal
  }
}

/** Delegates everything to the real upgrader but the inbound abort signal. */
class BudgetedUpgrader implements Upgrader {
  constructor (private readonly inner: () => Upgrader, private readonly budget: HandshakeBudget) {}

  async upgradeOutbound (maConn: MultiaddrConnection, opts: UpgraderOptions<OutboundConnectionUpgradeEvents> | UpgraderWithoutEncryptionOptions): Promise<Connection> {
    return await this.inner().upgradeOutbound(maConn, opts as UpgraderOptions<OutboundConnectionUpgradeEvents>)
  }

  async upgradeInbound (maConn: MultiaddrConnection, opts: UpgraderOptions<InboundConnectionUpgradeEvents> | UpgraderWithoutEncryptionOptions): Promise<void> {
    await this.inner().upgradeInbound(maConn, opts as UpgraderOptions<InboundConnectionUpgradeEvents>)
  }

  createInboundAbortSignal (signal: AbortSignal): ClearableSignal {
    return this.budget.signal(this.inner(), signal)
  }

  getStreamMuxers (): Map<string, StreamMuxerFactory> {
    return this.inner().getStreamMuxers()
  }

  getConnectionEncrypters (): Map<string, ConnectionEncrypter> {
    return this.inner().getConnectionEncrypters()
  }
}
