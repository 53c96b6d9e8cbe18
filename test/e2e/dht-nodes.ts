/**
 * In-process Starling nodes on loopback TCP for the handle tests: relays
 * (DHT servers keeping records and provider records in LevelDB, as
 * `starling relay` does), user nodes (DHT clients) with a Directory, an
 * attacker node whose own validators accept anything (so that its puts reach
 * the relays, which validate them for real), and a way to put provider
 * records straight into a relay's provider store (thousands of sybil peer
 * ids without a connection each).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromMultihash, peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import * as Digest from 'multiformats/hashes/digest'
import { multiaddr } from '@multiformats/multiaddr'
import { LevelDatastore } from 'datastore-level'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import { createStarlingNode, routingTableSize } from '../../src/net/node.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { Directory } from '../../src/net/directory.js'
import type { DirectoryInit } from '../../src/net/directory.js'
import { createPrekeyState, publicPrekeys } from '../../src/crypto/prekeys.js'
import type { Crypto, KeyPair } from '../../src/crypto/index.js'
import { starlingDhtValidators } from '../../src/identity/index.js'
import { DHT_PROTOCOL } from '../../src/net/constants.js'
import { KadMessage } from '../../src/net/pb/kad-providers.js'
import { eventually } from './harness.js'

/** The pieces a test stops at the end. */
export class DhtNodes {
  private readonly nodes: StarlingLibp2p[] = []
  private readonly stores: LevelDatastore[] = []
  private readonly dirs: string[] = []

  constructor (readonly crypto: Crypto) {}

  /** A relay: DHT server with a LevelDB datastore (provider records come back sorted by peer id, as on a real relay). */
  async relay (peers: string[] = []): Promise<StarlingLibp2p> {
    const dir = await mkdtemp(join(tmpdir(), 'starling-dht-relay-'))
    this.dirs.push(dir)
    const datastore = new LevelDatastore(join(dir, 'datastore'))
    await datastore.open()
    this.stores.push(datastore)
    const node = await createStarlingNode({
      privateKey: await generateKeyPair('Ed25519'),
      role: 'relay',
      transports: [tcp()],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: peers,
      datastore,
      loopback: true,
      ...starlingDhtValidators(this.crypto, { now: Date.now })
    })
    this.nodes.push(node)
    return node
  }

  /** A user node (DHT client) connected to `relays`, with the real validators unless `acceptAnything`. */
  async user (relays: string[], options: { privateKey?: PrivateKey, acceptAnything?: boolean } = {}): Promise<StarlingLibp2p> {
    const checks = options.acceptAnything === true
      ? { validators: { starling: async () => {} }, selectors: { starling: () => 0 } }
      : starlingDhtValidators(this.crypto, { now: Date.now })
    const node = await createStarlingNode({
      privateKey: options.privateKey ?? await generateKeyPair('Ed25519'),
      role: 'user',
      transports: [tcp()],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      bootstrap: relays,
      loopback: true,
      ...checks
    })
    this.nodes.push(node)
    await eventually(async () => routingTableSize(node) >= relays.length ? true : undefined, 20_000, 'user node sees the relays as DHT servers')
    return node
  }

  /** A user node with an account claiming `name`, its Directory (not started), and its keys. */
  async publisher (relays: string[], name: string, init: DirectoryInit = {}, privateKey?: PrivateKey): Promise<Publisher> {
    const key = privateKey ?? await generateKeyPair('Ed25519')
    const node = await this.user(relays, { privateKey: key })
    const account = await this.crypto.ed25519.generateKeyPair()
    const identity = await this.crypto.x25519.generateKeyPair()
    const prekeys = await createPrekeyState(this.crypto, account.secretKey, Date.now())
    const directory = new Directory(node, this.crypto, {
      handleName: name,
      accountSecretKey: account.secretKey,
      accountPublicKey: account.publicKey,
      devicePrivateKey: key,
      identityKey: identity.publicKey,
      prekeys: () => publicPrekeys(prekeys)
    }, init)
    return { node, directory, account, privateKey: key, identityKey: identity.publicKey, prekeys: publicPrekeys(prekeys) }
  }

  async stop (): Promise<void> {
    await Promise.all(this.nodes.map(async n => n.stop()))
    await Promise.all(this.stores.map(async s => s.close()))
    await Promise.all(this.dirs.map(async d => rm(d, { recursive: true, force: true })))
  }
}

/** A publishing user of {@link DhtNodes.publisher}. */
export interface Publisher {
  node: StarlingLibp2p
  directory: Directory
  account: KeyPair
  privateKey: PrivateKey
  identityKey: Uint8Array
  prekeys: ReturnType<typeof publicPrekeys>
}

