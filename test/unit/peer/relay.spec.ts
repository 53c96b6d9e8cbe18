/**
 * A relay's composition root (src/peer/relay.ts) in one process, as a
 * simulation runs relays: two linked relays and user peers over libp2p's
 * memory transport, every store in memory-level. The relays link (gossip,
 * signed relay set, anti-entropy) and serve the DHT a user peer publishes
 * to; an envelope handed to one relay is served by the other; a message to
 * a user who is away reaches them through the relays; stopping a relay
 * closes what it opened, and a step that fails closes what was opened
 * before it.
 *
 * Not here: circuit relay reservations. Over the memory transport libp2p
 * 3 refuses `/memory/.../p2p/<relay>/p2p-circuit` as a listen address (its
 * address matcher knows no /memory), and with `/p2p/<relay>/p2p-circuit`
 * the slot is reserved but the listen call still fails (the address
 * manager asks for the IP of the relay's /memory address). In-process
 * users dial each other's memory addresses directly and need no slot.
 */
import assert from 'node:assert/strict'
import { memory } from '@libp2p/memory'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { sha256 } from '@noble/hashes/sha2.js'
import { MemoryLevel } from 'memory-level'
import { toHex } from '../../../src/crypto/bytes.js'
import { createIdentity, createStarlingPeer, createStarlingRelay, historyView } from '../../../src/peer/index.js'
import type { RelayPlatform, StarlingPeer, StarlingRelay } from '../../../src/peer/index.js'
import { fetchRelaySet } from '../../../src/protocols/relays/index.js'
import { StoreClient, allShardTopics, mailboxId } from '../../../src/protocols/store/index.js'
import { LevelStore } from '../../../src/store/index.js'
import type { Store } from '../../../src/store/index.js'
import { fakeEnvelope, waitFor } from '../relay/helpers.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { memoryPlatform } from './platform.js'

let count = 0
const memoryAddr = (name: string): string => `/memory/relay-spec-${process.pid}-${name}-${++count}`

/** A relay's platform in memory; `opened` lists the stores it opened. */
function memoryRelayPlatform (key: PrivateKey): RelayPlatform & { opened: Store[] } {
  const opened: Store[] = []
  return {
    crypto,
    opened,
    transports: () => [memory()],
    peerKey: async () => key,
    openStore: async () => {
      const store = new LevelStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
      await store.open()
      opened.push(store)
      return store
    }
  }
}

/** Two relays linked both ways (each lists the other), as operators link them. */
async function linkedRelays (): Promise<{ relays: StarlingRelay[], platforms: Array<RelayPlatform & { opened: Store[] }>, addrs: string[] }> {
  const keys = await Promise.all([0, 1].map(async () => await generateKeyPair('Ed25519')))
  const listen = ['a', 'b'].map(memoryAddr)
  const addrs = keys.map((key, i) => `${listen[i]}/p2p/${peerIdFromPrivateKey(key).toString()}`)
  const platforms = keys.map(memoryRelayPlatform)
  const relays: StarlingRelay[] = []
  for (const i of [0, 1]) {
    relays.push(await createStarlingRelay(platforms[i], { listen: [listen[i]], announce: [], peers: [addrs[1 - i]], loopback: true }))
  }
  return { relays, platforms, addrs }
}

