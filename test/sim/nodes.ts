/**
 * The simulation's nodes: the real relay and the real user peer of src/peer
 * (createStarlingRelay, createStarlingPeer: the assembly the daemon and the
 * web app use), given in-memory platform pieces: memory-level stores that
 * outlive a node's restarts (a churning user comes back with its history and
 * outbox, a crashed relay with its envelopes), one shared crypto facade, and
 * two transports: libp2p's memory transport (with its latency option)
 * between users of the same worker, and TCP on 127.0.0.1 to relays and to
 * the users of other workers.
 */
import { memory } from '@libp2p/memory'
import { tcp } from '@libp2p/tcp'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { MemoryLevel } from 'memory-level'
import { LevelDatastore } from 'datastore-level'
import type { Level } from 'level'
import { LevelStore } from '../../src/store/index.js'
import { MemoryBlobStore } from '../../src/messenger/attachments/index.js'
import { createIdentity, createStarlingPeer, createStarlingRelay } from '../../src/peer/index.js'
import type { KeyStorage, PeerPlatform, StarlingPeer, StarlingPeerInit, StarlingRelay } from '../../src/peer/index.js'
import type { Crypto } from '../../src/crypto/index.js'
import type { Budgets } from '../../src/relay/index.js'
import type { TransportFactory } from '../../src/net/node.js'
import type { DhtMaintenance } from '../../src/net/dht-maintenance.js'
import { coalesceSocketWrites, nodeNoiseCrypto } from '../../node/platform.js'
import type { RelayInfo } from './protocol.js'

/** Every relay accepts this many connections and reservations, in all and per source: all simulated nodes share 127.0.0.1. */
const SIM_RELAY_LIMIT = 100_000

type Db = MemoryLevel<Uint8Array, Uint8Array>

function memoryDb (): Db {
  return new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' })
}

/**
 * The transports of a simulated node (socket writes coalesced per tick, as
 * the daemon's are); `localAddress`: the loopback address its TCP dials come
 * from (a source of its own for the relays' budgets; default 127.0.0.1).
 */
export function simTransports (latencyMs: number, localAddress?: string): TransportFactory[] {
  coalesceSocketWrites()
  // @libp2p/tcp passes dialOpts on to net.connect, whose options include localAddress (its type names fewer).
  const dialOpts = localAddress != null ? { localAddress } as TcpDialOptions : undefined
  return [memory({ latency: latencyMs }), tcp({ dialOpts })]
}

type TcpDialOptions = NonNullable<Parameters<typeof tcp>[0]>['dialOpts']

/** What a simulated relay is given. */
export interface SimRelayInit {
  crypto: Crypto
  latencyMs: number
  runId: string
  /** The relays it is linked with. */
  peers: string[]
  /** Connection pings and anti-entropy exchanges (stretched under time dilation). */
  keepAliveIntervalMs: number
  syncIntervalMs: number
  /** Per-source storage budgets (absent: the relay's defaults). */
  storage?: Partial<Budgets>
  /** Builds its DHT datastore (a malicious DHT server's: test/sim/adversaries.ts). */
  datastore?: (db: Level<string, Uint8Array>) => LevelDatastore
  /** Runs on every start (a malicious relay's subversion: test/sim/adversaries.ts). */
  subvert?: (relay: StarlingRelay) => void
  /** kad-dht's background lookups (stretched under time dilation). */
  dhtMaintenance?: DhtMaintenance
}

/** A relay that can crash and come back with what it held. */
export class SimRelay {
  readonly info: RelayInfo
  private readonly db = memoryDb()
  /**
   * The DHT's records, kept across a crash as a real relay keeps them on
   * disk (node/relay.ts): a relay that came back empty would answer "none"
   * for records it held.
   */
  private readonly dhtDb = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
  private readonly init: SimRelayInit
  relay?: StarlingRelay

  constructor (info: RelayInfo, init: SimRelayInit) {
    this.info = info
    this.init = init
  }

  /** Its memory address (only reachable from the same worker). */
  get memoryAddr (): string {
    return `/memory/sim-${this.init.runId}-relay-${this.info.index}`
  }

