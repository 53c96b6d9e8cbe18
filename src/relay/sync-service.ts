/**
 * Anti-entropy between the relays of a relay set: the libp2p service that
 * serves `/starling/relay-sync/1.0.0` to linked relays and runs exchanges
 * with each of them (src/protocols/relay-sync), so that an envelope or a
 * signed delete handed to any relay reaches every relay of the set,
 * whichever were down or cut off when it was handed over. Gossip spreads
 * things within seconds while everyone is up; this repairs what it missed.
 *
 * When: at start (a relay that restarts catches up at once), whenever a
 * linked relay connects (it restarted, or a partition healed; at most once
 * per {@link CONNECT_GAP_MS}), and every
 * {@link SYNC_INTERVAL_MS} with jitter. An exchange cut short by a budget
 * goes on after {@link CONTINUE_MS} while it makes progress. A relay that
 * cannot be reached or breaks the protocol is tried again on a backoff
 * (from {@link RETRY_MS}, doubling, up to the interval): never a spin.
 * One exchange at a time per linked relay.
 */
import { logger } from '@libp2p/logger'
import type { AbortOptions, Connection, Libp2p, Libp2pEvents, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { EXCHANGE_TIMEOUT_MS, RELAY_SYNC_PROTOCOL } from '../protocols/relay-sync/constants.js'
import { StreamChannel, deadline } from '../protocols/relay-sync/client.js'
import type { ChannelStats } from '../protocols/relay-sync/client.js'
import { reconcile } from '../protocols/relay-sync/reconcile.js'
import type { ExchangeLimits, ExchangeResult } from '../protocols/relay-sync/reconcile.js'
import { RelaySyncServer } from '../protocols/relay-sync/server.js'
import type { RelaySyncServerMetrics } from '../protocols/relay-sync/server.js'
import type { WorkBudgetInit } from '../protocols/relay-sync/work-budget.js'
import type { EnvelopeStore } from './envelope-store.js'
import type { RelaySet } from './relay-set.js'
import { syncTarget } from './sync-target.js'

const log = logger('starling:relay:sync')

/** Time between exchanges with each linked relay (3 minutes, ±25 %). */
export const SYNC_INTERVAL_MS = 3 * 60_000
/** First wait after a failed exchange; it doubles up to the interval. */
export const RETRY_MS = 5_000
/** Wait before going on with an exchange a budget cut short. */
export const CONTINUE_MS = 1_000
/** Connections of a linked relay start at most one exchange per this long (a flapping link is not a loop). */
export const CONNECT_GAP_MS = 10_000
/**
 * After the exchange a start or a connection began, one more this soon
 * (±25 %), then the interval: gossip reaches a linked relay only once it
 * has joined our mesh, a few heartbeats after connecting, and an envelope
 * taken in between waited for the next exchange (up to ~4 minutes).
 */
export const SETTLE_MS = 15_000

/** What the service takes from libp2p's components. */
export interface RelaySyncComponents {
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
  connectionManager: { openConnection(peer: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions): Promise<Connection> }
  events: TypedEventTarget<Libp2pEvents>
}

/** Options of a {@link RelaySync}. */
export interface RelaySyncInit {
  store: EnvelopeStore
  /** The relays this one is linked with (the same set the gossip uses). */
  relaySet: Pick<RelaySet, 'has' | 'linked'>
  /** Default {@link SYNC_INTERVAL_MS}; 0 runs exchanges only at start, on connect and on {@link RelaySync.syncNow}. */
  intervalMs?: number
  retryMs?: number
  /** Budgets of one exchange this relay starts. */
  limits?: Partial<ExchangeLimits>
  /** The work budget of each linked relay that asks this one. */
  budget?: WorkBudgetInit
  /** Milliseconds since the epoch (default the store's clock). */
  now?: () => number
  /** A number in [0, 1) for jitter (default `Math.random`). */
  random?: () => number
  /** Called after every exchange that completed or was cut short (not one that failed), with what it carried. */
  onExchange?: (peer: PeerId, result: ExchangeResult, stats: ChannelStats) => void
}

/** Counters of the anti-entropy, as a plain object (for export). */
export interface RelaySyncMetrics {
  exchanges: { started: number, complete: number, incomplete: number, failed: number, busy: number, invalid: number }
  envelopes: { reconciled: number, duplicate: number, deletedByOwner: number, expired: number, missing: number }
  deletes: { reconciled: number, removed: number, expired: number, missing: number }
  requests: number
  bytesIn: number
  bytesOut: number
  /** The responder's side: what linked relays asked of this one. */
  server: RelaySyncServerMetrics
}

interface PeerState {
  peer: PeerId
  timer?: ReturnType<typeof setTimeout>
  running?: Promise<void>
  failures: number
  /** When the last exchange started (ms, the service's clock). */
  startedAt?: number
  /** A start or connection began the running or next exchange: one more follows after {@link SETTLE_MS}. */
  settle?: boolean
}

/** The anti-entropy service (see the file comment). */
export class RelaySync implements Startable {
  readonly server: RelaySyncServer
  private readonly components: RelaySyncComponents
  private readonly init: RelaySyncInit
  private readonly intervalMs: number
  private readonly retryMs: number
  private readonly random: () => number
  private readonly peers = new Map<string, PeerState>()
  private readonly counters: Omit<RelaySyncMetrics, 'server'> = {
    exchanges: { started: 0, complete: 0, incomplete: 0, failed: 0, busy: 0, invalid: 0 },
    envelopes: { reconciled: 0, duplicate: 0, deletedByOwner: 0, expired: 0, missing: 0 },
    deletes: { reconciled: 0, removed: 0, expired: 0, missing: 0 },
    requests: 0,
    bytesIn: 0,
    bytesOut: 0
  }

  private abort = new AbortController()
  private stopping = false
  private readonly onConnect: (evt: CustomEvent<PeerId>) => void

  constructor (components: RelaySyncComponents, init: RelaySyncInit) {
    this.components = components
    this.init = init
    this.intervalMs = init.intervalMs ?? SYNC_INTERVAL_MS
    this.retryMs = init.retryMs ?? RETRY_MS
    this.random = init.random ?? Math.random
    this.server = new RelaySyncServer(components, { source: init.store.sync, relaySet: init.relaySet, budget: { now: init.now, ...init.budget } })
    this.onConnect = (evt) => {
      const state = this.state(evt.detail)
      // Our own dial for an exchange connects too: the running exchange covers it.
      if (state == null || state.running != null) return
      state.failures = 0
      state.settle = true
      this.schedule(state, Math.max(0, (state.startedAt ?? -Infinity) + CONNECT_GAP_MS - this.now()))
    }
  }

  readonly [Symbol.toStringTag] = 'starling:relay-sync'

  async start (): Promise<void> {
    this.stopping = false
    this.abort = new AbortController()
    await this.server.start()
  }

  afterStart (): void {
    this.components.events.addEventListener('peer:connect', this.onConnect)
    // A relay that (re)starts catches up at once, each linked relay at a slightly different moment.
    for (const relay of this.init.relaySet.linked) {
      const state = this.ensure(relay.peerId)
      state.settle = true
      this.schedule(state, this.random() * 1000)
    }
  }

  beforeStop (): void {
    this.stopping = true
    this.components.events.removeEventListener('peer:connect', this.onConnect)
    for (const state of this.peers.values()) clearTimeout(state.timer)
    this.abort.abort(new Error('the relay is stopping'))
  }

  async stop (): Promise<void> {
    this.beforeStop()
    await Promise.allSettled([...this.peers.values()].map(async s => await s.running))
    await this.server.stop()
  }

  /** A snapshot of every counter. */
  metrics (): RelaySyncMetrics {
    return structuredClone({ ...this.counters, server: this.server.metrics })
  }

  /**
   * Runs an exchange with a linked relay now (or waits for the one running)
   * and resolves to its result; the regular schedule goes on after it.
   *
   * @throws whatever ended the exchange (unreachable, protocol broken, busy)
   */
  async syncNow (peer: PeerId): Promise<ExchangeResult> {
    const state = this.state(peer)
    if (state == null) throw new Error(`${peer.toString()} is not a linked relay`)
    await state.running
    clearTimeout(state.timer)
    const outcome = await this.launch(state)
    if (outcome.result == null) throw outcome.failure
    return outcome.result
  }

  private now (): number {
    return this.init.now?.() ?? this.init.store.now()
  }

  private ensure (peer: PeerId): PeerState {
    const key = peer.toString()
    const state = this.peers.get(key) ?? { peer, failures: 0 }
    this.peers.set(key, state)
    return state
  }

  private state (peer: PeerId): PeerState | undefined {
    if (!this.init.relaySet.has(peer)) return undefined
    return this.ensure(peer)
  }

  private schedule (state: PeerState, delayMs: number): void {
    if (this.stopping) return
    clearTimeout(state.timer)
    state.timer = setTimeout(() => { this.run(state) }, delayMs)
  }

  private run (state: PeerState): void {
    if (state.running != null || this.stopping) return
    void this.launch(state)
  }

  /** Starts an exchange; the next one is scheduled once it ends. */
  private async launch (state: PeerState): Promise<{ result?: ExchangeResult, failure?: unknown }> {
    state.startedAt = this.now()
    const outcome: Promise<{ result?: ExchangeResult, failure?: unknown }> = this.exchange(state.peer).then(result => ({ result }), (failure: unknown) => ({ failure }))
    state.running = outcome.then(({ result, failure }) => {
      state.running = undefined
      this.after(state, result, failure)
    })
    return await outcome
  }

  /** Schedules the next exchange after one ended. */
  private after (state: PeerState, result: ExchangeResult | undefined, failure: unknown): void {
    if (this.stopping) return
    if (result == null) {
      state.failures++
      log('exchange with %p failed (%d in a row): %s', state.peer, state.failures, (failure as Error | undefined)?.message)
      const backoff = Math.min(this.intervalMs > 0 ? this.intervalMs : Infinity, this.retryMs * 2 ** (state.failures - 1))
      this.schedule(state, backoff * (0.75 + 0.5 * this.random()))
      return
    }
    state.failures = 0
    const progressed = result.envelopes.stored + result.deletes.tombstones > 0
    if (!result.complete && progressed) this.schedule(state, CONTINUE_MS)
    else if (state.settle === true && this.intervalMs > 0) {
      state.settle = false
      this.schedule(state, SETTLE_MS * (0.75 + 0.5 * this.random()))
    } else if (this.intervalMs > 0) this.schedule(state, this.intervalMs * (0.75 + 0.5 * this.random()))
  }

  private async exchange (peer: PeerId): Promise<ExchangeResult> {
    this.counters.exchanges.started++
    const timer = deadline(EXCHANGE_TIMEOUT_MS, this.abort.signal)
    try {
      const addrs = this.init.relaySet.linked.find(r => r.peerId.equals(peer))?.addrs ?? []
      const connection = await this.components.connectionManager.openConnection(addrs.length > 0 ? addrs : peer, { signal: timer.signal })
      const stream = await connection.newStream(RELAY_SYNC_PROTOCOL, { signal: timer.signal })
      const channel = new StreamChannel(stream, { signal: timer.signal })
      try {
        const result = await reconcile(channel, syncTarget(this.init.store, peer), { limits: this.init.limits, now: () => this.now() })
        await stream.close({ signal: timer.signal }).catch(() => { stream.abort(new Error('close failed')) })
        this.count(result)
        this.init.onExchange?.(peer, result, { ...channel.stats })
        return result
      } catch (err) {
        stream.abort(err as Error)
        throw err
      } finally {
        this.counters.requests += channel.stats.requests
        this.counters.bytesIn += channel.stats.bytesIn
        this.counters.bytesOut += channel.stats.bytesOut
      }
    } catch (err) {
      const name = (err as Error).name
      if (name === 'SyncRefusedError') this.counters.exchanges.busy++
      else if (name === 'SyncProtocolError') this.counters.exchanges.invalid++
      this.counters.exchanges.failed++
      throw err
    } finally {
      timer.clear()
    }
  }

  private count (result: ExchangeResult): void {
    const c = this.counters
    if (result.complete) c.exchanges.complete++
    else c.exchanges.incomplete++
    c.envelopes.reconciled += result.envelopes.stored
    c.envelopes.duplicate += result.envelopes.duplicate
    c.envelopes.deletedByOwner += result.envelopes.deleted
    c.envelopes.expired += result.envelopes.expired
    c.envelopes.missing += result.envelopes.missing
    c.deletes.reconciled += result.deletes.tombstones
    c.deletes.removed += result.deletes.removed
    c.deletes.expired += result.deletes.expired
    c.deletes.missing += result.deletes.missing
  }
}

/** A libp2p service factory: `services: { ..., sync: relaySync({ store, relaySet }) }`. */
export function relaySync (init: RelaySyncInit): (components: RelaySyncComponents) => RelaySync {
  return (components) => new RelaySync(components, init)
}
