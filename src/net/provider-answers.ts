/**
 * What a Starling DHT server (a relay) answers to GET_PROVIDERS: every
 * provider record it holds for the key, each listed by peer id whether or not
 * the peer store still has addresses for it, read in bounded memory. A
 * workaround for kad-dht 16.4.5 with peer-store 12.0.28 (README, "Known
 * upstream issues"), kept in this one file; `test/e2e/upstream-kad-providers.spec.ts`
 * fails once upstream no longer needs it.
 *
 * Why: kad-dht's handler lists a provider only with the addresses
 * `peerStore.get()` returns, and drops a provider that has none. The peer
 * store hides addresses first observed over an hour ago (`maxAddressAge`), and
 * storing the same address again while it is fresh (a re-announce, identify)
 * keeps the first observation time; only once it has expired does the next
 * write drop it and a re-announce store it anew. So a device was listed for
 * an hour after each announcement that found its address expired: with the
 * daemon announcing every 12 hours, a bare name was "nobody claims it" 11
 * hours in 12 while its owner was online. Worse, a peer entry 6 hours old
 * without fresh addresses (`maxPeerAge`) is deleted when read,
 * `peerStore.get()` throws NotFoundError, and the handler fails the whole
 * request: one sybil that announced a name and went silent made the name
 * unresolvable at that relay until its provider record expired (48 h after
 * it announced).
 *
 * So the answer here depends only on the provider records, which their
 * announcer refreshes and kad-dht expires (48 h). Addresses stay a hint: the
 * ones the peer store still vouches for (through the node's peer-info
 * mapper), none otherwise, which the kad-dht spec allows ("peers provide the
 * provider's peerID only"). Starling's resolver reads the device's signed
 * record for its addresses and uses only the ids (src/net/name-providers.ts).
 *
 * Bounds: at most {@link MAX_PROVIDERS_PER_ANSWER} records are read per
 * request (kad-dht loads every record of the key: a flood of announcements
 * from fresh peer ids cost memory and a peer-store read each, per request),
 * which is one more than a resolution accepts, so a flooded name still fails
 * loudly at the resolver; and at most {@link MAX_ANSWER_ADDRESS_BYTES} of
 * addresses go into one answer.
 *
 * How: kad-dht keeps its RPC handlers and provider store off its public
 * interface. Its GET_PROVIDERS handler is kept (it validates the request and
 * finds the closer peers) but given an empty provider source, and its answer
 * gets the providers read here. {@link answerProvidersFromRecords} throws a
 * {@link KadDhtChangedError} when those internals are not where kad-dht 16.4
 * keeps them, rather than leaving the upstream behaviour in place silently.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import type { PeerId, PeerStore } from '@libp2p/interface'
import type { KadDHT, PeerInfoMapper } from '@libp2p/kad-dht'
import type { Datastore } from 'interface-datastore'
import { KadDhtChangedError } from './errors.js'
import { MAX_CLAIMANTS } from './name-providers.js'

const log = logger('starling:net:provider-answers')

/** Most providers listed in one answer: one more than a resolution reads, so that more still fails loudly there. */
export const MAX_PROVIDERS_PER_ANSWER = MAX_CLAIMANTS + 1
/** Most bytes of provider addresses in one answer; addresses past it are left out (their providers are still listed). */
export const MAX_ANSWER_ADDRESS_BYTES = 1024 * 1024

/** A provider as the kad-dht wire message carries it. */
interface WirePeer {
  id: Uint8Array
  multiaddrs: Uint8Array[]
}

interface WireMessage {
  key?: Uint8Array
  providers: WirePeer[]
}

interface GetProvidersHandler {
  handle(peerId: PeerId, msg: WireMessage): Promise<WireMessage>
  providers: unknown
}

/** Where kad-dht 16.4 keeps what this file replaces (kad-dht.js: `rpc.handlers`, `providers`). */
interface KadDhtInternals {
  rpc?: { handlers?: Record<string, GetProvidersHandler | undefined> }
  providers?: { datastore?: Datastore, datastorePrefix?: unknown }
}