  async start (): Promise<void> {
    const key = privateKeyFromProtobuf(Buffer.from(this.info.key, 'base64'))
    this.relay = await createStarlingRelay({
      crypto: this.init.crypto,
      transports: () => simTransports(this.init.latencyMs),
      noiseCrypto: nodeNoiseCrypto(),
      peerKey: async () => key,
      openStore: async () => {
        const store = new LevelStore(this.db)
        await store.open()
        return store
      },
      openDatastore: async () => {
        // datastore-level uses only the abstract-level API, which memory-level has.
        const db = this.dhtDb as unknown as Level<string, Uint8Array>
        const datastore = this.init.datastore?.(db) ?? new LevelDatastore(db)
        await datastore.open()
        return datastore
      }
    }, {
      listen: [this.memoryAddr, `/ip4/127.0.0.1/tcp/${this.info.port}`],
      // Only TCP is announced: a reservation hands the relay's announced addresses to
      // the user, and libp2p 3's circuit listener throws (uncaught) on a /memory one
      // (getNetConfig in the address manager knows only IP and DNS addresses).
      announce: [`/ip4/127.0.0.1/tcp/${this.info.port}`],
      peers: this.init.peers,
      loopback: true,
      keepAliveIntervalMs: this.init.keepAliveIntervalMs,
      syncIntervalMs: this.init.syncIntervalMs,
      dhtMaintenance: this.init.dhtMaintenance,
      limits: {
        reservations: { max: SIM_RELAY_LIMIT, maxPerSource: SIM_RELAY_LIMIT },
        connections: { max: SIM_RELAY_LIMIT, maxPerSource: SIM_RELAY_LIMIT },
        storage: this.init.storage
      }
    })
    this.init.subvert?.(this.relay)
  }

  async stop (): Promise<void> {
    const relay = this.relay
    this.relay = undefined
    await relay?.stop()
  }
}

/** Keys kept in a variable. */
function memoryKeys (): KeyStorage {
  let bytes: Uint8Array | undefined
  return {
    read: async () => bytes,
    create: async (b) => { bytes = b.slice() },
    replace: async (b) => { bytes = b.slice() }
  }
}

/** What a user node is given besides its platform. */
export interface SimUserInit {
  crypto: Crypto
  latencyMs: number
  runId: string
  name: string
  index: number
  bootstrap: string[]
  gater: ConnectionGater
  wrapTransport: StarlingPeerInit['wrapTransport']
  now: () => number
  /** Messenger timers (stretched under time dilation). */
  messenger?: StarlingPeerInit['messenger']
  /** Connection pings (stretched under time dilation). */
  keepAliveIntervalMs?: number
  /** The loopback address its TCP dials come from (default 127.0.0.1). */
  localAddress?: string
  /** kad-dht's background lookups (stretched under time dilation). */
  dhtMaintenance?: DhtMaintenance
}

/** A user's device that goes offline and comes back with the same identity and stores. */
export class SimUser {
  readonly init: SimUserInit
  private readonly keys = memoryKeys()
  private readonly db = memoryDb()
  private readonly blobs = new MemoryBlobStore()
  peer?: StarlingPeer
  handle = ''
  peerId?: PeerId

  constructor (init: SimUserInit) {
    this.init = init
  }

  /** Creates the identity (once). */
  async create (): Promise<void> {
    const identity = await createIdentity(this.init.crypto, this.keys, this.init.name)
    this.handle = `${this.init.name}~${identity.tag}`
  }

  private platform (): PeerPlatform {
    return {
      crypto: this.init.crypto,
      transports: () => simTransports(this.init.latencyMs, this.init.localAddress),
      noiseCrypto: nodeNoiseCrypto(),
      connectionGater: this.init.gater,
      keys: this.keys,
      openStore: async () => {
        const store = new LevelStore(this.db)
        await store.open()
        return store
      },
      openBlobs: async () => this.blobs,
      now: this.init.now
    }
  }

  async start (): Promise<StarlingPeer> {
    const peer = await createStarlingPeer(this.platform(), {
      bootstrap: this.init.bootstrap,
      // On its own loopback address when it dials from one: the relays then observe the address it listens on, not a new one to announce.
      listen: [`/memory/sim-${this.init.runId}-user-${this.init.index}`, `/ip4/${this.init.localAddress ?? '127.0.0.1'}/tcp/0`],
      loopback: true,
      wrapTransport: this.init.wrapTransport,
      messenger: this.init.messenger,
      keepAliveIntervalMs: this.init.keepAliveIntervalMs,
      dhtMaintenance: this.init.dhtMaintenance
    })
    this.peerId = peer.node.peerId
    try {
      await peer.start()
    } catch (err) {
      await peer.stop().catch(() => {})
      throw err
    }
    this.peer = peer
    return peer
  }

  async stop (): Promise<void> {
    const peer = this.peer
    this.peer = undefined
    await peer?.stop()
  }
}
