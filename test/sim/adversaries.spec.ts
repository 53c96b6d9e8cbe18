/**
 * The simulation's adversaries (test/sim/adversaries.ts), each against the
 * real relay of src/peer: a relay that drops puts refuses them; one that
 * delays answers late and still stores; one that discards signs a receipt
 * the real store client verifies, yet holds nothing and gossips nothing; a
 * DHT server's datastore keeps no record; a flood stops at the relay's
 * per-source budget. Who is malicious is drawn from the seed.
 */
import assert from 'node:assert/strict'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Key } from 'interface-datastore'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { MemoryLevel } from 'memory-level'
import type { Level } from 'level'
import { mailboxId, storeEnvelope } from '../../src/protocols/store/index.js'
import { nodeCrypto } from '../../node/platform.js'
import { Flooder, HidingDatastore, chooseAdversaries, hasAdversaries, junkEnvelope, noAdversaryCounts, subvertRelay, userLoopbackAddress } from './adversaries.js'
import { SimRelay } from './nodes.js'
import type { SimRelayInit } from './nodes.js'
import { parseScenario } from './scenario.js'

const base = { seed: 7, relays: 10, users: 40, durationSeconds: 60 }

async function simRelay (index: number, extra: Partial<SimRelayInit> = {}): Promise<SimRelay> {
  const key = await generateKeyPair('Ed25519')
  const relay = new SimRelay(
    { index, key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), peerId: peerIdFromPrivateKey(key).toString(), port: 0, worker: 0 },
    { crypto: nodeCrypto(), latencyMs: 0, runId: `adv-${process.pid}`, peers: [], keepAliveIntervalMs: 10_000, syncIntervalMs: 180_000, ...extra }
  )
  await relay.start()
  return relay
}

/** The relay's memory address (its announced TCP one is port 0 here). */
function at (relay: SimRelay): Multiaddr[] {
  return [multiaddr(`${relay.memoryAddr}/p2p/${relay.info.peerId}`)]
}

describe('simulation: adversaries', function () {
  this.timeout(60_000)

  it('who is malicious is drawn from the seed: the same seed the same choice, in the shares asked', () => {
    const s = parseScenario({ ...base, adversaries: { relays: { share: 0.2 }, dhtServers: { count: 3 }, users: { share: 0.2 } } })
    const a = chooseAdversaries(s)
    assert.deepEqual(chooseAdversaries(s), a)
    assert.notDeepEqual(chooseAdversaries({ ...s, seed: 8 }), a)
    assert.equal(a.relays.size, 2)
    assert.deepEqual([...a.relays.values()], ['drop', 'delay'])
    assert.equal(a.dhtServers.size, 3)
    assert.equal(a.sybils.size, 8)
    for (const victim of a.sybils.values()) assert.ok(!a.sybils.has(victim), `sybil ${victim} chosen as a victim`)
    assert.equal(hasAdversaries(chooseAdversaries(parseScenario(base))), false)
    assert.equal(userLoopbackAddress(0), '127.0.0.2')
    assert.equal(userLoopbackAddress(300), '127.0.1.46')
  })

  it('a relay that discards signs a receipt the store client verifies, then holds and gossips nothing; fetches come back empty', async () => {
    const counts = noAdversaryCounts()
    const target = await simRelay(0, { subvert: (r) => { subvertRelay(r, 'discard', 0, counts) } })
    const sender = await simRelay(1)
    try {
      const owner = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
      const mailbox = mailboxId(owner)
      const receipt = await storeEnvelope(sender.relay!.node, at(target), mailbox, junkEnvelope(1024))
      assert.ok(receipt.expiresAt > receipt.storedAt)
      assert.equal(counts.receiptsForgedThenDiscarded, 1)
      const held = await target.relay!.mailbox.store.fetch(mailbox, undefined, 10, 1 << 20)
      assert.equal(held.envelopes.length, 0, 'the envelope was stored')
      assert.equal(target.relay!.mailbox.metrics().gossip.published, 0)
      assert.equal((await target.relay!.mailbox.fetch(mailbox, undefined, 10, 1 << 20)).envelopes.length, 0)
      assert.equal(counts.relayFetchesEmptied, 1)
    } finally {
      await sender.stop()
      await target.stop()
    }
  })

  it('a relay that drops refuses every put; one that delays answers late and stores', async () => {
    const counts = noAdversaryCounts()
    const dropping = await simRelay(0, { subvert: (r) => { subvertRelay(r, 'drop', 0, counts) } })
    const delaying = await simRelay(1, { subvert: (r) => { subvertRelay(r, 'delay', 400, counts) } })
    const sender = await simRelay(2)
    try {
      const mailbox = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
      await assert.rejects(storeEnvelope(sender.relay!.node, at(dropping), mailbox, junkEnvelope(1024)))
      assert.equal(counts.relayPutsDropped, 1)
      const started = performance.now()
      await storeEnvelope(sender.relay!.node, at(delaying), mailbox, junkEnvelope(1024))
      assert.ok(performance.now() - started >= 390, 'the put was not delayed')
      assert.equal(counts.relayPutsDelayed, 1)
      assert.equal((await delaying.relay!.mailbox.store.fetch(mailbox, undefined, 10, 1 << 20)).envelopes.length, 1)
    } finally {
      await sender.stop()
      await Promise.all([dropping.stop(), delaying.stop()])
    }
  })

  it('a malicious DHT server keeps no value or provider record, and keeps everything else', async () => {
    const counts = noAdversaryCounts()
    const db = new MemoryLevel<string, Uint8Array>({ keyEncoding: 'utf8', valueEncoding: 'view' })
    const store = new HidingDatastore(db as unknown as Level<string, Uint8Array>, counts)
    await store.open()
    const record = new Key('/dht/record/abc')
    const provider = new Key('/dht/provider/abc/def')
    const peer = new Key('/peers/xyz')
    for (const k of [record, provider, peer]) await store.put(k, new Uint8Array([1]))
    await assert.rejects(store.get(record), { name: 'NotFoundError' })
    assert.equal(await store.has(provider), false)
    assert.deepEqual([...await store.get(peer)], [1])
    assert.equal(counts.dhtRecordsHidden, 2)
    assert.equal(counts.dhtLookupsHidden, 1)
    await store.close()
  })

  it('a flood stops at the relay\'s per-source budget: the rest is refused', async () => {
    const counts = noAdversaryCounts()
    const relay = await simRelay(0, { storage: { maxEnvelopesPerMailboxPerSource: 3 } })
    const sybil = await simRelay(1)
    try {
      const mailbox = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
      const flooder = new Flooder(() => sybil.relay?.node, [{ relay: at(relay), mailbox }], { intervalMs: 5, envelopeBytes: 1024, counts })
      flooder.start()
      while (counts.floodPutsStored + counts.floodPutsRefused + counts.floodPutsFailed < 8) await new Promise(resolve => setTimeout(resolve, 20))
      flooder.stop()
      assert.equal(counts.floodPutsFailed, 0)
      assert.equal(counts.floodPutsStored, 3)
      assert.ok(counts.floodPutsRefused >= 5)
      assert.equal((await relay.relay!.mailbox.store.fetch(mailbox, undefined, 100, 1 << 20)).envelopes.length, 3)
    } finally {
      await sybil.stop()
      await relay.stop()
    }
  })
})
