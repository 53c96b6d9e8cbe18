/**
 * Several relays on 127.0.0.1 (TCP, gossipsub on the mailbox shards) and a
 * user node: envelopes and signed deletes spread by gossip among linked
 * relays, forged deletes do nothing, a delete of junk served under a real
 * id deletes nothing real, gossip from outside the relay set is ignored,
 * envelopes survive restarts, and nothing the relays store or gossip names
 * the sender.
 */
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { createCrypto } from '../../../src/crypto/index.js'
import { toHex } from '../../../src/crypto/bytes.js'
import { parseEnvelopeHeader, sealEnvelope } from '../../../src/crypto/envelope.js'
import { AuthOp, StoreClient, allShardTopics, deleteBody, envelopeRef, mailboxId, mailboxTopic, signOwnerAuth, wire } from '../../../src/protocols/store/index.js'
import type { WireBytes } from '../../../src/protocols/store/index.js'
import { encodeDeleteGossip, encodeEnvelopeGossip, mailboxGossipsubOptions } from '../../../src/relay/index.js'
import { fakeClock, fakeEnvelope, meshRelays, startRelay, startUser, tempDir, waitFor } from './helpers.js'
import type { FakeClock, TestRelay, UserNode } from './helpers.js'

async function held (relay: TestRelay, mailbox: Uint8Array): Promise<number> {
  return (await relay.store.usage(mailbox)).count
}

function refOf (envelope: Uint8Array): { id: Uint8Array, hash: Uint8Array } {
  return envelopeRef(parseEnvelopeHeader(envelope).id, envelope)
}

function onWire (refs: Array<{ id: Uint8Array, hash: Uint8Array }>): Array<{ id: WireBytes, hash: WireBytes }> {
  return refs.map(r => ({ id: wire(r.id), hash: wire(r.hash) }))
}

/** A peer that speaks the mailbox gossip (as a relay would), with no store of its own; it takes gossip from anyone. */
async function startGossiper (): Promise<Libp2p<{ pubsub: GossipSub }>> {
  return await createLibp2p({
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify(), pubsub: gossipsub(mailboxGossipsubOptions({ loopback: true, relaySet: { has: () => true } })) }
  }) as unknown as Libp2p<{ pubsub: GossipSub }>
}

async function newDevice (): Promise<{ key: PrivateKey, mailbox: Uint8Array }> {
  const key = await generateKeyPair('Ed25519')
  return { key, mailbox: mailboxId(peerIdFromPrivateKey(key)) }
}

