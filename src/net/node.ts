/**
 * Assembles a Starling libp2p node. Transports that differ by platform (TCP
 * in Node, WebRTC/WebSockets in browsers) are passed in; everything else is
 * the same everywhere: Noise, yamux, identify, ping, the Starling DHT, the
 * connection pings of spread-monitor.ts, and for relays the circuit relay v2
 * server with per-source reservation limits (reservation-limits.ts).
 */
import { createLibp2p } from 'libp2p'
import type { ConnectionGater, Libp2p, PeerId, PrivateKey, PeerInfo } from '@libp2p/interface'
import { noise } from '@chainsafe/libp2p-noise'
import type { ICryptoInterface } from '@chainsafe/libp2p-noise'
import { starlingYamux } from './yamux.js'
import { answerProvidersFromRecords } from './provider-answers.js'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper } from '@libp2p/kad-dht'
import type { KadDHT, Validators, Selectors } from '@libp2p/kad-dht'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { bootstrap } from '@libp2p/bootstrap'
import { dcutr } from '@libp2p/dcutr'
import type { Datastore } from 'interface-datastore'
import type { Multiaddr } from '@multiformats/multiaddr'
import { ReservationLimits } from './reservation-limits.js'
import { ConnectionLimits } from './connection-limits.js'
import type { HideIp } from './hide-ip.js'
import { attachSpreadMonitor } from './spread-monitor.js'
import { linearConnectionList } from './linear-connections.js'
import { querySelfInterval } from './dht-maintenance.js'
import type { DhtMaintenance } from './dht-maintenance.js'
import {
  DHT_PROTOCOL,
  RELAY_DATA_LIMIT_BYTES,
  RELAY_DURATION_LIMIT_MS,
  RELAY_MAX_CONNECTIONS,
  RELAY_MAX_RESERVATIONS,
  RELAY_RESERVATION_TTL_MS
} from './constants.js'

/** A transport factory as libp2p takes it (`tcp()`, `webSockets()`, ...). */
type Libp2pInit = NonNullable<Parameters<typeof createLibp2p>[0]>
export type TransportFactory = NonNullable<Libp2pInit['transports']>[number]

/** What a relay or user node needs to be assembled. */
export interface StarlingNodeInit {
  /** The node's peer key (kept across restarts by the caller). */
  privateKey: PrivateKey
  /** `relay`: DHT server + circuit relay server; `user`: a person's device. */
  role: 'relay' | 'user'
  /** Platform transports (circuit relay transport is always added). */
  transports: TransportFactory[]
  /** Noise's primitives, when the platform has faster ones than the default (node/ passes its own). */
  noiseCrypto?: ICryptoInterface
  /** A user node's connection gater (a browser's default refuses `ws://` and loopback); relays use their own. */
  connectionGater?: ConnectionGater
  listen?: string[]
  announce?: string[]
  /**
   * Hide my IP (hide-ip.ts): a user node's dials, connections and announced
   * addresses pass its checks, and it has no DCUtR when on from the start.
   */
  hideIp?: HideIp
  /** A user node's DCUtR (default true): a platform with no transport it could use has none (src/peer/platform.ts). */
  holePunching?: boolean
  /** Rewrites the addresses the node announces (a relay's WebRTC-direct addresses name their certhashes, src/net/webrtc-direct). */
  announceFilter?: (addrs: Multiaddr[]) => Multiaddr[]
  /** Relays to connect to at start. */
  bootstrap?: string[]
  /** DHT record validators and selectors for the `starling` namespace. */
  validators: Validators
  selectors: Selectors
  /** Serve DHT records (relays always do; user nodes only when asked). */
  dhtServer?: boolean
  /**
   * Keep loopback and private addresses in DHT answers and accept many
   * connections per second from one host: for tests and simulations on one
   * machine.
   */
  loopback?: boolean
  /** Where the DHT keeps records (in memory when absent). */
  datastore?: Datastore
  /** Provider record lifetime and republish interval, shortened by tests. */
  providerValidityMs?: number
  reprovideIntervalMs?: number
  /** More services by name (e.g. gossipsub on relays). */
  extraServices?: Record<string, unknown>
  /** Circuit relay reservations a relay holds: in all, and per source (defaults in constants.ts and reservation-limits.ts). */
  reservations?: { max?: number, maxPerSource?: number }
  /** Connections a relay holds: in all, and per source (defaults in constants.ts and connection-limits.ts). */
  connections?: { max?: number, maxPerSource?: number }
  /** libp2p's metrics (a relay's operator scrapes them: node/ passes `@libp2p/prometheus-metrics`). */
  metrics?: Libp2pInit['metrics']
  /**
   * How often every connection is pinged, ms (spread-monitor.ts, default
   * libp2p's 10 s; a connection whose ping fails is closed). A simulation
   * under time dilation stretches it by its factor.
   */
  keepAliveIntervalMs?: number
  /** The connection monitor's settings (a relay's come from its operator; `intervalMs` wins over `keepAliveIntervalMs`). */
  connectionMonitor?: ConnectionMonitorSettings
  /** kad-dht's background lookups (dht-maintenance.ts: the self query); kad-dht's defaults when absent. */
  dhtMaintenance?: DhtMaintenance
}

