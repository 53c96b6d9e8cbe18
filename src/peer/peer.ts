/**
 * The one composition root of a user's peer (DESIGN.md, Layers and
 * folders): from a platform's pieces (platform.ts) it builds, in dependency
 * order, the identity, the stores, the libp2p node, the directory, the
 * messenger over the network adapter, the servers of the direct path and
 * of attachments, and the relay reservations; {@link StarlingPeer.start}
 * and {@link StarlingPeer.stop} start and stop them in order. node/ (the
 * daemon) and web/ (the app) differ only in the pieces they pass.
 *
 * @example
 * ```ts
 * const peer = await createStarlingPeer(platform, { bootstrap: [relay], listen: [] })
 * await peer.start()
 * await peer.messenger.send('bob~k3x7abcd2q', { kind: 'text', text: 'hi' })
 * peer.whoami()
 * await peer.stop()
 * ```
 */
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Crypto } from '../crypto/index.js'
import { publicPrekeys } from '../crypto/prekeys.js'
import { PrekeyKind, prekeySignaturePayload } from '../crypto/prekey-signature.js'
import { starlingDhtValidators } from '../identity/index.js'
import { createStarlingNode, routingTableSize } from '../net/node.js'
import type { StarlingLibp2p } from '../net/node.js'
import type { DhtMaintenance } from '../net/dht-maintenance.js'
import { Directory } from '../net/directory.js'
import { RelayReservations } from '../net/reservations.js'
import { HideIp } from '../net/hide-ip.js'
import { DmServer } from '../protocols/dm/index.js'
import { AttachmentProtocol } from '../protocols/attachment/index.js'
import type { Store } from '../store/index.js'
import { Messenger, backupFileIds, collectBackup, writeBackup } from '../messenger/index.js'
import type { DeliveryTransport, MessengerInit } from '../messenger/index.js'
import { blobStoreSource, downloadAttachment } from '../messenger/attachments/index.js'
import type { BlobStore } from '../messenger/attachments/index.js'
import { toHex } from '../messenger/bytes.js'
import { encryptKeyFileIfPlain, loadIdentity, rotateIfDue } from './identity.js'
import type { LocalIdentity } from './identity.js'
import type { PeerPlatform } from './platform.js'
import { Libp2pTransport } from './delivery-transport.js'
import { resolutionView, whoamiView } from './views.js'
import type { PeerStatus, ResolutionView, ServedRequest, WhoAmI } from './views.js'
import { NoIdentityError } from './errors.js'
import { PeerCalls } from './calls.js'
import type { PeerCallOptions } from './calls.js'

/** How often the prekey rotation schedule is checked. */
export const PREKEY_CHECK_INTERVAL_MS = 6 * 60 * 60_000

/** How many attachment requests {@link StarlingPeer.status} remembers. */
export const MAX_SERVED_LOG = 100

/** Messenger options a peer's host may set (tests shorten intervals, skew its clock). */
export type PeerMessengerOptions = Partial<Pick<MessengerInit,
'now' | 'fetchIntervalMs' | 'retryIntervalMs' | 'retentionMs' | 'directTimeoutMs' | 'skipBudget' | 'attachmentLimits'>>

/** What a peer is asked to be, beyond its platform. */
export interface StarlingPeerInit {
  /** The relays to connect to and hold a reservation on, each ending in `/p2p/<peer id>`. */
  bootstrap: string[]
  /** Addresses to listen on for peers (a browser has none). */
  listen: string[]
  /** Opens the key file (and encrypts it, if it was stored in the clear). */
  passphrase?: string
  /** Relays on loopback or a LAN: keep private addresses in DHT answers. */
  loopback?: boolean
  /** Serve DHT records for others too. */
  dhtServer?: boolean
  /** Lifetime of published records (tests shorten it). */
  recordLifetimeMs?: number
  /** How often each connection is pinged (src/net/node.ts; a simulation under time dilation stretches it). */
  keepAliveIntervalMs?: number
  /** kad-dht's background lookups (src/net/dht-maintenance.ts); kad-dht's defaults when absent. */
  dhtMaintenance?: DhtMaintenance
  messenger?: PeerMessengerOptions
  /** A test hook may wrap the network the messenger sees (drop, delay, duplicate). */
  wrapTransport?(transport: DeliveryTransport): DeliveryTransport
  /** Call settings (when the platform makes peer connections). */
  calls?: PeerCallOptions
  /**
   * Hide my IP from the start (DESIGN.md, Calls; src/net/hide-ip.ts): only
   * relayed addresses in the device record, no direct connections to
   * anyone but our relays, call media through TURN. `calls.hideMyIp` is
   * read too, for hosts that set it there. {@link StarlingPeer.setHideIp}
   * changes it while the peer runs.
   */
  hideIp?: boolean
}

