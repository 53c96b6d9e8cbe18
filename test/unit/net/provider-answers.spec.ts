/**
 * The GET_PROVIDERS answer of src/net/provider-answers.ts against a stubbed
 * kad-dht handler, an in-memory provider store laid out as kad-dht 16.4 lays
 * it out, and a stubbed peer store. The same code against real kad-dht on
 * loopback: test/e2e/names-stale.spec.ts.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromMultihash, peerIdFromPrivateKey } from '@libp2p/peer-id'
import { NotFoundError } from '@libp2p/interface'
import type { PeerId, PeerStore } from '@libp2p/interface'
import { passthroughMapper } from '@libp2p/kad-dht'
import type { KadDHT } from '@libp2p/kad-dht'
import { multiaddr } from '@multiformats/multiaddr'
import { Key } from 'interface-datastore'
import type { Datastore } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import * as raw from 'multiformats/codecs/raw'
import { toString as uint8ArrayToString } from 'uint8arrays/to-string'
import { answerProvidersFromRecords } from '../../../src/net/provider-answers.js'

interface WirePeer { id: Uint8Array, multiaddrs: Uint8Array[] }
interface WireMessage { type: string, key?: Uint8Array, closer: WirePeer[], providers: WirePeer[] }
interface Handler { providers: unknown, handle(peerId: PeerId, msg: WireMessage): Promise<WireMessage> }

const PREFIX = '/dht/provider'

/** The part of a datastore the provider answers read: keys by prefix, in key order (as LevelDB lists them). */
class KeyStore {
  private readonly keys = new Set<string>()

  async put (key: Key): Promise<void> { this.keys.add(key.toString()) }

  async * queryKeys (query: { prefix?: string }): AsyncGenerator<Key> {
    for (const key of [...this.keys].sort()) {
      if (key.startsWith(query.prefix ?? '')) yield new Key(key)
    }
  }
}
const CLOSER: WirePeer = { id: new Uint8Array([1, 2, 3]), multiaddrs: [] }

async function newPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

async function cidOf (name: string): Promise<CID> {
  return CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(name)))
}

/** A kad-dht stand-in: its handler answers with closer peers and whatever providers its source gives. */
function fakeDht (datastore: KeyStore): { dht: KadDHT, handler: Handler, upstreamAsked: () => number } {
  let asked = 0
  const handler: Handler = {
    providers: { getProviders: async () => { asked++; return [] } },
    async handle (_peerId, msg) {
      if (msg.key == null) throw new Error('key missing')
      const source = this.providers as { getProviders: () => Promise<PeerId[]> }
      const upstream = await source.getProviders()
      return { type: msg.type, key: msg.key, closer: [CLOSER], providers: upstream.map(id => ({ id: id.toMultihash().bytes, multiaddrs: [] })) }
    }
  }
  const dht = { rpc: { handlers: { GET_PROVIDERS: handler } }, providers: { datastore: datastore as unknown as Datastore, datastorePrefix: PREFIX } }
  return { dht: dht as unknown as KadDHT, handler, upstreamAsked: () => asked }
}

async function storeProvider (datastore: KeyStore, cid: CID, peer: PeerId | string): Promise<void> {
  await datastore.put(new Key(`${PREFIX}/${uint8ArrayToString(cid.multihash.bytes, 'base32')}/${peer.toString()}`))
}

/** A peer store that knows `known` (with addresses), throws NotFoundError for others, and fails outright for `broken`. */
function fakePeerStore (known: Map<string, string[]>, broken: Set<string> = new Set()): Pick<PeerStore, 'get'> {
  return {
    get: async (id: PeerId) => {
      if (broken.has(id.toString())) throw new Error('corrupt peer entry')
      const addrs = known.get(id.toString())
      if (addrs == null) throw new NotFoundError('Not found')
      return { id, addresses: addrs.map(a => ({ multiaddr: multiaddr(a), isCertified: false })), protocols: [], metadata: new Map(), tags: new Map() }
    }
  }
}

function idsOf (peers: WirePeer[]): string[] {
  return peers.map(p => peerIdFromMultihash(Digest.decode(p.id)).toString()).sort()
}

describe('net: provider answers from provider records', () => {
  it('lists every provider: one whose peer entry is gone or unreadable by id, without failing the others', async () => {
    const datastore = new KeyStore()
    const cid = await cidOf('alice')
    const [fresh, gone, broken] = [await newPeer(), await newPeer(), await newPeer()]
    for (const peer of [fresh, gone, broken]) await storeProvider(datastore, cid, peer)
    await storeProvider(datastore, await cidOf('bob'), await newPeer())
    const { dht, handler, upstreamAsked } = fakeDht(datastore)
    answerProvidersFromRecords(dht, {
      peerStore: fakePeerStore(new Map([[fresh.toString(), ['/ip4/127.0.0.1/tcp/4001']]]), new Set([broken.toString()])),
      peerInfoMapper: passthroughMapper
    })
    const answer = await handler.handle(fresh, { type: 'GET_PROVIDERS', key: cid.multihash.bytes, closer: [], providers: [] })
    assert.deepEqual(idsOf(answer.providers), [fresh, gone, broken].map(String).sort(), 'the three providers of alice, not bob\'s')
    const byId = new Map(answer.providers.map(p => [peerIdFromMultihash(Digest.decode(p.id)).toString(), p.multiaddrs.map(m => multiaddr(m).toString())]))
    assert.deepEqual(byId.get(fresh.toString()), ['/ip4/127.0.0.1/tcp/4001'])
    assert.deepEqual(byId.get(gone.toString()), [])
    assert.deepEqual(byId.get(broken.toString()), [])
    assert.deepEqual(answer.closer, [CLOSER], 'kad-dht\'s closer peers are kept')
    assert.equal(upstreamAsked(), 0, 'kad-dht\'s own provider listing is not consulted')
  })

  it('reads at most maxProviders records, skips keys that name no peer, and keeps addresses within the byte budget', async () => {
    const datastore = new KeyStore()
    const cid = await cidOf('erin')
    await storeProvider(datastore, cid, 'not-a-peer-id')
    const peers = await Promise.all(Array.from({ length: 12 }, newPeer))
    for (const peer of peers) await storeProvider(datastore, cid, peer)
    const addr = '/ip4/127.0.0.1/tcp/4001'
    const { dht, handler } = fakeDht(datastore)
    answerProvidersFromRecords(dht, {
      peerStore: fakePeerStore(new Map(peers.map(p => [p.toString(), [addr]]))),
      peerInfoMapper: passthroughMapper,
      maxProviders: 10,
      maxAddressBytes: 3 * multiaddr(addr).bytes.byteLength
    })
    const answer = await handler.handle(peers[0], { type: 'GET_PROVIDERS', key: cid.multihash.bytes, closer: [], providers: [] })
    assert.equal(answer.providers.length, 10)
    assert.equal(answer.providers.filter(p => p.multiaddrs.length > 0).length, 3, 'addresses until the budget is spent, then ids only')
  })

  it('refuses a kad-dht that no longer keeps its handler or provider store where 16.4 does', () => {
    const peerStore = fakePeerStore(new Map())
    assert.throws(() => { answerProvidersFromRecords({} as unknown as KadDHT, { peerStore, peerInfoMapper: passthroughMapper }) }, { name: 'KadDhtChangedError' })
    const { dht } = fakeDht(new KeyStore())
    delete (dht as unknown as { providers?: unknown }).providers
    assert.throws(() => { answerProvidersFromRecords(dht, { peerStore, peerInfoMapper: passthroughMapper }) }, { name: 'KadDhtChangedError' })
  })
})
