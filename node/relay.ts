/**
 * `starling relay`: a community relay. One process: TCP and WebSocket
 * listeners, a DHT server (the user nodes are DHT clients), a circuit relay
 * v2 server with limits set for messaging, the mailbox store
 * (`/starling/store/3.0.0`) with gossipsub mailbox shards among the relays
 * it is linked with (`--peer`, both ways), budgets per source (storage,
 * reservations, connections, request rates; a mailbox's quota shared out
 * per source, and retention), anti-entropy with the linked relays
 * on `/starling/relay-sync/1.0.0` (at start, when one connects, and every few
 * minutes), identify and ping. Keeps its peer id, its envelopes and its
 * tombstones across restarts. Given a `/webrtc-direct` listen address, it
 * also listens on WebRTC-direct for browsers, with its certificates kept in
 * the data directory (src/net/webrtc-direct).
 *
 * The relay is assembled in src/peer/relay.ts ({@link createStarlingRelay});
 * this file gives it Node's pieces: TCP and WebSockets (TLS from files when
 * asked), WebRTC-direct with stored certificates, node:crypto, the key file,
 * LevelDB for the envelopes and the DHT's records, all in the data directory.
 */
import { join } from 'node:path'
import { RelayDatastore } from './relay-datastore.js'
import { multiaddr } from '@multiformats/multiaddr'
import { createStarlingRelay } from '../src/peer/relay.js'
import type { RelayPlatform, StarlingRelay, StarlingRelayInit } from '../src/peer/relay.js'
import { RelaySet } from '../src/relay/index.js'
import { LevelStore } from '../src/store/index.js'
import { isWebRTCDirect } from '../src/net/webrtc-direct/addresses.js'
import { WebRTCDirectCertificates } from '../src/net/webrtc-direct/certificates.js'
import { WebRTCDirectCertificateError } from '../src/net/webrtc-direct/errors.js'
import type { CertificateStorage } from '../src/net/webrtc-direct/stored.js'
import type { RelayWebRTCDirect } from '../src/net/webrtc-direct/relay-transport.js'
import { Files, makePrivate, readOptional, writePrivateFile } from './data-dir.js'
import { TlsFiles } from './tls-files.js'
import { allLocal, loadOrCreatePeerKey, nodeCrypto, nodeNoiseCrypto, nodeTransports } from './platform.js'

export type { RelayLimits } from '../src/peer/relay.js'

export interface RelayInit extends Omit<StarlingRelayInit, 'loopback' | 'sweepIntervalMs'> {
  dataDir: string
  /** PEM certificate chain and key for secure WebSocket listeners (`/tls/ws` or `/wss` listen addresses). */
  tls?: { certFile: string, keyFile: string }
  /** libp2p's metrics and the store's request timings, when the operator scrapes them (relay-ops/metrics.ts). */
  metrics?: Pick<RelayPlatform, 'metrics' | 'onStoreRequest'>
}

/** A running relay. */
export interface Relay extends StarlingRelay {
  /** WebRTC-direct, when a listen address asked for it: its certificates and handshake budget. */
  webRTCDirect?: { certificates: WebRTCDirectCertificates, handshakes: RelayWebRTCDirect['handshakes'] }
  /** Reads the TLS certificate files again (resolves true when they changed); false when there are none. */
  reloadTls(): Promise<boolean>
}

/** What a relay's Node platform adds beside the data directory: TLS files and WebRTC-direct, when asked for. */
export interface NodeRelayExtras {
  tls?: TlsFiles
  webRTCDirect?: RelayWebRTCDirect
  metrics?: Pick<RelayPlatform, 'metrics' | 'onStoreRequest'>
}

/** A relay's platform pieces over a data directory. */
export function relayPlatform (dataDir: string, extras: NodeRelayExtras = {}): RelayPlatform {
  return {
    crypto: nodeCrypto(),
    transports: () => {
      const transports = nodeTransports(extras.tls?.serverOptions())
      return extras.webRTCDirect != null ? [...transports, extras.webRTCDirect.transport] : transports
    },
    announceFilter: extras.webRTCDirect?.announceFilter,
    noiseCrypto: nodeNoiseCrypto(),
    metrics: extras.metrics?.metrics,
    onStoreRequest: extras.metrics?.onStoreRequest,
    peerKey: async () => await loadOrCreatePeerKey(join(dataDir, Files.relayKey)),
    openStore: async () => {
      const store = new LevelStore(join(dataDir, Files.store))
      await store.open()
      return store
    },
    openDatastore: async () => {
      const datastore = new RelayDatastore(join(dataDir, Files.datastore))
      await datastore.open()
      return datastore
    }
  }
}

/** Starts a relay. */
export async function startRelay (init: RelayInit): Promise<Relay> {
  // Before anything is opened: a --peer without /p2p/<id> is refused at once.
  RelaySet.fromMultiaddrs(init.peers ?? [])
  // The relay's key, DHT records and envelopes are the operator's alone, now and in what is written later.
  await makePrivate(init.dataDir)
  const { dataDir, tls: tlsFiles, metrics, ...rest } = init
  // Same-IP penalties break meshes when many peers share 127.0.0.1.
  const loopback = allLocal([...init.listen, ...init.announce, ...(init.peers ?? [])])
  const tls = tlsFiles != null ? new TlsFiles(tlsFiles.certFile, tlsFiles.keyFile) : undefined
  let webRTCDirect: { certificates: WebRTCDirectCertificates, transport: RelayWebRTCDirect } | undefined
  let relay: StarlingRelay
  try {
    await tls?.start()
    webRTCDirect = await startWebRTCDirect(init)
    relay = await createStarlingRelay(relayPlatform(dataDir, { tls, webRTCDirect: webRTCDirect?.transport, metrics }), { ...rest, loopback })
  } catch (err) {
    tls?.stop()
    webRTCDirect?.certificates.stop()
    throw err
  }
  return {
    ...relay,
    webRTCDirect: webRTCDirect != null ? { certificates: webRTCDirect.certificates, handshakes: webRTCDirect.transport.handshakes } : undefined,
    async reloadTls () {
      return await (tls?.reload() ?? Promise.resolve(false))
    },
    async stop () {
      tls?.stop()
      webRTCDirect?.certificates.stop()
      await relay.stop()
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