/** What a peer is made of, in the order it was built. */
interface PeerParts<B extends BlobStore> {
  crypto: Crypto
  now: () => number
  platform: PeerPlatform<B>
  passphrase?: string
  identity: LocalIdentity
  blobs: B
  store: Store
  node: StarlingLibp2p
  directory: Directory
  transport: Libp2pTransport
  messenger: Messenger
  dm: DmServer
  attachments: AttachmentProtocol
  reservations: RelayReservations
  served: ServedRequest[]
  hideIp: HideIp
  calls?: PeerCalls
}

/**
 * Builds a peer from its platform's pieces: loads the identity (the key
 * file encrypted first when a passphrase is given and it was not), opens
 * the stores, creates the node, and wires the rest. Nothing is started but
 * the node; {@link StarlingPeer.start} starts the rest. What was opened is
 * closed again when a step fails.
 */
export async function createStarlingPeer<B extends BlobStore> (platform: PeerPlatform<B>, init: StarlingPeerInit): Promise<StarlingPeer<B>> {
  const { crypto } = platform
  const now = platform.now ?? Date.now
  const identity = await loadIdentity(crypto, platform.keys, init.passphrase)
  await encryptKeyFileIfPlain(crypto, platform.keys, identity, init.passphrase)
  // With the key file encrypted, the message store and attachments are too.
  const atRest = identity.encrypted ? identity.identitySecretKey : undefined
  const blobs = await platform.openBlobs(atRest)
  const store = await platform.openStore(atRest)
  try {
    return new StarlingPeer(await assemble({ crypto, now, platform, passphrase: init.passphrase, identity, blobs, store }, init))
  } catch (err) {
    await store.close().catch(() => {})
    throw err
  }
}

/** The node and everything over it, in dependency order. */
async function assemble<B extends BlobStore> (parts: Pick<PeerParts<B>, 'crypto' | 'now' | 'platform' | 'passphrase' | 'identity' | 'blobs' | 'store'>, init: StarlingPeerInit): Promise<PeerParts<B>> {
  const { crypto, now, platform, identity, blobs, store } = parts
  const { validators, selectors } = starlingDhtValidators(crypto, { now })
  const relays = init.bootstrap.map(relayRef)
  // Our own relays until the messenger knows the rest of their network (below).
  const hideIp = new HideIp({ enabled: init.hideIp ?? init.calls?.hideMyIp, relays: () => relays.map(r => r.peerId.toString()) })
  const node = await createStarlingNode({
    privateKey: identity.devicePrivateKey,
    role: 'user',
    transports: platform.transports(),
    noiseCrypto: platform.noiseCrypto,
    connectionGater: platform.connectionGater,
    hideIp,
    holePunching: platform.holePunching,
    listen: init.listen,
    bootstrap: init.bootstrap,
    validators,
    selectors,
    loopback: init.loopback,
    dhtServer: init.dhtServer,
    keepAliveIntervalMs: init.keepAliveIntervalMs,
    dhtMaintenance: init.dhtMaintenance,
    reprovideIntervalMs: init.recordLifetimeMs != null ? Math.max(1_000, init.recordLifetimeMs / 2) : undefined
  })
  try {
    const directory = new Directory(node, crypto, {
      handleName: identity.handleName,
      accountSecretKey: identity.accountSecretKey,
      accountPublicKey: identity.accountPublicKey,
      devicePrivateKey: identity.devicePrivateKey,
      identityKey: identity.identityPublicKey,
      prekeys: () => publicPrekeys(identity.prekeys)
    }, { recordLifetimeMs: init.recordLifetimeMs, now })
    const transport = new Libp2pTransport(node, { deviceKey: identity.devicePrivateKey, store: { ed25519: crypto.ed25519, sha256: crypto.hash.sha256 } })
    const messenger = new Messenger({
      crypto,
      store,
      directory,
      transport: init.wrapTransport?.(transport) ?? transport,
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
        download: async (peer, d, signal, addrs) => { await downloadAttachment(node, addrs.length > 0 ? addrs : peer, d, blobs, { crypto, signal }) }
      },
      ...init.messenger,
      now: init.messenger?.now ?? now
    })
    hideIp.useRelays(() => messenger.networkRelays().map(r => r.peerId.toString()))
    // Envelopes that arrive directly are the messenger's; resolved once stored.
    const dm = new DmServer(node, { onEnvelope: async (envelope, from) => { await messenger.receiveDirect(envelope, from) } })
    const served: ServedRequest[] = []
    const attachments = new AttachmentProtocol({ registrar: node }, {
      authorise: async (id, peer) => await messenger.attachments?.authorise(id, peer) ?? false,
      onRequest: (peer, id, ranges) => {
        served.push({ peer: peer.toString(), id: toHex(id), ranges: ranges.map(r => [r.start, r.end]) })
        if (served.length > MAX_SERVED_LOG) served.shift()
      },
      source: blobStoreSource(crypto, blobs, async (id) => messenger.attachments?.descriptor(id))
    })
    const calls = platform.createPeerConnection == null
      ? undefined
      : new PeerCalls({ crypto, node, directory, messenger, createPeerConnection: platform.createPeerConnection, attachMedia: platform.attachCallMedia, relays, name: identity.handleName, now, options: init.calls, hideIp: () => hideIp.enabled })
    const reservations = new RelayReservations(node, {
      relays: init.bootstrap,
      onReserved: () => {
        directory.publishIfAddressesChanged()
        messenger.fetchSoon()
        calls?.prefetchIceServers()
      }
    })
    return { ...parts, node, directory, transport, messenger, dm, attachments, reservations, served, hideIp, calls }
  } catch (err) {
    try {
      await node.stop()
    } catch {
      // The assembly's error is the one to report.
    }
    throw err
  }
}

