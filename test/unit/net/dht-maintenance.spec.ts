/**
 * kad-dht's background lookups (src/net/dht-maintenance.ts): the self
 * query's interval is the node's option (a short one repeats it, a long one
 * leaves only the first), and kad-dht 16.4 sends no routing-table refresh
 * lookups (its refresh is never started), which an upgrade that starts it
 * would show here. The DHT server is a bare libp2p node answering FIND_NODE
 * with no closer peers, recording each key it is asked about.
 */
import assert from 'node:assert/strict'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { memory } from '@libp2p/memory'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { createStarlingNode } from '../../../src/net/node.js'
import type { StarlingLibp2p } from '../../../src/net/node.js'
import { DHT_PROTOCOL } from '../../../src/net/constants.js'
import { KadMessage } from '../../../src/net/pb/kad-providers.js'
import { MAX_TIMER_MS, querySelfInterval } from '../../../src/net/dht-maintenance.js'
import type { DhtMaintenance } from '../../../src/net/dht-maintenance.js'
import { starlingDhtValidators } from '../../../src/identity/index.js'
import { createCrypto } from '../../../src/crypto/index.js'
import { toHex } from '../../../src/crypto/bytes.js'
import { waitFor } from '../relay/helpers.js'

const FIND_NODE = 4

async function drain (events: AsyncIterable<unknown>): Promise<void> {
  const it = events[Symbol.asyncIterator]()
  while (!(await it.next()).done) { /* each query event */ }
}
let serial = 0

/** A DHT "server" that answers every FIND_NODE with no closer peers and records the keys. */
async function recordingServer (keys: string[]): Promise<{ node: Libp2p, addr: string }> {
  const addr = `/memory/dht-maintenance-${process.pid}-${serial++}`
  const node = await createLibp2p({
    addresses: { listen: [addr] },
    transports: [memory()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), ping: ping() }
  })
  await node.handle(DHT_PROTOCOL, async (stream) => {
    const lp = lpStream(stream)
    try {
      for (;;) {
        const request = KadMessage.decode(await lp.read())
        if (request.type === FIND_NODE) keys.push(toHex(request.key ?? new Uint8Array()))
        await lp.write(KadMessage.encode({ type: request.type, key: request.key }))
      }
    } catch {
      stream.abort(new Error('done'))
    }
  })
  return { node, addr: `${addr}/p2p/${node.peerId.toString()}` }
}

async function userNode (bootstrap: string, dhtMaintenance?: DhtMaintenance): Promise<StarlingLibp2p> {
  const { validators, selectors } = starlingDhtValidators(createCrypto(), { now: Date.now })
  return await createStarlingNode({
    privateKey: await generateKeyPair('Ed25519'),
    role: 'user',
    transports: [memory()],
    bootstrap: [bootstrap],
    validators,
    selectors,
    loopback: true,
    dhtMaintenance
  })
}

describe('net/dht-maintenance', function () {
  this.timeout(60_000)
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.allSettled(nodes.splice(0).map(async n => { await n.stop() }))
  })

  /** Runs a user against a recording server; returns the keys asked, its own key and a sentinel lookup's key. */
  async function lookups (dhtMaintenance?: DhtMaintenance): Promise<{ keys: string[], self: string, sentinel: string }> {
    const keys: string[] = []
    const server = await recordingServer(keys)
    nodes.push(server.node)
    const user = await userNode(server.addr, dhtMaintenance)
    nodes.push(user)
    await user.dial(multiaddr(server.addr))
    const self = toHex(user.peerId.toMultihash().bytes)
    await waitFor('the self query', () => keys.includes(self), 30_000)
    // A lookup asked for after the first self query: a refresh started with it (both wait for the first server) has arrived by the time this one has.
    const sentinel = (await generateKeyPair('Ed25519')).publicKey.toMultihash().bytes
    await drain(user.services.dht.getClosestPeers(sentinel))
    await waitFor('the sentinel lookup', () => keys.includes(toHex(sentinel)), 30_000)
    return { keys, self, sentinel: toHex(sentinel) }
  }

  it('with a long self-query interval a user node sends its server only its first self query and the lookups asked for (no table refresh)', async () => {
    const { keys, self, sentinel } = await lookups({ querySelfIntervalMs: 60 * 60_000 })
    assert.deepEqual(keys.filter(k => k !== sentinel), [self])
  })

  it('a short self-query interval repeats the self query (the option reaches kad-dht)', async () => {
    const keys: string[] = []
    const server = await recordingServer(keys)
    nodes.push(server.node)
    const user = await userNode(server.addr, { querySelfIntervalMs: 200 })
    nodes.push(user)
    await user.dial(multiaddr(server.addr))
    const self = toHex(user.peerId.toMultihash().bytes)
    await waitFor('three self queries', () => keys.filter(k => k === self).length >= 3, 30_000)
  })

  it('a self-query interval of 0 or beyond a timer\'s range never becomes a timer that fires at once', () => {
    assert.equal(querySelfInterval(undefined), undefined)
    assert.equal(querySelfInterval({}), undefined)
    assert.equal(querySelfInterval({ querySelfIntervalMs: 0 }), MAX_TIMER_MS)
    assert.equal(querySelfInterval({ querySelfIntervalMs: 2 ** 40 }), MAX_TIMER_MS)
    assert.equal(querySelfInterval({ querySelfIntervalMs: 900_000 }), 900_000)
  })
})
