/**
 * Every device that announces a bare name, read from every DHT server that
 * holds the name's provider records (DESIGN.md, Identity: "every provider a
 * relay holds for the name, bounded, from more than one relay").
 *
 * Why not kad-dht's `findProviders`: it stops as soon as it has k (20)
 * providers, and a server lists its providers in its datastore's key order,
 * that is sorted by peer id; so ~25 sybil ids that sort first hid every other
 * claimant of a name. Here the DHT servers closest to the name's key (where
 * `provide` stored the records, found by kad-dht's own `getClosestPeers`)
 * are each asked once with a GET_PROVIDERS request of the kad-dht wire
 * protocol, which their real kad-dht handler answers with every provider it
 * holds. The answers are read whole and merged, up to {@link MAX_CLAIMANTS}
 * distinct providers: one more is a {@link TooManyClaimsError}, never a
 * truncated list, and so is an answer too large to read.
 *
 * A server that cannot be reached or answers garbage is skipped: one server
 * can always leave out what it holds, which is why all of them are read.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromMultihash } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import * as Digest from 'multiformats/hashes/digest'
import type { PeerId } from '@libp2p/interface'
import type { KadDHT } from '@libp2p/kad-dht'
import type { CID } from 'multiformats/cid'
import { DHT_PROTOCOL } from './constants.js'
import { DhtUnavailableError, TooManyClaimsError } from './errors.js'
import { KadMessage } from './pb/kad-providers.js'
import type { StarlingLibp2p } from './node.js'

const log = logger('starling:net:name-providers')

/** Most devices announcing one bare name that a resolution reads; one more and it fails loudly. */
export const MAX_CLAIMANTS = 1_000
/** Most DHT servers asked for one name (kad-dht's k: `provide` stores on the k closest). */
export const MAX_PROVIDER_SERVERS = 20
/**
 * Largest answer read from one server. A provider entry is its peer id and
 * the addresses the server knows for it (a few hundred bytes), so 1,000
 * providers fit many times over; an answer made larger than this (e.g.
 * sybils announcing thousands of addresses) counts as too many claims.
 */
export const MAX_PROVIDERS_ANSWER_BYTES = 4 * 1024 * 1024
/** Longest one server may take to answer. */
export const PROVIDER_SERVER_TIMEOUT_MS = 5_000
/** Servers asked at once. */
const SERVER_CONCURRENCY = 4
/** MessageType.GET_PROVIDERS of the kad-dht protocol. */
const GET_PROVIDERS = 3

/** What {@link findNameProviders} needs of a node. */
export type NameProvidersNode = Pick<StarlingLibp2p, 'dialProtocol' | 'getConnections' | 'peerStore'> & {
  services: { dht: Pick<KadDHT, 'getClosestPeers'> }
}

/** Options of {@link findNameProviders}. */
export interface FindNameProvidersOptions {
  signal: AbortSignal
  /** Default {@link MAX_CLAIMANTS}. */
  maxClaimants?: number
  /** Default {@link PROVIDER_SERVER_TIMEOUT_MS}. */
  serverTimeoutMs?: number
}

/** The merged answer. */
export interface NameProviders {
  /** Distinct providers, in no meaningful order. */
  providers: PeerId[]
  /** Servers asked, and how many of them answered. */
  asked: number
  answered: number
}

function tooMany (name: string, why: string): TooManyClaimsError {
  return new TooManyClaimsError(`too many claims for ${name}: use name~tag (${why})`)
}

/**
 * Every provider of `cid` (the content id of the bare name `name`) that the
 * closest DHT servers hold.
 *
 * @throws {TooManyClaimsError} more than `maxClaimants` providers, or an answer over {@link MAX_PROVIDERS_ANSWER_BYTES}
 * @throws {DhtUnavailableError} no DHT server found or none answered
 */
