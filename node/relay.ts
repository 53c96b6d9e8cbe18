/**
 * `starling relay`: the process a community operator runs. TCP and WebSocket
 * listeners, a DHT server on /starling/kad/1.0.0 whose records survive
 * restarts (LevelDB datastore), a circuit relay v2 server with limits set
 * for messaging and reservations limited per source, gossipsub mailbox
 * shards shared only with the relays it is linked with (`--peer`), the
 * signed list of those relays (`/starling/relays/1.0.0`), and
 * `/starling/store/2.0.0` (sealed envelopes held for offline devices in
 * LevelDB, with a storage budget in all and per source, mailbox quotas
 * shared out per source, and retention), anti-entropy with the linked relays
 * on `/starling/relay-sync/1.0.0` (at start, when one connects, and every few
 * minutes), identify and ping. Keeps its peer id, its envelopes and its
 * tombstones across restarts. Given a `/webrtc-direct` listen address, it
 * also listens on WebRTC-direct for browsers, with its certificates kept in
 * the data directory (src/net/webrtc-direct).
 */
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { gossipsub } from '@libp2p/gossipsub'
import { createStarlingNode } from '../src/net/node.js'
import type { StarlingLibp2p } from '../src/net/node.js'
import { starlingDhtValidators } from '../src/identity/index.js'
import { EnvelopeStore, RelaySet, mailboxGossipsubOptions, mailboxRelay, relaySync } from '../src/relay/index.js'
import type { Budgets, ExchangeResult, MailboxRelay, RelaySync } from '../src/relay/index.js'
import type { ChannelStats } from '../src/protocols/relay-sync/index.js'
import type { PeerId } from '@libp2p/interface'
import { relaySetServer } from '../src/protocols/relays/index.js'
import type { RateLimitInit } from '../src/protocols/store/index.js'
import { LevelStore } from '../src/store/index.js'
import { multiaddr } from '@multiformats/multiaddr'
import { isWebRTCDirect } from '../src/net/webrtc-direct/addresses.js'
import { WebRTCDirectCertificates } from '../src/net/webrtc-direct/certificates.js'
import { WebRTCDirectCertificateError } from '../src/net/webrtc-direct/errors.js'
import type { CertificateStorage } from '../src/net/webrtc-direct/stored.js'
import type { RelayWebRTCDirect } from '../src/net/webrtc-direct/relay-transport.js'
import { Files, makePrivate, readOptional, writePrivateFile } from './data-dir.js'
import { TlsFiles } from './tls-files.js'
import { allLocal, loadOrCreatePeerKey, nodeCrypto, nodeNoiseCrypto, nodeTransports } from './platform.js'

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
}

export interface RelayInit {
  dataDir: string
  listen: string[]
  announce: string[]
  /**
   * The relays this one is linked with, each ending in `/p2p/<peer id>`: one
   * DHT and one mailbox gossip mesh among them. Gossip is taken only from
   * these (each operator lists the other).
   */
  peers?: string[]
  limits?: RelayLimits
  /** Time between exchanges with each linked relay (default SYNC_INTERVAL_MS; tests shorten it). */
  syncIntervalMs?: number
  /** Called after each exchange with a linked relay (not one that failed), with what it carried. */
  onSync?: (peer: PeerId, result: ExchangeResult, stats: ChannelStats) => void
  /** PEM certificate chain and key for secure WebSocket listeners (`/tls/ws` or `/wss` listen addresses). */
  tls?: { certFile: string, keyFile: string }
}

/** A running relay. */
export interface Relay {
  node: StarlingLibp2p
  /** The offline-message service (store protocol, mailbox gossip, metrics). */
  mailbox: MailboxRelay
  /** Anti-entropy with the linked relays (metrics, exchanges on demand). */
  sync: RelaySync
  /** The relays this one is linked with. */
  relaySet: RelaySet
  /** WebRTC-direct, when a listen address asked for it: its certificates and handshake budget. */
  webRTCDirect?: { certificates: WebRTCDirectCertificates, handshakes: RelayWebRTCDirect['handshakes'] }
  /** Reads the TLS certificate files again (resolves true when they changed); false when there are none. */
  reloadTls(): Promise<boolean>
  stop(): Promise<void>
}

