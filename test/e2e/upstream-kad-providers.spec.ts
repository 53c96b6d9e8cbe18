/**
 * Control for a known upstream issue (README, "Known upstream issues"): plain
 * kad-dht and libp2p, without any Starling code, on loopback TCP with `Date`
 * faked. It checks that upstream still behaves the way
 * src/net/provider-answers.ts works around. When an assertion here fails,
 * upstream changed: check whether the workaround can go (and this file, and
 * the README entry with it).
 *
 * kad-dht 16.4.5's GET_PROVIDERS handler lists a provider with the addresses
 * `peerStore.get()` returns and drops it when there are none; peer-store
 * 12.0.28 hides addresses first observed over an hour ago, keeps that first
 * time when the same address is stored again while still fresh, and deletes a
 * peer entry not updated for 6 hours once none of its addresses is fresh,
 * after which the handler throws for the whole request.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { kadDHT, passthroughMapper } from '@libp2p/kad-dht'
import type { KadDHT } from '@libp2p/kad-dht'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import * as raw from 'multiformats/codecs/raw'
import { askProviders, holdsProvider } from './dht-nodes.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { eventually } from './harness.js'

const HOUR = 3_600_000
const PROTOCOL = '/starling-test/kad/1.0.0'
const UPSTREAM_CHANGED = 'upstream changed: check whether src/net/provider-answers.ts (and its README entry) can go'

type Node = Libp2p<{ dht: KadDHT }>

async function dhtNode (server: boolean, bootstrapTo?: Node): Promise<Node> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({ protocol: PROTOCOL, clientMode: !server, peerInfoMapper: passthroughMapper })
    }
  })
  if (bootstrapTo != null) await node.dial(bootstrapTo.getMultiaddrs()[0])
  return node as unknown as Node
}

/** Announces `cid` from `provider` until `server` stored it (ADD_PROVIDER is handled after the sender moved on). */
async function announce (provider: Node, server: Node, cid: CID): Promise<void> {
  await eventually(async () => {
    let accepted = 0
    for await (const event of provider.services.dht.provide(cid, { signal: AbortSignal.timeout(5_000) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'ADD_PROVIDER') accepted++
    }
    return accepted > 0 ? true : undefined
  }, 20_000, 'the server to take the announcement')
  await eventually(async () => {
    if (!await holdsProvider(server as unknown as StarlingLibp2p, cid, provider.peerId)) return undefined
    const peer = await server.peerStore.get(provider.peerId).catch(() => undefined)
    return peer != null && peer.addresses.length > 0 ? true : undefined
  }, 10_000, 'the server to store the provider record and its address')
}

/**
 * Announces `cid` from `provider` again and waits until `server` has stored
 * the provider's address from it (what ADD_PROVIDER does last).
 */
async function reannounce (provider: Node, server: Node, cid: CID): Promise<void> {
  const store = server.peerStore
  const merge = store.merge.bind(store)
  const stored = new Promise<void>(resolve => {
    store.merge = async (id, data, options) => {
      const peer = await merge(id, data, options)
      if (id.equals(provider.peerId) && (data.multiaddrs?.length ?? 0) > 0) resolve()
      return peer
    }
  })
  try {
    for await (const event of provider.services.dht.provide(cid, { signal: AbortSignal.timeout(10_000) })) {
      if (event.name === 'QUERY_ERROR') throw event.error
    }
    await stored
  } finally {
    store.merge = merge
  }
}

describe('upstream control: kad-dht lists a provider only while its peer-store addresses are under an hour old', function () {
  this.timeout(60_000)
  let clock: FakeTimers.Clock
  const nodes: Node[] = []

  beforeEach(() => {
    clock = FakeTimers.install({ now: Date.now(), toFake: ['Date'], shouldAdvanceTime: true })
  })

  afterEach(async () => {
    clock.uninstall()
    await Promise.all(nodes.splice(0).map(async n => n.stop()))
  })

  async function setUp (name: string): Promise<{ server: Node, provider: Node, asker: Node, cid: CID }> {
    const server = await dhtNode(true)
    const provider = await dhtNode(false, server)
    const asker = await dhtNode(false, server)
    nodes.push(server, provider, asker)
    const cid = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode(name)))
    await announce(provider, server, cid)
    const listed = await askProviders(asker as unknown as StarlingLibp2p, server.peerId, cid, PROTOCOL)
    assert.ok(listed.some(id => id.equals(provider.peerId)), 'a fresh announcement is listed')
    return { server, provider, asker, cid }
  }

  it('a provider that stays connected is left out 1.25 h after it first announced, though it announced again at 0.5 h, and at 2 h', async () => {
    const { server, provider, asker, cid } = await setUp('upstream-2h')
    clock.tick(0.5 * HOUR)
    await reannounce(provider, server, cid)
    clock.tick(0.75 * HOUR)
    const peer = await server.peerStore.get(provider.peerId)
    assert.equal(peer.addresses.length, 0, `an address stored again while fresh keeps its first observation time: ${UPSTREAM_CHANGED}`)
    let listed = await askProviders(asker as unknown as StarlingLibp2p, server.peerId, cid, PROTOCOL)
    assert.ok(!listed.some(id => id.equals(provider.peerId)), `kad-dht now lists the provider 45 min after it announced again: ${UPSTREAM_CHANGED}`)
    clock.tick(0.75 * HOUR)
    listed = await askProviders(asker as unknown as StarlingLibp2p, server.peerId, cid, PROTOCOL)
    assert.ok(!listed.some(id => id.equals(provider.peerId)), `kad-dht now lists the provider 2 h after it first announced: ${UPSTREAM_CHANGED}`)
  })

  it('a provider whose peer entry expired (6 h) makes the server fail the whole request', async () => {
    const { provider, asker, server, cid } = await setUp('upstream-7h')
    await provider.stop()
    clock.tick(7 * HOUR)
    await assert.rejects(
      askProviders(asker as unknown as StarlingLibp2p, server.peerId, cid, PROTOCOL),
      (err: Error) => {
        assert.equal(err.name, 'StreamResetError', `the server aborts the request (got ${err.name}: ${err.message}): otherwise ${UPSTREAM_CHANGED}`)
        return true
      }
    )
  })
})