export async function findNameProviders (node: NameProvidersNode, name: string, cid: CID, options: FindNameProvidersOptions): Promise<NameProviders> {
  const max = options.maxClaimants ?? MAX_CLAIMANTS
  const key = cid.multihash.bytes
  const servers = await closestServers(node, key, options.signal)
  if (servers.length === 0) throw new DhtUnavailableError(`cannot read the claims of ${name}: no DHT server found`)
  log('asking %d DHT servers for the providers of %s', servers.length, name)

  const found = new Map<string, PeerId>()
  // One failure (too many claims) stops the other requests.
  const stop = new AbortController()
  const signal = AbortSignal.any([options.signal, stop.signal])
  let answered = 0
  let failure: Error | undefined
  const queue = [...servers]
  const worker = async (): Promise<void> => {
    for (let server = queue.shift(); server != null && failure == null; server = queue.shift()) {
      try {
        const ids = await askServer(node, server, key, max, AbortSignal.any([signal, AbortSignal.timeout(options.serverTimeoutMs ?? PROVIDER_SERVER_TIMEOUT_MS)]))
        answered++
        for (const id of ids) found.set(id.toString(), id)
        if (found.size > max) throw tooMany(name, `more than ${max} devices announce it`)
      } catch (err) {
        const e = err as Error
        if (e.name === 'MaxLengthError') failure ??= tooMany(name, `${server.toString()} lists more than ${max} devices announcing it`)
        else if (e.name === 'InvalidDataLengthError') failure ??= tooMany(name, `the answer of ${server.toString()} is over ${MAX_PROVIDERS_ANSWER_BYTES} bytes`)
        else if (e instanceof TooManyClaimsError) failure ??= e
        else if (options.signal.aborted) failure ??= e
        else log('no providers of %s from %p: %s', name, server, e.message)
        if (failure != null) stop.abort()
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(SERVER_CONCURRENCY, servers.length) }, worker))
  if (failure != null) throw failure
  if (answered === 0) throw new DhtUnavailableError(`cannot read the claims of ${name}: none of the ${servers.length} DHT servers asked answered`)
  return { providers: [...found.values()], asked: servers.length, answered }
}

/**
 * The DHT servers to ask: the closest to `key` as kad-dht's own query finds
 * them (where `provide` put the records), then the DHT servers we are
 * connected to (our relays), which a query that lost an answer on a busy
 * network would otherwise leave out; at most {@link MAX_PROVIDER_SERVERS}.
 */
async function closestServers (node: NameProvidersNode, key: Uint8Array, signal: AbortSignal): Promise<PeerId[]> {
  const servers = new Map<string, PeerId>()
  try {
    for await (const event of node.services.dht.getClosestPeers(key, { signal })) {
      if (event.name !== 'FINAL_PEER') continue
      servers.set(event.peer.id.toString(), event.peer.id)
      if (servers.size >= MAX_PROVIDER_SERVERS) return [...servers.values()]
    }
  } catch (err) {
    if (signal.aborted) throw err
    log('closest peers query ended early: %s', (err as Error).message)
  }
  for (const connection of node.getConnections()) {
    const peer = connection.remotePeer
    if (servers.size >= MAX_PROVIDER_SERVERS) break
    if (servers.has(peer.toString())) continue
    try {
      if ((await node.peerStore.get(peer)).protocols.includes(DHT_PROTOCOL)) servers.set(peer.toString(), peer)
    } catch {
      // Not in the peer store (yet): not known as a DHT server.
    }
  }
  return [...servers.values()]
}

/**
 * One GET_PROVIDERS round trip on the Starling DHT protocol. The answer is
 * read with a size limit and decoded keeping only the providers' peer ids,
 * at most `max` of them (protons throws MaxLengthError beyond).
 */
async function askServer (node: NameProvidersNode, server: PeerId, key: Uint8Array, max: number, signal: AbortSignal): Promise<PeerId[]> {
  const stream = await node.dialProtocol(server, DHT_PROTOCOL, { signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_PROVIDERS_ANSWER_BYTES })
    await lp.write(KadMessage.encode({ type: GET_PROVIDERS, key: Uint8Array.from(key) }), { signal })
    const answer = KadMessage.decode(await lp.read({ signal }), { limits: { providers: max } })
    await stream.close({ signal })
    const ids: PeerId[] = []
    for (const provider of answer.providers) {
      try {
        ids.push(peerIdFromMultihash(Digest.decode(provider.id)))
      } catch {
        log('%p listed a provider that is not a peer id', server)
      }
    }
    return ids
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}
