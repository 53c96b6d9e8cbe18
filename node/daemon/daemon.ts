/**
 * `starling daemon`: the user's node. Connects to its relays, holds a
 * reservation on each (and gets it back after a relay restarts), publishes
 * its device record and handle claim and republishes them before they
 * expire, and serves the local API that the other commands use.
 */
import { join } from 'node:path'
import { createStarlingNode } from '../../src/net/node.js'
import { routingTableSize } from '../../src/net/node.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { Directory, accountFingerprint } from '../../src/net/directory.js'
import type { Resolution } from '../../src/net/directory.js'
import { RelayReservations } from '../../src/net/reservations.js'
import { formatHandle, starlingDhtValidators } from '../../src/identity/index.js'
import { publicPrekeys } from '../../src/crypto/prekeys.js'
import type { Crypto } from '../../src/crypto/index.js'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Store } from '../../src/store/index.js'
import { Messenger } from '../../src/messenger/messenger.js'
import { Libp2pTransport } from '../../src/net/delivery-transport.js'
import { PrekeyKind, prekeySignaturePayload } from '../../src/crypto/prekey-signature.js'
import { messagingMethods } from './messaging-api.js'
import { exportBackup } from '../backup-files.js'
import type { FileBlobStore } from '../blob-store.js'
import { openUserBlobs, openUserStore } from '../at-rest.js'
import { attachmentProtocol } from '../../src/protocols/attachment/index.js'
import { blobStoreSource, downloadAttachment } from '../../src/messenger/attachments/index.js'
import { faultyTransport } from './faults.js'
import { ApiServer } from '../api/server.js'
import type { ApiInfo } from '../api/client.js'
import { Files, makePrivate, readOptional, removeIfExists, writePrivateFile } from '../data-dir.js'
import { CommandError } from '../errors.js'
import { encryptKeyFileIfPlain, loadIdentity, rotateIfDue } from '../identity-store.js'
import type { LocalIdentity } from '../identity-store.js'
import { allLocal, nodeNoiseCrypto, nodeTransports } from '../platform.js'


export interface DaemonInit {
  crypto: Crypto
  dataDir: string
  bootstrap: string[]
  listen: string[]
  api: { host: string, port: number }
  passphrase?: string
  /** Lifetime of published records (tests shorten it). */
  recordLifetimeMs?: number
  /** Serve DHT records for others too. */
  dhtServer?: boolean
  /** How often mailboxes are read, and failed sends retried (tests shorten them). */
  fetchIntervalMs?: number
  retryIntervalMs?: number
}

/** How often the prekey rotation schedule is checked. */
const PREKEY_CHECK_INTERVAL_MS = 6 * 60 * 60_000

/** How many attachment requests `status` remembers. */
const MAX_SERVED_LOG = 100

/** One attachment request this device served: which chunk ranges a peer asked for. */
export interface ServedRequest {
  peer: string
  id: string
  ranges: Array<[number, number]>
}

/** A running daemon. */
export class Daemon {
  readonly apiUrl: string
  private constructor (
    readonly node: StarlingLibp2p,
    readonly identity: LocalIdentity,
    readonly directory: Directory,
    readonly reservations: RelayReservations,
    readonly messenger: Messenger,
    private readonly served: ServedRequest[],
    private readonly transport: Libp2pTransport,
    private readonly store: Store,
    private readonly api: ApiServer,
    private readonly init: DaemonInit,
    apiUrl: string
  ) {
    this.apiUrl = apiUrl
  }