describe('peer: createStarlingRelay', function () {
  this.timeout(120_000)
  const running: Array<{ stop(): Promise<void> }> = []
  afterEach(async () => {
    for (const r of running.splice(0).reverse()) await r.stop()
  })

  it('two linked relays and a user peer in one process: records published through the relays\' DHT, the signed relay set, an envelope handed to one served by the other, and stores closed on stop', async () => {
    const { relays, platforms, addrs } = await linkedRelays()
    running.push(...relays)
    const [a, b] = relays
    await waitFor('the relays on each other\'s shard topics', () => relays.every((r, i) => allShardTopics().every(topic =>
      r.node.services.pubsub != null && (r.node.services.pubsub as { getSubscribers(t: string): Array<{ toString(): string }> }).getSubscribers(topic).some(p => p.toString() === relays[1 - i].node.peerId.toString()))), 30_000)

    const platform = memoryPlatform(crypto)
    await createIdentity(crypto, platform.keys, 'alice')
    const alice = await createStarlingPeer(platform, { bootstrap: [addrs[0]], listen: [memoryAddr('alice')], loopback: true })
    await alice.start()
    running.push(alice)
    await waitFor('alice\'s records published on the relays\' DHT', () => alice.status().published != null, 30_000)

    // A's signed relay set names B: the user reads its mailbox on both.
    const view = await fetchRelaySet(alice.node, a.node.peerId)
    assert.deepEqual(view.relays.map(r => r.peerId.toString()), [b.node.peerId.toString()])

    // An envelope handed to A reaches B (gossip, or anti-entropy), which serves it to its owner.
    const device = await generateKeyPair('Ed25519')
    const mailbox = mailboxId(peerIdFromPrivateKey(device))
    const envelope = fakeEnvelope()
    const client = new StoreClient(alice.node)
    try {
      const receipt = await client.put(a.node.peerId, mailbox, envelope)
      assert.equal(toHex(receipt.hash), toHex(sha256(envelope)))
      await waitFor('the envelope on relay B', async () => (await b.mailbox.store.usage(mailbox)).count === 1, 30_000)
      const page = await client.fetch(b.node.peerId, device)
      assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(envelope)])
    } finally {
      await client.close()
    }

    running.splice(0)
    await alice.stop()
    for (const relay of relays) await relay.stop()
    for (const p of platforms) await assert.rejects(p.opened[0].get('relay', new Uint8Array([0x55])), { name: 'StoreClosedError' })
  })

  it('a message to a user who is away goes through the relays and reaches them when they are back', async () => {
    const { relays, addrs } = await linkedRelays()
    running.push(...relays)
    const fast = { fetchIntervalMs: 500, retryIntervalMs: 250 }
    const alicePlatform = memoryPlatform(crypto)
    const bobPlatform = memoryPlatform(crypto)
    await createIdentity(crypto, alicePlatform.keys, 'alice')
    const bobId = await createIdentity(crypto, bobPlatform.keys, 'bob')
    const bobHandle = `bob~${bobId.tag}`
    const published = async (peer: StarlingPeer): Promise<void> => {
      await waitFor('records published', () => peer.status().published != null, 30_000)
    }
    const startBob = async (): Promise<StarlingPeer> => {
      const peer = await createStarlingPeer(bobPlatform, { bootstrap: [addrs[1]], listen: [memoryAddr('bob')], loopback: true, messenger: fast })
      await peer.start()
      await published(peer)
      return peer
    }
    // Bob publishes his records through relay B, then goes away.
    let bob = await startBob()
    await bob.stop()

    const alice = await createStarlingPeer(alicePlatform, { bootstrap: [addrs[0]], listen: [memoryAddr('alice')], loopback: true, messenger: fast })
    await alice.start()
    running.push(alice)
    await published(alice)
    const sent = await alice.messenger.send(bobHandle, { kind: 'text', text: 'while you were away' })
    const state = async (): Promise<{ sendState?: string, relays?: number } | undefined> => (await historyView(alice.messenger, bobHandle)).messages.find(m => m.id === sent.id)
    await waitFor('held by two relays', async () => (await state())?.sendState === 'relayed' && (await state())?.relays === 2, 30_000)

    bob = await startBob()
    running.push(bob)
    await waitFor('the message at bob', async () => {
      const history = await bob.messenger.history.view(alice.identity.accountPublicKey)
      return history.messages.some(m => m.text === 'while you were away')
    }, 30_000)
    await waitFor('delivered, as alice sees it', async () => (await state())?.sendState === 'delivered', 30_000)
  })

  it('a linked relay named without its peer id is refused before anything is opened; a step that fails closes the store again', async () => {
    const platform = memoryRelayPlatform(await generateKeyPair('Ed25519'))
    await assert.rejects(createStarlingRelay(platform, { listen: [], announce: [], peers: ['/memory/nobody'] }), { name: 'InvalidRelayAddressError' })
    assert.equal(platform.opened.length, 0)
    platform.transports = () => { throw new Error('no transport on this platform') }
    await assert.rejects(createStarlingRelay(platform, { listen: [], announce: [] }), /no transport on this platform/)
    assert.equal(platform.opened.length, 1)
    await assert.rejects(platform.opened[0].get('relay', new Uint8Array([0x55])), { name: 'StoreClosedError' })
  })
})
