/**
 * The composition root of a relay (DESIGN.md, Relays), as peer.ts is a
 * user's: from a platform's pieces (transports, Noise's primitives, the
 * relay's peer key, the envelope store, the DHT's datastore, the clock) it
 * builds the relay set from the linked relays, the envelope store with its
 * budgets, and the libp2p node with the DHT server, the circuit relay
 * server, the mailbox gossip, the store protocol, the signed relay set and
 * anti-entropy with the linked relays. node/relay.ts gives files and TCP;
 * a simulation gives memory stores and libp2p's memory transport, and runs
 * many relays in one process.
 *
 * @example
 * ```ts
 * const relay = await createStarlingRelay(platform, { listen: ['/memory/r1'], announce: [], peers: [] })
 * relay.node.getMultiaddrs()        // what users bootstrap from
 * relay.mailbox.metrics()           // store, server and gossip counters
 * await relay.stop()                // closes the stores it opened
 * ```
 */
import { gossipsub } from '@libp2p/gossipsub'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import type { Datastore } from 'interface-datastore'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Crypto } from '../crypto/index.js'
import { starlingDhtValidators } from '../identity/index.js'
import { createStarlingNode } from '../net/node.js'
import type { ConnectionMonitorSettings, StarlingLibp2p, StarlingNodeInit, TransportFactory } from '../net/node.js'
import type { DhtMaintenance } from '../net/dht-maintenance.js'
import { relaySetServer } from '../protocols/relays/index.js'
import { TurnServer } from '../protocols/turn/index.js'
import type { ChannelStats } from '../protocols/relay-sync/index.js'
import type { RateLimitInit, StoreServerInit } from '../protocols/store/index.js'
import { EnvelopeStore, RelaySet, mailboxGossipsubOptions, mailboxRelay, relaySync } from '../relay/index.js'
import type { Budgets, ExchangeResult, MailboxRelay, RelaySync } from '../relay/index.js'
import type { Store } from '../store/index.js'

/**
 * A relay's connection monitor by default. A relay's pings only find dead
 * connections (each user's own node pings every 10 s and keeps its NAT
 * mapping open), and libp2p pings every connection in one tick: at 2,000
 * connections that burst, or any busy second of the relay's own, took
 * libp2p's adaptive timeout (≥ 5 s) and closed live users. So: every 30 s,
 * and a ping fails only when unanswered for 30 s, long past any busy loop,
 * soon enough to free a silently dead user's slots.
 */
export const RELAY_CONNECTION_MONITOR: Required<ConnectionMonitorSettings> = { intervalMs: 30_000, timeoutMs: 30_000, closeOnFailure: true }

/** Every limit of a relay an operator may set; what is absent keeps its default. */
export interface RelayLimits {
  /** Storage budgets and mailbox quotas (src/relay/usage.ts). */
  storage?: Partial<Budgets>
  /** Store requests per source. */
  rateLimit?: Omit<RateLimitInit, 'now'>
  /** Circuit relay reservations, in all and per source. */
  reservations?: { max?: number, maxPerSource?: number }
  /** Connections, in all and per source. */
  connections?: { max?: number, maxPerSource?: number }
  /** How long an envelope is kept for its owner (default RETENTION_MS, 30 days). */
  retentionMs?: number
}

/** A datastore the relay closes when it stops. */
export type ClosableDatastore = Datastore & { close(): Promise<void> }

/** What differs between the places a relay runs, and nothing else. */
export interface RelayPlatform {
  /** The crypto facade (DHT record validators, custody receipts). */
  crypto: Crypto
  /** Transports to listen and dial on (the circuit relay transport is always added). */
  transports(): TransportFactory[]
  /** Which of its addresses the node announces (e.g. WebRTC-direct's with both certhashes). */
  announceFilter?: (addrs: Multiaddr[]) => Multiaddr[]
  /** Noise's primitives, when the platform has faster ones than the library's. */
  noiseCrypto?: ICryptoInterface
  /** The relay's peer key: the same across restarts (its peer id is in every address users are given). */
  peerKey(): Promise<PrivateKey>
  /** Opens the store the envelopes, tombstones and budgets are kept in; the relay closes it on stop. */
  openStore(): Promise<Store>
  /** Opens where the DHT keeps its records (in memory when absent); the relay closes it on stop. */
  openDatastore?(): Promise<ClosableDatastore>
  /** The clock, in ms since the Unix epoch (default Date.now). */
  now?(): number
  /** libp2p's metrics, when the operator scrapes them (node/ passes `@libp2p/prometheus-metrics`). */
  metrics?: StarlingNodeInit['metrics']
  /** Times each store request (op, milliseconds, response status): the operator's latency histograms. */
  onStoreRequest?: StoreServerInit['onRequest']
}