/**
 * libp2p's connection monitor pings every connection in the same tick, every
 * interval, and by default closes one whose ping is not answered within an
 * adaptive timeout (at least 5 s): a relay whose event loop is busy for a few
 * seconds would drop live users. These fix the timeout and say whether to
 * close; every node's pings are the spread monitor's (spread-monitor.ts).
 */
export interface ConnectionMonitorSettings {
  /** How often every connection is pinged, ms. */
  intervalMs?: number
  /** A ping unanswered this long fails, ms (a fixed timeout, not libp2p's adaptive one). */
  timeoutMs?: number
  /** Whether a failed ping closes the connection (libp2p's default: true). */
  closeOnFailure?: boolean
}

/** libp2p's connection monitor's ping interval when none is given (libp2p 3.3, connection-monitor.js). */
export const LIBP2P_PING_INTERVAL_MS = 10_000

/**
 * A node's ping settings in the form of libp2p's `connectionMonitor` option,
 * which the spread monitor reads (attachSpreadMonitor): the interval
 * (libp2p's 10 s when not given), and a fixed timeout of at most the
 * interval (the interval when not given).
 *
 * The timeout is at most the interval. The ping service lets one outbound
 * ping stream be open per connection, so a round whose ping is still under
 * way is passed over: a longer timeout would only find a dead connection
 * later. (libp2p's monitor, used before, started a ping at each tick without
 * waiting for the last: a ping that outlasted the interval made the next one
 * fail, which closed a live connection whatever the timeout.) Fixed rather
 * than libp2p's adaptive timeout (at least 5 s), which closed the
 * connections of a node whose event loop was busy for a few seconds (a
 * daemon under load lost its relay).
 */
export function connectionMonitorInit (keepAliveIntervalMs?: number, settings: ConnectionMonitorSettings = {}): NonNullable<Libp2pInit['connectionMonitor']> {
  const pingInterval = settings.intervalMs ?? keepAliveIntervalMs ?? LIBP2P_PING_INTERVAL_MS
  const timeout = Math.min(settings.timeoutMs ?? pingInterval, pingInterval)
  return {
    pingInterval,
    pingTimeout: { minTimeout: timeout, maxTimeout: timeout },
    ...(settings.closeOnFailure != null ? { abortConnectionOnPingFailure: settings.closeOnFailure } : {})
  }
}

/** The services every Starling node has. */
export interface StarlingServices extends Record<string, unknown> {
  identify: ReturnType<ReturnType<typeof identify>>
  ping: ReturnType<ReturnType<typeof ping>>
  dht: KadDHT
}

export type StarlingLibp2p = Libp2p<StarlingServices>

