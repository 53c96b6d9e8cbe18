/**
 * Helpers for relay and store-protocol tests: real libp2p nodes on
 * 127.0.0.1 (TCP, Noise, yamux), relays with gossipsub and the mailbox
 * service over a LevelDB in a temporary directory, a fake clock, and
 * envelopes.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { tcp } from '@libp2p/tcp'
import type { TCPSocketOptions } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { ENVELOPE_OVERHEAD, ENVELOPE_VERSION } from '../../../src/crypto/envelope.js'
import { allShardTopics } from '../../../src/protocols/store/index.js'
import { EnvelopeStore, mailboxGossipsubOptions, mailboxRelay } from '../../../src/relay/index.js'
import type { EnvelopeStoreInit, MailboxRelay, MailboxRelayInit, RelaySet } from '../../../src/relay/index.js'
import { LevelStore } from '../../../src/store/index.js'
import type { BatchOp, WriteOptions } from '../../../src/store/store.js'
import { MemoryLevel } from 'memory-level'

/** A clock tests move by hand. */
export interface FakeClock {
  t: number
  now(): number
}

export function fakeClock (start = Date.now()): FakeClock {
  const clock = { t: start, now: () => clock.t }
  return clock
}

/** Bytes that pass as a version-1 envelope (random id, random body). */
export function fakeEnvelope (length = 401): Uint8Array {
  const out = new Uint8Array(Math.max(length, ENVELOPE_OVERHEAD))
  crypto.getRandomValues(out.subarray(0, Math.min(out.length, 65_536)))
  out[0] = ENVELOPE_VERSION
  return out
}

/** A temporary directory and its removal. */
export async function tempDir (): Promise<{ dir: string, remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'starling-relay-'))
  return { dir, remove: async () => { await rm(dir, { recursive: true, force: true }) } }
}

const LOOPBACK_CONNECTIONS = { inboundConnectionThreshold: 10_000, maxIncomingPendingConnections: 1_000 }

export type RelayNode = Libp2p<{ identify: unknown, pubsub: GossipSub, mailbox: MailboxRelay }>

/** A relay: libp2p node + mailbox service over a LevelDB it can close and reopen. */
export interface TestRelay {
  node: RelayNode
  mailbox: MailboxRelay
  level: LevelStore
  store: EnvelopeStore
  privateKey: PrivateKey
  location: string
  /** The peer ids of the relays it is linked with (tests add to it, as `--peer` would list them). */
  linked: Set<string>
  /** Stops the node and closes the store (the directory stays). */
  stop(): Promise<void>
}

export interface TestRelayInit {
  location: string
  privateKey?: PrivateKey
  store?: EnvelopeStoreInit
  service?: Omit<MailboxRelayInit, 'store' | 'relaySet'>
  /** Listen port on 127.0.0.1 (default: any). */
  port?: number
  /** Listen addresses instead of TCP on 127.0.0.1 (e.g. a circuit relay address); adds the circuit relay transport. */
  listen?: string[]
  /** Linked relays (default: none yet; {@link meshRelays} links the relays it connects). */
  linked?: Set<string>
  /** Local address for dials (a source of its own, e.g. 127.0.0.2). */
  dialFrom?: string
}

/** A relay set over a Set tests fill in as relays start. */
export function linkedSet (linked: Set<string>): Pick<RelaySet, 'has'> {
  return { has: (peer) => linked.has(peer.toString()) }
}

/** TCP whose dials leave from `host` (127.0.0.2, 127.0.0.3, ... are all on `lo`), so that a party is a source of its own. */
export function tcpFrom (host?: string): ReturnType<typeof tcp> {
  // @libp2p/tcp passes dialOpts to net.connect, which takes localAddress; its type names only a subset.
  return host == null ? tcp() : tcp({ dialOpts: { localAddress: host } as TCPSocketOptions })
}