/** What {@link answerProvidersFromRecords} needs besides the DHT. */
export interface ProviderAnswersInit {
  peerStore: Pick<PeerStore, 'get'>
  /** The node's mapper (loopback addresses kept in tests, private ones removed in production). */
  peerInfoMapper: PeerInfoMapper
  /** Default {@link MAX_PROVIDERS_PER_ANSWER}. */
  maxProviders?: number
  /** Default {@link MAX_ANSWER_ADDRESS_BYTES}. */
  maxAddressBytes?: number
}

/**
 * Makes the node's kad-dht answer GET_PROVIDERS from its provider records
 * (see the file comment).
 *
 * @throws {KadDhtChangedError} kad-dht no longer keeps its handler or provider store where 16.4 does
 */
export function answerProvidersFromRecords (dht: KadDHT, init: ProviderAnswersInit): void {
  const internals = dht as unknown as KadDhtInternals
  const handler = internals.rpc?.handlers?.GET_PROVIDERS
  const store = internals.providers
  if (handler == null || typeof handler.handle !== 'function' || !('providers' in handler)) {
    throw new KadDhtChangedError('kad-dht no longer keeps its GET_PROVIDERS handler in rpc.handlers: update src/net/provider-answers.ts')
  }
  if (store?.datastore == null || typeof store.datastorePrefix !== 'string') {
    throw new KadDhtChangedError('kad-dht no longer keeps its provider records in providers.datastore: update src/net/provider-answers.ts')
  }
  const read = new ProviderRecords(store.datastore, store.datastorePrefix, init)
  handler.providers = { getProviders: async (): Promise<PeerId[]> => [] }
  const answer = handler.handle.bind(handler)
  handler.handle = async (peerId, msg) => {
    // kad-dht's handler has validated the key (it throws on a bad one) and found the closer peers.
    const response = await answer(peerId, msg)
    if (msg.key != null) response.providers = await read.providers(CID.decode(msg.key))
    return response
  }
}

/** Reads the provider records of a key and lists them for the wire. */
class ProviderRecords {
  private readonly maxProviders: number
  private readonly maxAddressBytes: number

  constructor (
    private readonly datastore: Datastore,
    private readonly prefix: string,
    private readonly init: ProviderAnswersInit
  ) {
    this.maxProviders = init.maxProviders ?? MAX_PROVIDERS_PER_ANSWER
    this.maxAddressBytes = init.maxAddressBytes ?? MAX_ANSWER_ADDRESS_BYTES
  }

  async providers (cid: CID): Promise<WirePeer[]> {
    const ids = await this.ids(cid)
    const out: WirePeer[] = []
    let addressBytes = 0
    for (const id of ids) {
      const multiaddrs: Uint8Array[] = []
      for (const bytes of await this.addresses(id)) {
        if (addressBytes + bytes.byteLength > this.maxAddressBytes) break
        addressBytes += bytes.byteLength
        multiaddrs.push(bytes)
      }
      out.push({ id: id.toMultihash().bytes, multiaddrs })
    }
    log('%d providers of %c listed', out.length, cid)
    return out
  }

  /**
   * The first `maxProviders` providers of `cid`, in the store's key order.
   * Keys are kad-dht's (utils.js `toProviderKey`): `<prefix>/<base32 multihash>/<peer id>`.
   */
  private async ids (cid: CID): Promise<PeerId[]> {
    const prefix = `${this.prefix}/${uint8ArrayToString(cid.multihash.bytes, 'base32')}/`
    const ids: PeerId[] = []
    for await (const key of this.datastore.queryKeys({ prefix })) {
      try {
        ids.push(peerIdFromString(key.toString().slice(prefix.length)))
      } catch {
        log('skipping a provider key that names no peer: %s', key.toString())
      }
      if (ids.length >= this.maxProviders) break
    }
    return ids
  }

  /** The addresses the peer store still vouches for, as the node's mapper lets them out; none when it knows none. */
  private async addresses (id: PeerId): Promise<Uint8Array[]> {
    try {
      const peer = await this.init.peerStore.get(id)
      const mapped = this.init.peerInfoMapper({ id, multiaddrs: peer.addresses.map(a => a.multiaddr) })
      return mapped.multiaddrs.map(ma => ma.bytes)
    } catch (err) {
      // Expired and deleted (NotFoundError) or unreadable: this provider is listed by id, the others are not affected.
      log.trace('no addresses for provider %p: %s', id, (err as Error).message)
      return []
    }
  }
}