/** A relay multiaddr (ending in `/p2p/<peer id>`) as the messenger takes it. */
function relayRef (addr: string): { peerId: PeerId, addrs: Multiaddr[] } {
  const ma = multiaddr(addr)
  const id = ma.getComponents().findLast(c => c.name === 'p2p')?.value
  if (id == null) throw new RangeError(`relay address ${addr} has no /p2p/<peer id>`)
  return { peerId: peerIdFromString(id), addrs: [ma] }
}

/** A user's peer, assembled. */
export class StarlingPeer<B extends BlobStore = BlobStore> {
  readonly crypto: Crypto
  readonly identity: LocalIdentity
  readonly node: StarlingLibp2p
  readonly directory: Directory
  readonly reservations: RelayReservations
  readonly messenger: Messenger
  readonly store: Store
  readonly blobs: B
  /** Voice and video calls, when the platform makes peer connections. */
  readonly calls?: PeerCalls
  private readonly parts: PeerParts<B>
  private rotationTimer?: ReturnType<typeof setInterval>
  /** DCUtR started or stopped to match hide my IP, one change at a time (each takes a few awaits). */
  private dcutrSynced: Promise<void> = Promise.resolve()
  private readonly onConnect = (evt: CustomEvent<PeerId>): void => { this.messenger.reachable(evt.detail) }

  constructor (parts: PeerParts<B>) {
    this.parts = parts
    this.crypto = parts.crypto
    this.identity = parts.identity
    this.node = parts.node
    this.directory = parts.directory
    this.reservations = parts.reservations
    this.messenger = parts.messenger
    this.store = parts.store
    this.blobs = parts.blobs
    this.calls = parts.calls
  }

  /**
   * Starts, in order: the network adapter and the servers (direct messages,
   * attachments, calls), the messenger (outbox, mailboxes), the reservations, the
   * prekeys' rotation and the directory's publishing.
   */
  async start (): Promise<void> {
    const { transport, dm, attachments } = this.parts
    transport.start()
    await dm.start()
    await attachments.start()
    await this.calls?.start()
    await this.messenger.start()
    // A device that connects may be one whose messages wait: they go at once.
    this.node.addEventListener('peer:connect', this.onConnect)
    this.reservations.start()
    await this.rotatePrekeys()
    this.directory.start()
    this.rotationTimer = setInterval(() => { this.rotatePrekeys().catch(() => {}) }, PREKEY_CHECK_INTERVAL_MS)
  }