export async function startRelay (init: TestRelayInit): Promise<TestRelay> {
  const privateKey = init.privateKey ?? await generateKeyPair('Ed25519')
  const level = new LevelStore(init.location)
  await level.open()
  const store = new EnvelopeStore(level, init.store)
  const linked = init.linked ?? new Set<string>()
  const relaySet = linkedSet(linked)
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: init.listen ?? [`/ip4/127.0.0.1/tcp/${init.port ?? 0}`] },
    transports: init.listen != null ? [tcpFrom(init.dialFrom), circuitRelayTransport()] : [tcpFrom(init.dialFrom)],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: LOOPBACK_CONNECTIONS,
    services: {
      identify: identify(),
      pubsub: gossipsub(mailboxGossipsubOptions({ loopback: true, relaySet })),
      mailbox: mailboxRelay({ sweepIntervalMs: 0, ...init.service, store, relaySet }) as never
    }
  }) as unknown as RelayNode
  return {
    node,
    mailbox: node.services.mailbox,
    level,
    store,
    privateKey,
    location: init.location,
    linked,
    async stop () {
      await node.stop()
      await level.close()
    }
  }
}

export type UserNode = Libp2p<{ identify: unknown }>

/** A user device: no gossipsub, no store service; dials circuit addresses too. */
export async function startUser (privateKey?: PrivateKey, listen: string[] = [], dialFrom?: string): Promise<UserNode> {
  return await createLibp2p({
    ...(privateKey != null ? { privateKey } : {}),
    addresses: { listen },
    transports: [tcpFrom(dialFrom), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: LOOPBACK_CONNECTIONS,
    services: { identify: identify() }
  })
}

/**
 * For each test of the calling suite: a relay (LevelDB in a directory of
 * its own, `init()` made afresh) and a user node connected to it, handed to
 * `use`; both are stopped and the directory removed after the test.
 */
export function relayAndUserEach (init: () => Omit<TestRelayInit, 'location'>, use: (relay: TestRelay, user: UserNode) => void): void {
  let stop: (() => Promise<void>) | undefined
  beforeEach(async () => {
    const tmp = await tempDir()
    const relay = await startRelay({ location: `${tmp.dir}/db`, ...init() })
    const user = await startUser()
    stop = async () => {
      await user.stop()
      await relay.stop()
      await tmp.remove()
    }
    await user.dial(relay.node.getMultiaddrs())
    use(relay, user)
  })
  afterEach(async () => {
    await stop?.()
    stop = undefined
  })
}

/** A bare circuit relay v2 server on 127.0.0.1 (limits large enough for tests). */
export async function startCircuitRelay (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionManager: LOOPBACK_CONNECTIONS,
    services: {
      identify: identify(),
      relay: circuitRelayServer({ reservations: { defaultDataLimit: 64n * 1024n * 1024n, defaultDurationLimit: 10 * 60_000 } })
    }
  }) as unknown as Libp2p
}

/** Polls `check` every 20 ms until it holds or `timeoutMs` passes. */
export async function waitFor (what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs
  while (!await check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** Links every relay with every other (both ways), connects them, and waits until each sees the others on every shard topic. */
export async function meshRelays (relays: TestRelay[]): Promise<void> {
  for (const a of relays) {
    for (const b of relays) {
      if (a !== b) a.linked.add(b.node.peerId.toString())
    }
  }
  for (const a of relays) {
    for (const b of relays) {
      if (a !== b && a.node.getConnections(b.node.peerId).length === 0) await a.node.dial(b.node.getMultiaddrs())
    }
  }
  await waitFor('shard subscriptions', () => relays.every(a => allShardTopics().every(topic => {
    const subscribers = a.node.services.pubsub.getSubscribers(topic).map(p => p.toString())
    return relays.every(b => b === a || subscribers.includes(b.node.peerId.toString()))
  })))
}

/** memory-level whose batches wait until `release()` while `hold` is set (a slow disk); counts its batches. */
export class GatedStore extends LevelStore {
  hold = false
  held = 0
  batches = 0
  private releases: Array<() => void> = []

  constructor () {
    super(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
  }

  release (): void {
    this.hold = false
    for (const r of this.releases.splice(0)) r()
  }

  override async batch (ops: readonly BatchOp[], options?: WriteOptions): Promise<void> {
    this.batches++
    if (this.hold) {
      this.held++
      await new Promise<void>(resolve => { this.releases.push(resolve) })
    }
    await super.batch(ops, options)
  }
}