/** What a relay is asked to be, beyond its platform. */
export interface StarlingRelayInit {
  listen: string[]
  announce: string[]
  /**
   * The relays this one is linked with, each ending in `/p2p/<peer id>`: one
   * DHT and one mailbox gossip mesh among them. Gossip is taken only from
   * these (each operator lists the other).
   */
  peers?: string[]
  limits?: RelayLimits
  /**
   * Everything on one machine (tests, simulations): keep private and
   * loopback addresses in DHT answers, accept many connections from one
   * host, and leave gossipsub's same-IP penalty off.
   */
  loopback?: boolean
  /** How often each connection is pinged (src/net/node.ts; a simulation under time dilation stretches it). */
  keepAliveIntervalMs?: number
  /** The connection monitor: ping interval and timeout, and whether a failed ping closes (defaults RELAY_CONNECTION_MONITOR). */
  connectionMonitor?: ConnectionMonitorSettings
  /** kad-dht's background lookups (src/net/dht-maintenance.ts); kad-dht's defaults when absent. */
  dhtMaintenance?: DhtMaintenance
  /** Time between exchanges with each linked relay (default SYNC_INTERVAL_MS; tests shorten it). */
  syncIntervalMs?: number
  /** How often expired envelopes are swept (default SWEEP_INTERVAL_MS; 0: never, a simulation sweeps by hand). */
  sweepIntervalMs?: number
  /** Called after each exchange with a linked relay (not one that failed), with what it carried. */
  onSync?: (peer: PeerId, result: ExchangeResult, stats: ChannelStats) => void
  /**
   * A TURN server the operator runs beside the relay (coturn with
   * `use-auth-secret`): its URLs and the shared secret. The relay then hands
   * the peers holding a reservation on it short-lived credentials on
   * `/starling/turn/1.0.0`.
   */
  turn?: { urls: string[], secret: Uint8Array }
}

/** A running relay. */
export interface StarlingRelay {
  node: StarlingLibp2p
  /** The offline-message service (store protocol, mailbox gossip, metrics). */
  mailbox: MailboxRelay
  /** Anti-entropy with the linked relays (metrics, exchanges on demand). */
  sync: RelaySync
  /** The relays this one is linked with. */
  relaySet: RelaySet
  /** TURN credentials for the peers it serves, when the operator runs a TURN server. */
  turn?: TurnServer
  /** Where the DHT keeps its records, when the platform gave one (the operator's count of records held). */
  datastore?: Datastore
  /**
   * Stops taking store requests, answers those under way (their envelopes
   * stored durably and their receipts written), then stops the node and
   * closes the stores it opened.
   */
  stop(): Promise<void>
}

/**
 * Builds and starts a relay from its platform's pieces. A `peers` entry
 * without `/p2p/<peer id>` is refused before anything is opened; what was
 * opened is closed again when a later step fails.
 *
 * @throws {InvalidRelayAddressError} for a linked relay named without its peer id
 */
export async function createStarlingRelay (platform: RelayPlatform, init: StarlingRelayInit): Promise<StarlingRelay> {
  const relaySet = RelaySet.fromMultiaddrs(init.peers ?? [])
  const now = platform.now ?? Date.now
  const privateKey = await platform.peerKey()
  const opened: Array<{ close(): Promise<void> }> = []
  const closeAll = async (): Promise<void> => {
    for (const c of opened.reverse()) await c.close().catch(() => {})
  }
  try {
    const datastore = await platform.openDatastore?.()
    if (datastore != null) opened.push(datastore)
    const store = await platform.openStore()
    opened.push(store)
    const envelopes = new EnvelopeStore(store, { ...init.limits?.storage, retentionMs: init.limits?.retentionMs, now, sha256: platform.crypto.hash.sha256 })
    const { validators, selectors } = starlingDhtValidators(platform.crypto, { now })
    const loopback = init.loopback === true
    const node = await createStarlingNode({
      privateKey,
      role: 'relay',
      transports: platform.transports(),
      noiseCrypto: platform.noiseCrypto,
      listen: init.listen,
      announce: init.announce,
      announceFilter: platform.announceFilter,
      bootstrap: init.peers,
      validators,
      selectors,
      loopback,
      datastore,
      reservations: init.limits?.reservations,
      connections: init.limits?.connections,
      metrics: platform.metrics,
      connectionMonitor: {
        intervalMs: init.connectionMonitor?.intervalMs ?? init.keepAliveIntervalMs ?? RELAY_CONNECTION_MONITOR.intervalMs,
        timeoutMs: init.connectionMonitor?.timeoutMs ?? RELAY_CONNECTION_MONITOR.timeoutMs,
        closeOnFailure: init.connectionMonitor?.closeOnFailure ?? RELAY_CONNECTION_MONITOR.closeOnFailure
      },
      dhtMaintenance: init.dhtMaintenance,
      extraServices: {
        pubsub: gossipsub(mailboxGossipsubOptions({ loopback, relaySet })),
        // After pubsub: the mailbox service takes gossipsub from the components.
        mailbox: mailboxRelay({ store: envelopes, relaySet, now, ed25519: platform.crypto.ed25519, rateLimit: init.limits?.rateLimit, sweepIntervalMs: init.sweepIntervalMs, onRequest: platform.onStoreRequest }),
        relaySet: relaySetServer({ relays: () => relaySet.linked, now }),
        sync: relaySync({ store: envelopes, relaySet, now, intervalMs: init.syncIntervalMs, onExchange: init.onSync })
      }
    })
    let turn: TurnServer | undefined
    if (init.turn != null) {
      // Only peers holding a reservation here are served: the relay's own users.
      const reservations = (node.services.relay as { reservations: { has(peer: PeerId): boolean } }).reservations
      turn = new TurnServer({ registrar: node }, { urls: init.turn.urls, secret: init.turn.secret, serves: (peer) => reservations.has(peer), now })
      try {
        await turn.start()
      } catch (err) {
        await node.stop()
        throw err
      }
    }
    const mailbox = node.services.mailbox as MailboxRelay
    return {
      node,
      mailbox,
      sync: node.services.sync as RelaySync,
      relaySet,
      turn,
      datastore,
      async stop () {
        // Before libp2p closes the connections: the receipts of stores under way still reach their senders.
        await mailbox.server.drain()
        await turn?.stop()
        await node.stop()
        await closeAll()
      }
    }
  } catch (err) {
    await closeAll()
    throw err
  }
}
