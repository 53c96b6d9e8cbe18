/**
 * The relay's Prometheus metrics: libp2p's own (connections, streams,
 * bytes, the DHT's queries: `@libp2p/prometheus-metrics`, with Node's
 * process metrics) and Starling's, all in one registry of their own (never
 * prom-client's global one, so two relays in one process stay apart).
 * Starling's counters live in the relay as plain objects; they are copied
 * into the registry when Prometheus scrapes ({@link RelayMetrics.update}),
 * and what costs a walk (bytes on disk, DHT records) at most once a minute.
 * Names and meanings are listed in the README ("Metrics").
 */
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Counter, Gauge, Histogram, Registry } from 'prom-client'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Datastore } from 'interface-datastore'
import { routingTableSize } from '../../src/net/node.js'
import type { StoreOp } from '../../src/protocols/store/store.js'
import type { StarlingRelay } from '../../src/peer/relay.js'

/** How long a walk of the disk or the DHT's records is reused. */
export const SLOW_GAUGE_TTL_MS = 60_000
/** The most DHT records counted in one walk (the gauge then reads this). */
export const MAX_COUNTED_RECORDS = 1_000_000
/** Latency buckets of store requests, in seconds: a synced write is ~0.5 ms, a loaded relay's answers reach 100 ms. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]

/** A counter set to the relay's own running total at each scrape. */
function setCounter (counter: Counter<string>, value: number, labels?: Record<string, string>): void {
  if (labels != null) {
    counter.remove(labels)
    counter.inc(labels, value)
  } else {
    counter.reset()
    counter.inc(value)
  }
}

/** Bytes of every file under `dir` (a data directory: a few hundred files at most). */
export async function directoryBytes (dir: string): Promise<number> {
  let total = 0
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) total += await directoryBytes(path)
    else if (entry.isFile()) total += (await stat(path).catch(() => ({ size: 0 }))).size
  }
  return total
}

async function countKeys (datastore: Datastore, prefix: string): Promise<number> {
  let n = 0
  for await (const key of datastore.queryKeys({ prefix })) {
    if (key != null) n++
    if (n >= MAX_COUNTED_RECORDS) break
  }
  return n
}

/** A value recomputed at most once per {@link SLOW_GAUGE_TTL_MS}. */
class Slow {
  private value = 0
  private at = -Infinity
  private running?: Promise<number>

  constructor (private readonly compute: () => Promise<number>, private readonly now: () => number) {}

  async get (): Promise<number> {
    if (this.now() - this.at < SLOW_GAUGE_TTL_MS) return this.value
    this.running ??= this.compute().then(v => {
      this.value = v
      this.at = this.now()
      return v
    }).finally(() => { this.running = undefined })
    return await this.running
  }
}

/** Starling's metrics of one relay, beside libp2p's, in one registry. */
export class RelayMetrics {
  readonly registry = new Registry()
  private relay?: StarlingRelay
  private readonly c: Record<string, Counter<string>>
  private readonly g: Record<string, Gauge<string>>
  private readonly latency: Histogram<string>
  private readonly diskBytes: Slow
  private readonly dhtRecords: Slow
  private readonly dhtProviders: Slow

  constructor (private readonly dataDir: string, now: () => number = Date.now) {
    const registers = [this.registry]
    const counter = (name: string, help: string, labelNames: string[] = []): Counter<string> => new Counter({ name: `starling_relay_${name}`, help, labelNames, registers })
    const gauge = (name: string, help: string, labelNames: string[] = []): Gauge<string> => new Gauge({ name: `starling_relay_${name}`, help, labelNames, registers })
    this.c = {
      stored: counter('envelopes_stored_total', 'Envelopes stored (puts and linked relays\' gossip and sync), not counting duplicates'),
      fetched: counter('envelopes_fetched_total', 'Envelopes served to their owners'),
      deleted: counter('envelopes_deleted_total', 'Envelopes removed by their owners\' signed deletes'),
      expired: counter('envelopes_expired_total', 'Envelopes removed past their retention'),
      duplicates: counter('envelopes_duplicate_total', 'Puts of an envelope already held (answered with the first receipt)'),
      refused: counter('envelopes_refused_total', 'Store requests refused, by reason', ['reason']),
      requests: counter('store_requests_total', 'Store protocol requests, by operation', ['op']),
      putBatches: counter('store_put_batches_total', 'Store requests that carried several puts (each put counts as a put in store_requests_total)'),
      batchedPuts: counter('store_batched_puts_total', 'Puts that came in those requests: their ratio is the puts per batch'),
      dropped: counter('store_streams_dropped_total', 'Store streams dropped for a malformed, oversized or stalled frame'),
      gossip: counter('gossip_messages_total', 'Mailbox gossip, by what became of it', ['outcome']),
      batches: counter('store_batches_total', 'Synced batches the envelope store wrote (group commit)'),
      commits: counter('store_commits_total', 'Writes those batches carried (puts, deletes, sweeps): commits / batches is the group commit\'s batch size'),
      synced: counter('sync_envelopes_total', 'Envelopes fetched from linked relays by anti-entropy'),
      exchanges: counter('sync_exchanges_total', 'Anti-entropy exchanges with linked relays, by outcome', ['outcome'])
    }
    this.g = {
      mailboxes: gauge('mailboxes', 'Mailboxes holding at least one envelope'),
      held: gauge('envelopes_held', 'Envelopes held'),
      bytes: gauge('storage_bytes', 'Bytes charged against the storage budget (envelopes plus a fixed overhead each)'),
      budget: gauge('storage_budget_bytes', 'The storage budget (--max-storage)'),
      disk: gauge('data_dir_bytes', 'Bytes of the files in the data directory (refreshed at most once a minute)'),
      reservations: gauge('reservations', 'Circuit relay reservations held'),
      connections: gauge('connections', 'Open connections'),
      gossipPeers: gauge('gossip_peers', 'Peers on the mailbox gossip topics'),
      linked: gauge('linked_relays', 'Linked relays (--peer), by whether one is connected', ['state']),
      routing: gauge('dht_routing_table_peers', 'Peers in the DHT routing table'),
      records: gauge('dht_records', 'DHT records held in the datastore, by kind (refreshed at most once a minute)', ['kind'])
    }
    this.latency = new Histogram({
      name: 'starling_relay_request_duration_seconds',
      help: 'Time from reading a store request to writing its answer, by operation and status',
      labelNames: ['op', 'status'],
      buckets: LATENCY_BUCKETS,
      registers
    })
    this.diskBytes = new Slow(async () => await directoryBytes(this.dataDir), now)
    this.dhtRecords = new Slow(async () => this.relay?.datastore != null ? await countKeys(this.relay.datastore, '/dht/record') : 0, now)
    this.dhtProviders = new Slow(async () => this.relay?.datastore != null ? await countKeys(this.relay.datastore, '/dht/provider') : 0, now)
  }