/** Puts a record through a node; returns how many DHT servers accepted it. */
export async function rawPut (node: StarlingLibp2p, key: Uint8Array, value: Uint8Array): Promise<number> {
  let accepted = 0
  for await (const event of node.services.dht.put(key, value, { signal: AbortSignal.timeout(10_000) })) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') accepted++
  }
  return accepted
}

interface ProviderStore {
  addProvider(cid: CID, provider: PeerId): Promise<void>
  removeProvider(cid: CID, provider: PeerId): Promise<void>
  getProviders(cid: CID): Promise<PeerId[]>
}

/**
 * kad-dht keeps its provider store off its public interface (`providers` on
 * the KadDHT object, 16.4). Writing to it is what an ADD_PROVIDER from each
 * of those peers would do, without opening one connection per sybil.
 */
function providerStore (relay: StarlingLibp2p): ProviderStore {
  const store = (relay.services.dht as unknown as { providers?: ProviderStore }).providers
  if (typeof store?.addProvider !== 'function' || typeof store.removeProvider !== 'function' || typeof store.getProviders !== 'function') {
    throw new Error('kad-dht no longer keeps its provider store in `providers`: update test/e2e/dht-nodes.ts')
  }
  return store
}

/**
 * Stores `peers` as providers of `cid` on `relay`, each with an address (the
 * GET_PROVIDERS handler leaves out providers it knows no address of), as an
 * ADD_PROVIDER from each would.
 */
export async function injectProviders (relay: StarlingLibp2p, cid: CID, peers: PeerId[], addr = '/ip4/127.0.0.1/tcp/9'): Promise<void> {
  const store = providerStore(relay)
  for (const peer of peers) {
    await store.addProvider(cid, peer)
    await relay.peerStore.merge(peer, { multiaddrs: [multiaddr(addr)] })
  }
}

/** Whether `relay` holds a provider record of `peer` for `cid` (read from its store, not through the DHT protocol). */
export async function holdsProvider (relay: StarlingLibp2p, cid: CID, peer: PeerId): Promise<boolean> {
  return (await providerStore(relay).getProviders(cid)).some(id => id.equals(peer))
}

/** Removes one provider of `cid` from `relay`'s store (a relay that leaves a claimant out). */
export async function dropProvider (relay: StarlingLibp2p, cid: CID, peer: PeerId): Promise<void> {
  await providerStore(relay).removeProvider(cid, peer)
}

/** `count` fresh Ed25519 device keys whose peer ids sort before `than` (as a relay's LevelDB lists providers). */
export async function sybilsSortingBefore (than: PeerId, count: number): Promise<PrivateKey[]> {
  const out: PrivateKey[] = []
  for (let tries = 0; out.length < count; tries++) {
    if (tries > 200_000) throw new Error(`could not find ${count} peer ids sorting before ${than.toString()}`)
    const key = await generateKeyPair('Ed25519')
    if (peerIdFromPrivateKey(key).toString() < than.toString()) out.push(key)
  }
  return out
}

/** An Ed25519 device key whose peer id sorts after at least `fraction` of random ids (so that sybils sorting first are quick to find). */
export async function lateSortingKey (fraction = 0.5): Promise<PrivateKey> {
  const sample = await Promise.all(Array.from({ length: 64 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
  sample.sort()
  const bar = sample[Math.floor(fraction * (sample.length - 1))]
  for (;;) {
    const key = await generateKeyPair('Ed25519')
    if (peerIdFromPrivateKey(key).toString() > bar) return key
  }
}

/**
 * One GET_PROVIDERS request to one DHT server, as a resolving user sends it
 * (src/net/name-providers.ts): the provider ids of its answer. A server whose
 * handler fails aborts the stream, and this rejects.
 */
export async function askProviders (node: Pick<StarlingLibp2p, 'dialProtocol'>, server: PeerId, cid: CID, protocol = DHT_PROTOCOL): Promise<PeerId[]> {
  const signal = AbortSignal.timeout(10_000)
  const stream = await node.dialProtocol(server, protocol, { signal })
  const lp = lpStream(stream, { maxDataLength: 16 * 1024 * 1024 })
  await lp.write(KadMessage.encode({ type: 3, key: cid.multihash.bytes }), { signal })
  const answer = KadMessage.decode(await lp.read({ signal }), { limits: { providers: 100_000 } })
  await stream.close({ signal })
  return answer.providers.map(p => peerIdFromMultihash(Digest.decode(p.id)))
}