/** Starts a relay. */
export async function startRelay (init: RelayInit): Promise<Relay> {
  // Before anything is opened: a --peer without /p2p/<id> is refused at once.
  const relaySet = RelaySet.fromMultiaddrs(init.peers ?? [])
  // The relay's key, DHT records and envelopes are the operator's alone, now and in what is written later.
  await makePrivate(init.dataDir)
  const privateKey = await loadOrCreatePeerKey(join(init.dataDir, Files.relayKey))
  const datastore = new LevelDatastore(join(init.dataDir, Files.datastore))
  await datastore.open()
  const store = new LevelStore(join(init.dataDir, Files.store))
  await store.open()
  const envelopes = new EnvelopeStore(store, init.limits?.storage)
  const crypto = nodeCrypto()
  const { validators, selectors } = starlingDhtValidators(crypto, { now: Date.now })
  const local = allLocal([...init.listen, ...init.announce, ...(init.peers ?? [])])
  let node: StarlingLibp2p
  let webRTCDirect: { certificates: WebRTCDirectCertificates, transport: RelayWebRTCDirect } | undefined
  const tls = init.tls != null ? new TlsFiles(init.tls.certFile, init.tls.keyFile) : undefined
  try {
    await tls?.start()
    webRTCDirect = await startWebRTCDirect(init)
    const transports = nodeTransports(tls?.serverOptions())
    node = await createStarlingNode({
      privateKey,
      role: 'relay',
      transports: webRTCDirect != null ? [...transports, webRTCDirect.transport.transport] : transports,
      noiseCrypto: nodeNoiseCrypto(),
      listen: init.listen,
      announce: init.announce,
      announceFilter: webRTCDirect?.transport.announceFilter,
      bootstrap: init.peers,
      validators,
      selectors,
      loopback: local,
      datastore,
      reservations: init.limits?.reservations,
      connections: init.limits?.connections,
      extraServices: {
        // Same-IP penalties break meshes when many peers share 127.0.0.1.
        pubsub: gossipsub(mailboxGossipsubOptions({ loopback: local, relaySet })),
        // After pubsub: the mailbox service takes gossipsub from the components.
        mailbox: mailboxRelay({ store: envelopes, relaySet, rateLimit: init.limits?.rateLimit }),
        relaySet: relaySetServer({ relays: () => relaySet.linked }),
        sync: relaySync({ store: envelopes, relaySet, intervalMs: init.syncIntervalMs, onExchange: init.onSync })
      }
    })
  } catch (err) {
    tls?.stop()
    webRTCDirect?.certificates.stop()
    await store.close()
    await datastore.close()
    throw err
  }
  return {
    node,
    mailbox: node.services.mailbox as MailboxRelay,
    sync: node.services.sync as RelaySync,
    relaySet,
    webRTCDirect: webRTCDirect != null ? { certificates: webRTCDirect.certificates, handshakes: webRTCDirect.transport.handshakes } : undefined,
    async reloadTls () {
      return await (tls?.reload() ?? Promise.resolve(false))
    },
    async stop () {
      tls?.stop()
      webRTCDirect?.certificates.stop()
      await node.stop()
      await store.close()
      await datastore.close()
    }
  }
}

/**
 * WebRTC-direct when a listen address asks for it: the certificates kept in
 * `DIR/webrtc-direct.json` (mode 0600, written atomically before use),
 * started (loaded, renewed if due), and the transport. `@libp2p/webrtc`
 * (and its native module) is loaded only then: it adds ~0.4 s to start-up.
 */
async function startWebRTCDirect (init: RelayInit): Promise<{ certificates: WebRTCDirectCertificates, transport: RelayWebRTCDirect } | undefined> {
  if (!init.listen.some(a => isWebRTCDirect(multiaddr(a)))) return undefined
  const path = join(init.dataDir, Files.webRTCDirectCertificates)
  const certificates = new WebRTCDirectCertificates({ storage: certificateFile(path) })
  try {
    await certificates.start()
  } catch (err) {
    if (!(err instanceof WebRTCDirectCertificateError)) throw err
    // Never replaced silently: new certificates change the address people were given.
    throw new WebRTCDirectCertificateError(`${path}: ${err.message}; move it away to make new certificates (the relay's WebRTC-direct address then changes)`)
  }
  const { relayWebRTCDirect } = await import('../src/net/webrtc-direct/relay-transport.js')
  return { certificates, transport: relayWebRTCDirect({ certificates }) }
}

/** Certificate storage in one file of the data directory, readable by the operator alone. */
export function certificateFile (path: string): CertificateStorage {
  return {
    async load () { return await readOptional(path) },
    async save (data) { await writePrivateFile(path, data) }
  }
}