/** Creates and starts a node. */
export async function createStarlingNode (init: StarlingNodeInit): Promise<StarlingLibp2p> {
  const isRelay = init.role === 'relay'
  const peerInfoMapper = init.loopback === true ? passthroughMapper : removePrivateAddressesMapper
  const services: Record<string, unknown> = {
    identify: identify(),
    ping: ping(),
    dht: kadDHT({
      protocol: DHT_PROTOCOL,
      clientMode: !(isRelay || init.dhtServer === true),
      validators: init.validators,
      selectors: init.selectors,
      peerInfoMapper,
      providers: init.providerValidityMs != null ? { provideValidity: init.providerValidityMs } : undefined,
      reprovide: init.reprovideIntervalMs != null ? { interval: init.reprovideIntervalMs, threshold: init.reprovideIntervalMs } : undefined,
      querySelfInterval: querySelfInterval(init.dhtMaintenance)
    })
  }
  const limits = isRelay ? new ReservationLimits({ maxPerSource: init.reservations?.maxPerSource }) : undefined
  const connectionLimits = isRelay ? new ConnectionLimits({ maxPerSource: init.connections?.maxPerSource }) : undefined
  if (isRelay) {
    services.relay = circuitRelayServer({
      reservations: {
        maxReservations: init.reservations?.max ?? RELAY_MAX_RESERVATIONS,
        reservationTtl: RELAY_RESERVATION_TTL_MS,
        defaultDurationLimit: RELAY_DURATION_LIMIT_MS,
        defaultDataLimit: RELAY_DATA_LIMIT_BYTES
      }
    })
  }
  // A user node reached through a relay tries to upgrade to a direct
  // connection (hole punching), so messages and attachments stop crossing it;
  // not with hide my IP on (turned on later, the peer stops it), nor where it has nothing to dial.
  if (!isRelay && init.holePunching !== false && init.hideIp?.enabled !== true) services.dcutr = dcutr()
  Object.assign(services, init.extraServices)
  const hideIp = isRelay ? undefined : init.hideIp
  const gater = hideIp != null ? hideIp.gater(init.connectionGater) : init.connectionGater
  const peerDiscovery = (init.bootstrap?.length ?? 0) > 0
    ? [bootstrap({ list: init.bootstrap ?? [], timeout: 0 })]
    : []

  const monitorInit = connectionMonitorInit(init.keepAliveIntervalMs, init.connectionMonitor)
  const node = await createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: init.listen ?? [], announce: init.announce ?? [], announceFilter: hideIp != null ? hideIp.announceFilter(init.announceFilter) : init.announceFilter },
    transports: [...init.transports, circuitRelayTransport()],
    connectionEncrypters: [noise(init.noiseCrypto != null ? { crypto: init.noiseCrypto } : {})],
    streamMuxers: [starlingYamux()],
    peerDiscovery,
    datastore: init.datastore,
    metrics: init.metrics,
    // Every node's pings are the spread monitor's (attached below), never libp2p's: its
    // monitor pings every connection in one tick (a relay's 2,000 at once), and its
    // ping at a tick while kad-dht pinged the same peer (a DHT server it adds to the
    // routing table) failed as a second outbound ping stream, which closed the live
    // connection (a daemon's to its relay); the spread monitor waits its turn.
    connectionMonitor: { enabled: false },
    ...(limits != null ? { connectionGater: { ...limits.gater(), ...connectionLimits?.gater() } } : gater != null ? { connectionGater: gater } : {}),
    connectionManager: {
      // A relay holds a connection for each reservation, and more: libp2p's default (300) is below its 1,024 reservations.
      ...(isRelay ? { maxConnections: init.connections?.max ?? RELAY_MAX_CONNECTIONS } : {}),
      ...(init.loopback === true ? { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1_000 } : {})
    },
    services: services as Libp2pInit['services']
  })
  linearConnectionList(node)
  attachSpreadMonitor(node, monitorInit, node.metrics)
  keepClientsOutOfRoutingTable(node as unknown as StarlingLibp2p)
  limits?.attach(node)
  connectionLimits?.attach(node)
  try {
    // A bare name must not vanish from a relay's answers an hour after it was announced (known upstream issue).
    answerProvidersFromRecords((node as unknown as StarlingLibp2p).services.dht, { peerStore: node.peerStore, peerInfoMapper })
  } catch (err) {
    await node.stop()
    throw err
  }
  return node as unknown as StarlingLibp2p
}

interface RoutingTableLike extends EventTarget {
  size: number
  remove(peer: PeerId): Promise<void>
}

/**
 * libp2p 3.3 records the protocol of every INBOUND stream as one the remote
 * peer supports (connection.js), so a DHT client that queries a server is
 * taken for a DHT server: it enters the server's routing table unverified
 * while buckets have room, and is handed to others as a closer peer, whose
 * queries then die on it. A peer's own identify answer is the truth: a peer
 * that did not list the DHT protocol is taken out of the routing table as
 * soon as it is added.
 */
function keepClientsOutOfRoutingTable (node: StarlingLibp2p): void {
  const routingTable = (node.services.dht as unknown as { routingTable?: RoutingTableLike }).routingTable
  if (routingTable == null) return
  const notServers = new Set<string>()
  node.addEventListener('peer:identify', (evt) => {
    const id = evt.detail.peerId.toString()
    if (evt.detail.protocols.includes(DHT_PROTOCOL)) {
      notServers.delete(id)
      return
    }
    notServers.add(id)
    routingTable.remove(evt.detail.peerId).catch(() => {})
  })
  node.addEventListener('peer:disconnect', (evt) => { notServers.delete(evt.detail.toString()) })
  routingTable.addEventListener('peer:add', (evt) => {
    const peer = (evt as CustomEvent<PeerId>).detail
    if (notServers.has(peer.toString())) routingTable.remove(peer).catch(() => {})
  })
}

/** Peers in the DHT routing table (kad-dht keeps it off its public interface). */
export function routingTableSize (node: StarlingLibp2p): number {
  return (node.services.dht as unknown as { routingTable?: { size: number } }).routingTable?.size ?? 0
}

export type { PeerInfo }