  /** Loads the identity and starts everything; writes api.json last. */
  static async start (init: DaemonInit): Promise<Daemon> {
    const { crypto, dataDir } = init
    // Everything in the data directory is the user's alone, including what is written from now on.
    await makePrivate(dataDir)
    await refuseIfRunning(dataDir)
    const identity = await loadIdentity(crypto, dataDir, init.passphrase)
    await encryptKeyFileIfPlain(crypto, dataDir, identity, init.passphrase)
    // With the key file encrypted, the message store and attachments are too (node/at-rest.ts).
    const atRest = identity.encrypted ? identity.identitySecretKey : undefined
    const { validators, selectors } = starlingDhtValidators(crypto, { now: Date.now })
    // Relays on loopback or a LAN: keep private addresses in DHT answers.
    const local = allLocal(init.bootstrap)
    const self: { messenger?: Messenger, daemon?: Daemon } = {}
    const served: ServedRequest[] = []
    const blobs: FileBlobStore = await openUserBlobs(crypto, dataDir, atRest)
    const store = await openUserStore(crypto, dataDir, atRest)
    const node = await createStarlingNode({
      privateKey: identity.devicePrivateKey,
      role: 'user',
      transports: nodeTransports(),
      noiseCrypto: nodeNoiseCrypto(),
      listen: init.listen,
      bootstrap: init.bootstrap,
      validators,
      selectors,
      loopback: local,
      dhtServer: init.dhtServer,
      reprovideIntervalMs: init.recordLifetimeMs != null ? Math.max(1_000, init.recordLifetimeMs / 2) : undefined,
      extraServices: {
        attachment: attachmentProtocol({
          authorise: async (id, peer) => await self.messenger?.attachments?.authorise(id, peer) ?? false,
          onRequest: (peer, id, ranges) => {
            served.push({ peer: peer.toString(), id: Buffer.from(id).toString('hex'), ranges: ranges.map(r => [r.start, r.end]) })
            if (served.length > MAX_SERVED_LOG) served.shift()
          },
          source: blobStoreSource(crypto, blobs, async (id) => self.messenger?.attachments?.descriptor(id))
        })
      }
    })
    const directory = new Directory(node, crypto, {
      handleName: identity.handleName,
      accountSecretKey: identity.accountSecretKey,
      accountPublicKey: identity.accountPublicKey,
      devicePrivateKey: identity.devicePrivateKey,
      identityKey: identity.identityPublicKey,
      prekeys: () => publicPrekeys(identity.prekeys)
    }, { recordLifetimeMs: init.recordLifetimeMs })
    const relays = init.bootstrap.map(b => ({ peerId: peerIdFromString(multiaddr(b).getComponents().findLast(c => c.name === 'p2p')?.value ?? ''), addrs: [multiaddr(b)] }))
    const hooks = testHooks(process.env)
    const transport = new Libp2pTransport(node, {
      deviceKey: identity.devicePrivateKey,
      onEnvelope: async (envelope, from) => {
        if (self.messenger == null) throw new Error('not started')
        await self.messenger.receiveDirect(envelope, from)
      }
    })
    const messenger = new Messenger({
      crypto,
      store,
      directory,
      transport: faultyTransport(transport, process.env.STARLING_TEST_FAULTS),
      identity: {
        handleName: identity.handleName,
        tag: identity.tag,
        accountSecretKey: identity.accountSecretKey,
        accountPublicKey: identity.accountPublicKey,
        peerId: identity.peerId,
        identityKey: { secretKey: identity.identitySecretKey, publicKey: identity.identityPublicKey },
        identityKeySignature: await crypto.ed25519.sign(identity.accountSecretKey, prekeySignaturePayload(PrekeyKind.identity, 0, identity.identityPublicKey)),
        prekeys: () => identity.prekeys,
        deviceRecord: () => directory.lastDeviceRecord
      },
      relays: () => relays,
      attachments: {
        blobs,
        download: async (peer, d, signal) => {
          // Large attachments only cross direct connections, never relays.
          const device = await self.messenger?.device(peer)
          const direct = (device?.addrs ?? []).filter(a => !a.toString().includes('/p2p-circuit'))
          await downloadAttachment(node, direct.length > 0 ? direct : peer, d, blobs, { crypto, signal })
        }
      },
      now: hooks.now,
      fetchIntervalMs: init.fetchIntervalMs ?? hooks.fetchIntervalMs,
      retryIntervalMs: init.retryIntervalMs ?? hooks.retryIntervalMs
    })
    self.messenger = messenger
    // A device that connects may be one whose messages wait: they go at once.
    node.addEventListener('peer:connect', (evt) => { messenger.reachable(evt.detail) })
    const reservations = new RelayReservations(node, {
      relays: init.bootstrap,
      onReserved: () => {
        directory.publishSoon()
        messenger.fetchSoon()
      }
    })
    const api = new ApiServer({
      host: init.api.host,
      port: init.api.port,
      methods: {
        whoami: async () => self.daemon?.whoami(),
        status: async () => self.daemon?.status(),
        resolve: async (params) => {
          if (typeof params.handle !== 'string') throw new TypeError('resolve needs a handle')
          return resolutionToJson(await directory.resolve(params.handle))
        },
        ...messagingMethods(messenger, crypto, blobs, async (path, passphrase) => exportBackup(crypto, store, dataDir, path, passphrase))
      }
    })
    for (const type of ['message', 'status', 'typing', 'key-change', 'attachment', 'relay-refused']) {
      messenger.addEventListener(type, (evt) => { api.emit((evt as CustomEvent<Record<string, unknown>>).detail) })
    }
    const apiUrl = await api.start()
    const daemon = new Daemon(node, identity, directory, reservations, messenger, served, transport, store, api, init, apiUrl)
    self.daemon = daemon
    await transport.start()
    await messenger.start()
    reservations.start()
    await daemon.rotatePrekeys()
    directory.start()
    daemon.rotationTimer = setInterval(() => { daemon.rotatePrekeys().catch(() => {}) }, PREKEY_CHECK_INTERVAL_MS)
    const info: ApiInfo = { url: apiUrl, token: api.token, pid: process.pid }
    await writePrivateFile(join(dataDir, Files.api), JSON.stringify(info))
    return daemon
  }