describe('relay/mailbox-relay across relays', function () {
  this.timeout(60_000)
  let relays: TestRelay[] = []
  let user: UserNode
  let client: StoreClient
  let clock: FakeClock
  let removers: Array<() => Promise<void>> = []

  before(async () => {
    clock = fakeClock()
    for (let i = 0; i < 3; i++) {
      const tmp = await tempDir()
      removers.push(tmp.remove)
      relays.push(await startRelay({ location: join(tmp.dir, 'db'), store: { now: clock.now }, service: { now: clock.now } }))
    }
    await meshRelays(relays)
    user = await startUser()
    for (const relay of relays) await user.dial(relay.node.getMultiaddrs())
    client = new StoreClient(user, { now: clock.now })
  })

  after(async () => {
    await client.close()
    await user.stop()
    for (const relay of relays) await relay.stop()
    for (const remove of removers) await remove()
    relays = []
    removers = []
  })

  it('an envelope put on one relay reaches the others by gossip, and they serve it', async () => {
    const { key, mailbox } = await newDevice()
    const envelope = fakeEnvelope()
    await client.put(relays[0].node.peerId, mailbox, envelope)
    await waitFor('gossip to every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 1))
    for (const relay of relays.slice(1)) {
      const page = await client.fetch(relay.node.peerId, key)
      assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(envelope)])
    }
    assert.ok(relays[1].mailbox.metrics().gossip.stored >= 1)
  })

  it('the same envelope put on two relays is held once by each', async () => {
    const { mailbox } = await newDevice()
    const envelope = fakeEnvelope()
    await Promise.all([client.put(relays[0].node.peerId, mailbox, envelope), client.put(relays[1].node.peerId, mailbox, envelope)])
    await waitFor('gossip to every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 1))
    // Let any late copy arrive, then check nothing was stored twice.
    await new Promise(resolve => setTimeout(resolve, 300))
    for (const relay of relays) assert.equal(await held(relay, mailbox), 1)
  })

  it('a delete on one relay removes the envelope on the others through the signed gossip', async () => {
    const { key, mailbox } = await newDevice()
    const keep = fakeEnvelope()
    const drop = fakeEnvelope()
    await client.put(relays[0].node.peerId, mailbox, keep)
    await client.put(relays[0].node.peerId, mailbox, drop)
    await waitFor('gossip to every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 2))
    assert.equal(await client.delete(relays[1].node.peerId, key, [refOf(drop)]), 1)
    await waitFor('the delete on every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 1))
    const page = await client.fetch(relays[2].node.peerId, key)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(keep)])
    // Every relay keeps a tombstone: the same envelope handed over again is not held again, anywhere.
    for (const relay of relays) assert.ok(relay.store.metrics.tombstones >= 1)
    for (const relay of relays) await assert.rejects(client.put(relay.node.peerId, mailbox, drop), { name: 'InvalidStoreRequestError', message: /deleted it/ })
    for (const relay of relays) assert.equal(await held(relay, mailbox), 1)
  })

  it('a junk envelope\'s hash deletes nothing anywhere: the owner\'s delete of junk served under a real id leaves the real envelope on every relay', async () => {
    const { key, mailbox } = await newDevice()
    const real = fakeEnvelope()
    await client.put(relays[0].node.peerId, mailbox, real)
    await waitFor('gossip to every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 1))
    // What a malicious relay serves under the real id, and what the owner opened and deletes.
    const junk = fakeEnvelope()
    junk.set(parseEnvelopeHeader(real).id, 1)
    const before = relays.map(r => r.mailbox.metrics().store.hashMismatches)
    assert.equal(await client.delete(relays[1].node.peerId, key, [refOf(junk)]), 0)
    await waitFor('the signed delete handled on every relay', () => relays.every((r, i) => r.mailbox.metrics().store.hashMismatches === before[i] + 1))
    for (const relay of relays) {
      const page = await client.fetch(relay.node.peerId, key)
      assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(real)])
    }
    // The real envelope, once opened, goes everywhere.
    assert.equal(await client.delete(relays[2].node.peerId, key, [refOf(real)]), 1)
    await waitFor('the real delete on every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 0))
  })

  it('gossip from a peer outside the relay set stores and deletes nothing, however valid', async () => {
    const { key, mailbox } = await newDevice()
    const kept = fakeEnvelope()
    await client.put(relays[0].node.peerId, mailbox, kept)
    await waitFor('gossip to every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 1))
    const stranger = await startGossiper()
    try {
      for (const relay of relays) await stranger.dial(relay.node.getMultiaddrs())
      const topic = mailboxTopic(mailbox)
      // Give gossipsub time to exchange subscriptions (it would with a relay of the set).
      await waitFor('the stranger sees the relays subscribed', () => stranger.services.pubsub.getSubscribers(topic).length === relays.length)
      const before = relays.map(r => r.mailbox.metrics().gossip)
      const relayId = relays[0].node.peerId
      const { auth } = await signOwnerAuth(key, AuthOp.delete, relayId, clock.t, deleteBody([refOf(kept)]))
      const planted = fakeEnvelope()
      await stranger.services.pubsub.publish(topic, encodeEnvelopeGossip(mailbox, planted))
      await stranger.services.pubsub.publish(topic, encodeDeleteGossip({ mailbox: wire(mailbox), refs: onWire([refOf(kept)]), auth, relay: wire(relayId.toMultihash().bytes) }))
      // A marker from a linked relay after the stranger's gossip: once it is stored everywhere, the stranger's had its chance.
      const marker = fakeEnvelope()
      await client.put(relays[0].node.peerId, mailbox, marker)
      await waitFor('the marker on every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 2))
      for (const relay of relays) {
        const page = await client.fetch(relay.node.peerId, key)
        assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(kept), toHex(marker)])
      }
      relays.forEach((r, i) => assert.equal(r.mailbox.metrics().gossip.stored, before[i].stored + (i === 0 ? 0 : 1), 'only the marker stored from gossip'))
    } finally {
      await stranger.stop()
    }
  })

  it('a linked relay\'s forged and unsigned gossip deletes are rejected; the same delete signed by the owner is applied', async () => {
    const { key, mailbox } = await newDevice()
    const envelope = fakeEnvelope()
    const ref = refOf(envelope)
    await client.put(relays[0].node.peerId, mailbox, envelope)
    await waitFor('gossip to every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 1))

    // A rogue relay of the set that speaks the mailbox gossip but holds no owner key.
    const rogue = await startGossiper()
    try {
      for (const relay of relays) relay.linked.add(rogue.peerId.toString())
      for (const relay of relays) await rogue.dial(relay.node.getMultiaddrs())
      const topic = mailboxTopic(mailbox)
      await waitFor('rogue sees the relays', () => rogue.services.pubsub.getSubscribers(topic).length === relays.length)
      const rejectedBefore = relays.map(r => r.mailbox.metrics().gossip.rejected)
      const relayId = relays[0].node.peerId
      const stranger = await generateKeyPair('Ed25519')
      const { auth: strangerAuth } = await signOwnerAuth(stranger, AuthOp.delete, relayId, clock.t, deleteBody([ref]))
      const forged = [
        encodeDeleteGossip({ mailbox: wire(mailbox), refs: onWire([ref]), relay: wire(relayId.toMultihash().bytes) }),
        encodeDeleteGossip({ mailbox: wire(mailbox), refs: onWire([ref]), auth: strangerAuth, relay: wire(relayId.toMultihash().bytes) })
      ]
      for (const data of forged) await rogue.services.pubsub.publish(topic, data)
      await waitFor('the relays reject both', () => relays.every((r, i) => r.mailbox.metrics().gossip.rejected >= rejectedBefore[i] + 2))
      for (const relay of relays) assert.equal(await held(relay, mailbox), 1)

      const { auth } = await signOwnerAuth(key, AuthOp.delete, relayId, clock.t, deleteBody([ref]))
      await rogue.services.pubsub.publish(topic, encodeDeleteGossip({ mailbox: wire(mailbox), refs: onWire([ref]), auth, relay: wire(relayId.toMultihash().bytes) }))
      await waitFor('the signed delete on every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 0))
    } finally {
      for (const relay of relays) relay.linked.delete(rogue.peerId.toString())
      await rogue.stop()
    }
  })

  it('relays drop expired envelopes on their sweep and count them', async () => {
    const { key, mailbox } = await newDevice()
    await client.put(relays[0].node.peerId, mailbox, fakeEnvelope())
    await waitFor('gossip to every relay', async () => (await Promise.all(relays.map(async r => await held(r, mailbox)))).every(n => n === 1))
    const before = relays[0].mailbox.metrics().store.expired
    clock.t += relays[0].store.retentionMs
    try {
      assert.ok(await relays[0].mailbox.sweep() >= 1)
      assert.equal(await held(relays[0], mailbox), 0)
      assert.ok(relays[0].mailbox.metrics().store.expired >= before + 1)
      assert.equal((await client.fetch(relays[1].node.peerId, key)).envelopes.length, 0)
    } finally {
      // Later tests sweep nothing of theirs: every relay has dropped what is old now.
      for (const relay of relays) await relay.mailbox.sweep()
    }
  })
})

describe('relay/mailbox-relay restarts and privacy', function () {
  this.timeout(60_000)

  it('envelopes survive a relay restart (store and node closed and reopened)', async () => {
    const tmp = await tempDir()
    const location = join(tmp.dir, 'db')
    let relay = await startRelay({ location })
    const user = await startUser()
    try {
      const { key, mailbox } = await newDevice()
      const envelopes = [fakeEnvelope(), fakeEnvelope(2000)]
      const client = new StoreClient(user)
      for (const e of envelopes) await client.put(relay.node.getMultiaddrs(), mailbox, e)
      await client.close()
      await relay.stop()
      relay = await startRelay({ location, privateKey: relay.privateKey })
      const again = new StoreClient(user)
      const page = await again.fetch(relay.node.getMultiaddrs(), key)
      await again.close()
      assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), envelopes.map(toHex))
    } finally {
      await user.stop()
      await relay.stop()
      await tmp.remove()
    }
  })

  it('a relay whose quota for a mailbox is full drops further gossip for it and counts it; the others still hold it', async () => {
    const dirs = [await tempDir(), await tempDir()]
    const relays = [
      await startRelay({ location: join(dirs[0].dir, 'db') }),
      await startRelay({ location: join(dirs[1].dir, 'db'), store: { maxEnvelopesPerMailbox: 1 } })
    ]
    const user = await startUser()
    try {
      await meshRelays(relays)
      const { mailbox } = await newDevice()
      await user.dial(relays[0].node.getMultiaddrs())
      const client = new StoreClient(user)
      await client.put(relays[0].node.peerId, mailbox, fakeEnvelope())
      await client.put(relays[0].node.peerId, mailbox, fakeEnvelope())
      await client.close()
      await waitFor('both gossip messages handled', () => {
        const gossip = relays[1].mailbox.metrics().gossip
        return gossip.stored + gossip.dropped === 2
      })
      assert.equal(await held(relays[0], mailbox), 2)
      assert.equal(await held(relays[1], mailbox), 1)
      assert.equal(relays[1].mailbox.metrics().gossip.dropped, 1)
      assert.equal(relays[1].mailbox.metrics().store.rejected.quota, 1)
    } finally {
      await user.stop()
      for (const relay of relays) await relay.stop()
      for (const dir of dirs) await dir.remove()
    }
  })

  it('what relays store and gossip holds no sender identity and no plaintext', async () => {
    const crypto = createCrypto()
    const dirs = [await tempDir(), await tempDir()]
    const relays = [await startRelay({ location: join(dirs[0].dir, 'db') }), await startRelay({ location: join(dirs[1].dir, 'db') })]
    const senderKey = await generateKeyPair('Ed25519')
    const sender = await startUser(senderKey)
    const gossiped: Uint8Array[] = []
    try {
      await meshRelays(relays)
      relays[1].node.services.pubsub.addEventListener('gossipsub:message', (evt) => { gossiped.push(evt.detail.msg.data) })

      const account = await crypto.ed25519.generateKeyPair()
      const senderIdentity = await crypto.x25519.generateKeyPair()
      const recipientIdentity = await crypto.x25519.generateKeyPair()
      const recipient = await newDevice()
      const plaintext = new TextEncoder().encode('the secret plaintext that no relay may see, 2026-11-22')
      const { envelope } = await sealEnvelope(crypto, recipientIdentity.publicKey, { accountKey: account.publicKey, identityKey: senderIdentity }, plaintext)
      await sender.dial(relays[0].node.getMultiaddrs())
      const client = new StoreClient(sender)
      await client.put(relays[0].node.peerId, recipient.mailbox, envelope)
      await client.close()
      await waitFor('gossip to the second relay', () => gossiped.length > 0)
      await waitFor('the second relay stores it', async () => await held(relays[1], recipient.mailbox) === 1)

      const secrets: Record<string, Uint8Array> = {
        plaintext,
        senderPeerId: peerIdFromPrivateKey(senderKey).toMultihash().bytes,
        senderPeerIdText: new TextEncoder().encode(peerIdFromPrivateKey(senderKey).toString()),
        senderAccountKey: account.publicKey,
        senderIdentityKey: senderIdentity.publicKey,
        senderPublicKey: senderKey.publicKey.raw
      }
      // Decoded view: every key and value in the relay namespace, and every gossip payload.
      const decoded: Uint8Array[] = [...gossiped]
      for (const relay of relays) {
        for await (const [k, v] of relay.level.iterate('relay')) decoded.push(k, v)
      }
      for (const relay of relays) await relay.stop()
      // Raw view: every file of both LevelDBs (the write-ahead log holds the records uncompressed).
      const raw: Uint8Array[] = []
      for (const dir of dirs) {
        for (const name of await readdir(join(dir.dir, 'db'))) raw.push(await readFile(join(dir.dir, 'db', name)))
      }
      const found = (haystacks: Uint8Array[], needle: Uint8Array): boolean => haystacks.some(h => Buffer.from(h).includes(Buffer.from(needle)))
      // The searches can succeed: the envelope itself is in both views.
      assert.equal(found(decoded, envelope), true)
      assert.equal(found(raw, envelope.subarray(0, 64)), true)
      for (const [what, needle] of Object.entries(secrets)) {
        assert.equal(found(decoded, needle), false, `${what} in decoded store or gossip`)
        assert.equal(found(raw, needle), false, `${what} in LevelDB files`)
      }
    } finally {
      await sender.stop()
      for (const relay of relays) await relay.stop().catch(() => {})
      for (const dir of dirs) await dir.remove()
    }
  })
})

describe('relay/mailbox-relay subscriptions', function () {
  this.timeout(30_000)
  it('a relay subscribes to every shard topic, and only those, at start', async () => {
    const tmp = await tempDir()
    const relay = await startRelay({ location: join(tmp.dir, 'db') })
    try {
      assert.deepEqual(relay.node.services.pubsub.getTopics().sort(), allShardTopics().sort())
    } finally {
      await relay.stop()
      await tmp.remove()
    }
  })
})