  /** Stops everything in the reverse order, then the node, then closes the store. */
  async stop (): Promise<void> {
    const { transport, dm, attachments } = this.parts
    clearInterval(this.rotationTimer)
    this.directory.stop()
    this.reservations.stop()
    this.node.removeEventListener('peer:connect', this.onConnect)
    await this.calls?.stop()
    await this.messenger.stop()
    await attachments.stop()
    await dm.stop()
    await transport.stop()
    await this.node.stop()
    await this.store.close()
  }

  /** Whether hide my IP is on. */
  get hideIp (): boolean {
    return this.parts.hideIp.enabled
  }

  /**
   * Turns hide my IP on or off while the peer runs. On: direct connections
   * to anyone but our relays are closed (the next message or call goes
   * through a relay), and the device record is published again with only
   * relayed addresses. Off: the record is published again with all of them.
   * A contact who already saw an address before it was turned on keeps it.
   */
  async setHideIp (enabled: boolean): Promise<void> {
    const { hideIp } = this.parts
    const changed = hideIp.enabled !== enabled
    hideIp.set(enabled)
    // DCUtR does not run with hide my IP (its dials would be refused, but it would still open its streams on every
    // relayed connection and send its CONNECT); a node made with the setting on has none to start again.
    // One start or stop at a time, each reading the setting when its turn comes: a call made while another's start
    // was under way read isStarted() as false, and left DCUtR running with the setting on.
    const dcutr = this.node.services.dcutr as { isStarted(): boolean, start(): Promise<void>, stop(): Promise<void> } | undefined
    this.dcutrSynced = this.dcutrSynced.catch(() => {}).then(async () => {
      if (dcutr == null || dcutr.isStarted() !== hideIp.enabled) return
      if (hideIp.enabled) await dcutr.stop()
      else await dcutr.start()
    })
    await this.dcutrSynced
    if (enabled) {
      await Promise.all(this.node.getConnections()
        .filter(c => !hideIp.allowsConnection(c.remotePeer, c.remoteAddr))
        .map(async c => { await c.close().catch(() => { c.abort(new Error('hide my IP: direct connection closed')) }) }))
    }
    if (changed) this.directory.publishSoon()
  }

  /** Rotates the signed and KEM prekeys when due, saves them, and republishes the device record. */
  async rotatePrekeys (): Promise<void> {
    const { crypto, platform, identity, passphrase, now } = this.parts
    if (await rotateIfDue(crypto, platform.keys, identity, { passphrase, now })) this.directory.publishSoon()
  }

  /** Who this device is. */
  whoami (): WhoAmI {
    return whoamiView(this.crypto, this.identity, this.node.getMultiaddrs().map(String))
  }

  /** Connections, relay reservations, DHT routing table, publication state, outbox, what was received and served. */
  status (): PeerStatus {
    return {
      peerId: this.node.peerId.toString(),
      connections: this.node.getConnections().map(c => ({ peerId: c.remotePeer.toString(), addr: c.remoteAddr.toString(), direction: c.direction, limited: c.limits != null })),
      reservations: this.reservations.status(),
      routingTableSize: routingTableSize(this.node),
      published: this.directory.lastPublished ?? null,
      publishError: this.directory.lastError ?? null,
      outbox: this.messenger.delivery.size,
      unrelayed: this.messenger.delivery.unrelayed,
      received: this.messenger.received,
      attachmentRequests: this.parts.served,
      multiaddrs: this.node.getMultiaddrs().map(String)
    }
  }

  /** Who a handle is: every valid claim of a bare name, or the one of a `name~tag`. */
  async resolve (handle: string): Promise<ResolutionView> {
    return resolutionView(await this.directory.resolve(handle))
  }

  /**
   * An encrypted backup of the identity, contacts and history, never
   * ratchet states (src/messenger/backup.ts), under `passphrase`, with the
   * files of attachments unless `files` is false: `pieces` yields the file
   * a piece at a time (backup-format.ts), never the files all in memory.
   */
  async backup (passphrase: string, options: { files?: boolean } = {}): Promise<{ pieces: AsyncIterable<Uint8Array>, entries: number, files: number }> {
    const keyFile = await this.parts.platform.keys.read()
    if (keyFile == null) throw new NoIdentityError('the key file is gone')
    const contents = await collectBackup(this.store, keyFile)
    const ids = options.files === false ? [] : await backupFileIds(contents, this.blobs)
    return { pieces: writeBackup(this.crypto, contents, passphrase, { files: { blobs: this.blobs, ids } }), entries: contents.entries.length, files: ids.length }
  }
}