  /** Who this device is. */
  whoami (): Record<string, unknown> {
    const id = this.identity
    return {
      handle: formatHandle(id.handleName, id.tag),
      name: id.handleName,
      tag: id.tag,
      peerId: id.peerId.toString(),
      fingerprint: accountFingerprint(this.init.crypto, id.accountPublicKey),
      multiaddrs: this.node.getMultiaddrs().map(String)
    }
  }

  /** Connections, relay reservations, DHT routing table, publication state. */
  status (): Record<string, unknown> {
    return {
      peerId: this.node.peerId.toString(),
      connections: this.node.getConnections().map(c => ({ peerId: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction, limited: c.limits != null })),
      reservations: this.reservations.status(),
      routingTableSize: routingTableSize(this.node),
      published: this.directory.lastPublished ?? null,
      publishError: this.directory.lastError ?? null,
      outbox: this.messenger.delivery.size,
      received: this.messenger.received,
      attachmentRequests: this.served,
      multiaddrs: this.node.getMultiaddrs().map(String)
    }
  }

  /** Set by start: checks the prekeys' rotation schedule. */
  rotationTimer?: ReturnType<typeof setInterval>

  /** Rotates the signed and KEM prekeys when due, saves them, and republishes the device record. */
  async rotatePrekeys (): Promise<void> {
    if (await rotateIfDue(this.init.crypto, this.init.dataDir, this.identity, this.init.passphrase)) this.directory.publishSoon()
  }

  async stop (): Promise<void> {
    clearInterval(this.rotationTimer)
    this.directory.stop()
    this.reservations.stop()
    await removeIfExists(join(this.init.dataDir, Files.api))
    await this.api.stop()
    await this.messenger.stop()
    await this.transport.stop()
    await this.node.stop()
    await this.store.close()
  }
}

/** A resolution as plain JSON. */
export function resolutionToJson (r: Resolution): Record<string, unknown> {
  return {
    query: r.query,
    unique: r.unique,
    claims: r.claims.map(c => ({
      handle: c.handle,
      fingerprint: c.fingerprint,
      accountKey: Buffer.from(c.accountKey).toString('hex'),
      devices: c.devices.map(d => ({ peerId: d.peerId.toString(), addrs: d.addrs, online: d.record != null }))
    }))
  }
}

/**
 * Test hooks read from the environment, never set in production:
 * STARLING_FETCH_INTERVAL_MS and STARLING_RETRY_INTERVAL_MS shorten how often
 * mailboxes are read and failed sends retried; STARLING_TEST_CLOCK_SKEW_MS
 * shifts the messenger's clock (message timestamps, outbox times) by that
 * many milliseconds, as a device with a wrong clock would.
 */
function testHooks (env: NodeJS.ProcessEnv): { fetchIntervalMs?: number, retryIntervalMs?: number, now?: () => number } {
  const number = (name: string): number | undefined => {
    const raw = env[name]
    if (raw == null || raw === '') return undefined
    const n = Number(raw)
    if (!Number.isFinite(n)) throw new CommandError(`${name} must be a number, got ${raw}`)
    return n
  }
  const positive = (name: string): number | undefined => {
    const n = number(name)
    if (n != null && n <= 0) throw new CommandError(`${name} must be > 0, got ${n}`)
    return n
  }
  const skew = number('STARLING_TEST_CLOCK_SKEW_MS')
  return {
    fetchIntervalMs: positive('STARLING_FETCH_INTERVAL_MS'),
    retryIntervalMs: positive('STARLING_RETRY_INTERVAL_MS'),
    now: skew != null && skew !== 0 ? () => Date.now() + skew : undefined
  }
}

async function refuseIfRunning (dataDir: string): Promise<void> {
  const raw = await readOptional(join(dataDir, Files.api))
  if (raw == null) return
  let pid: number | undefined
  try {
    pid = (JSON.parse(raw.toString('utf8')) as ApiInfo).pid
  } catch {
    return
  }
  if (pid != null && pid !== process.pid && isAlive(pid)) {
    throw new CommandError(`a daemon is already running for ${dataDir} (pid ${pid})`)
  }
}

function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}