  /** libp2p's metrics into this registry (the node's `metrics` option), with process metrics and the data directory's filesystem. */
  libp2pMetrics (): ReturnType<typeof prometheusMetrics> {
    return prometheusMetrics({ registry: this.registry, preserveExistingMetrics: true, statfsLocation: this.dataDir })
  }

  /** Records one answered store request (the relay's `onStoreRequest`). */
  observe (op: StoreOp, ms: number, status: string): void {
    this.latency.observe({ op, status }, ms / 1000)
  }

  /** The relay whose counters are read at each scrape. */
  attach (relay: StarlingRelay): void {
    this.relay = relay
  }

  /** Copies the relay's counters into the registry. */
  async update (): Promise<void> {
    const relay = this.relay
    if (relay == null) return
    const { store, server, gossip } = relay.mailbox.metrics()
    setCounter(this.c.stored, store.stored)
    setCounter(this.c.fetched, store.fetched)
    setCounter(this.c.deleted, store.deleted)
    setCounter(this.c.expired, store.expired)
    setCounter(this.c.duplicates, store.duplicates)
    const refused: Record<string, number> = {
      mailbox_full: store.rejected.mailboxFull,
      mailbox_share: store.rejected.mailboxShare,
      source_budget: store.rejected.sourceBudget,
      relay_full: store.rejected.relayFull,
      rate_limited: server.rejected.rateLimited,
      too_large: server.rejected.tooLarge,
      bad_request: server.rejected.badRequest,
      unauthorized: server.rejected.unauthorized,
      internal: server.rejected.internal
    }
    for (const [reason, n] of Object.entries(refused)) setCounter(this.c.refused, n, { reason })
    for (const [op, n] of Object.entries(server.requests)) setCounter(this.c.requests, n, { op })
    setCounter(this.c.dropped, server.droppedStreams)
    setCounter(this.c.putBatches, server.batches)
    setCounter(this.c.batchedPuts, server.batchedPuts)
    for (const outcome of ['published', 'received', 'stored', 'duplicates', 'deletes', 'rejected', 'dropped'] as const) {
      setCounter(this.c.gossip, gossip[outcome], { outcome })
    }
    setCounter(this.c.batches, relay.mailbox.store.commitStats.batches)
    setCounter(this.c.commits, relay.mailbox.store.commitStats.commits)
    const sync = relay.sync.metrics()
    setCounter(this.c.synced, sync.envelopes.reconciled)
    for (const [outcome, n] of Object.entries(sync.exchanges)) setCounter(this.c.exchanges, n, { outcome })

    const held = await relay.mailbox.store.held()
    this.g.mailboxes.set(relay.mailbox.store.mailboxes)
    this.g.held.set(held.count)
    this.g.bytes.set(held.bytes)
    this.g.budget.set(relay.mailbox.store.budgets.maxTotalBytes)
    this.g.disk.set(await this.diskBytes.get())
    const node = relay.node
    const reservations = (node.services.relay as { reservations?: { size: number } } | undefined)?.reservations
    this.g.reservations.set(reservations?.size ?? 0)
    this.g.connections.set(node.getConnections().length)
    const pubsub = node.services.pubsub as { getPeers(): unknown[] } | undefined
    this.g.gossipPeers.set(pubsub?.getPeers().length ?? 0)
    const linked = relay.relaySet.linked
    const up = linked.filter(r => node.getConnections(r.peerId).length > 0).length
    this.g.linked.set({ state: 'connected' }, up)
    this.g.linked.set({ state: 'disconnected' }, linked.length - up)
    this.g.routing.set(routingTableSize(node))
    this.g.records.set({ kind: 'record' }, await this.dhtRecords.get())
    this.g.records.set({ kind: 'provider' }, await this.dhtProviders.get())
  }

  /** The text Prometheus scrapes. */
  async text (): Promise<string> {
    await this.update()
    return await this.registry.metrics()
  }

  /** The content type of {@link text}. */
  get contentType (): string {
    return this.registry.contentType
  }
}
