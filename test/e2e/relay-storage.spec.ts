/**
 * Strangers against a relay's disk, with real relay processes (LevelDB) on
 * loopback; each party dials from its own 127.0.0.x address. Each test
 * prints the relay's disk and memory before and after.
 *
 *   - One source with many peer ids hands envelopes to random mailboxes
 *     until refused: the relay's disk grows by at most that source's budget
 *     (plus 1%), and another source still gets in.
 *   - A peer outside the relay set joins the mailbox shards and publishes
 *     envelopes: no relay stores any of them.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { identify } from '@libp2p/identify'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import type { TCPSocketOptions } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { toHex } from '../../src/crypto/bytes.js'
import { StoreClient, allShardTopics, mailboxId, mailboxTopic } from '../../src/protocols/store/index.js'
import { chargeOf, encodeEnvelopeGossip, mailboxGossipsubOptions } from '../../src/relay/index.js'
import { fakeEnvelope } from '../unit/relay/helpers.js'
import { Network, Processes, eventually, mapLimit } from './harness.js'
import { diskBytes, footprint, nodeFrom, printFootprint } from './measure.js'

const MIB = 1024 * 1024

/** Polls the relay's disk until two readings a second apart agree (LevelDB may still be compacting). */
async function settledDisk (dir: string): Promise<number> {
  let last = -1
  for (let i = 0; i < 60; i++) {
    const now = await diskBytes(dir)
    if (now === last) return now
    last = now
    await new Promise(resolve => setTimeout(resolve, 1000))
  }
  return last
}

function randomMailbox (): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32))
}

describe('e2e: strangers against a relay\'s disk', function () {
  this.timeout(300_000)
  const procs = new Processes()
  const net = new Network(procs)
  after(async () => procs.stopAll())

  it('one source, with 60 peer ids, grows the relay\'s disk by at most its budget (plus 1%); another source still gets in', async () => {
    const budget = 8 * MIB
    const relay = await net.startRelay(undefined, 0, ['--max-storage-per-source', String(budget)])
    const addr = multiaddr(relay.addr)
    const before = { ...await footprint(relay.dataDir, relay.relay.proc), disk: await settledDisk(relay.dataDir) }

    // 60 sybils of 127.0.0.2 each try 40 envelopes into random mailboxes, every other one 16 KiB and the
    // rest the smallest a relay takes (where its own bytes per envelope weigh most): 2.4 times the budget.
    const big = 16 * 1024
    let stored = 0
    let storedCharge = 0
    const refusals = new Map<string, number>()
    await mapLimit(Array.from({ length: 60 }, (_, i) => i), 6, async () => {
      const sybil = await nodeFrom('127.0.0.2')
      const client = new StoreClient(sybil)
      try {
        for (let j = 0; j < 40; j++) {
          const envelope = fakeEnvelope(j % 2 === 0 ? big : 0)
          try {
            await client.put(addr, randomMailbox(), envelope)
            stored++
            storedCharge += chargeOf(envelope.length)
          } catch (err) {
            const quota = (err as Error & { quota?: string }).quota ?? (err as Error).name
            refusals.set(quota, (refusals.get(quota) ?? 0) + 1)
          }
        }
      } finally {
        await client.close()
        await sybil.stop()
      }
    })
    const after = { ...await footprint(relay.dataDir, relay.relay.proc), disk: await settledDisk(relay.dataDir) }
    printFootprint(`2,400 puts from one source with 60 peer ids (${stored} stored, refused: ${JSON.stringify(Object.fromEntries(refusals))}), budget ${budget} bytes`, before, after)
    assert.ok(storedCharge <= budget, `${stored} envelopes stored`)
    assert.ok(stored > 0)
    assert.deepEqual([...refusals.keys()], ['source-budget'])
    assert.ok(after.disk - before.disk <= budget * 1.01, `the relay's disk grew by ${after.disk - before.disk} bytes, over ${budget} + 1%`)

    // Someone else still gets in.
    const other = await nodeFrom('127.0.0.3')
    const client = new StoreClient(other)
    try {
      await client.put(addr, randomMailbox(), fakeEnvelope(big))
    } finally {
      await client.close()
      await other.stop()
    }
  })

  it('gossip from a peer outside the relay set stores nothing on any relay', async () => {
    const [a, b] = await net.startLinkedRelays(2)
    const ownerKey = await generateKeyPair('Ed25519')
    const mailbox = mailboxId(peerIdFromPrivateKey(ownerKey))
    const topic = mailboxTopic(mailbox)
    const before = await footprint(a.dataDir, a.relay.proc)

    // A stranger that speaks the mailbox gossip joins relay A's shards and publishes 200 envelopes.
    const stranger = await createLibp2p({
      transports: [tcp({ dialOpts: { localAddress: '127.0.0.4' } as TCPSocketOptions })],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), pubsub: gossipsub(mailboxGossipsubOptions({ loopback: true, relaySet: { has: () => true } })) }
    }) as unknown as Libp2p<{ pubsub: GossipSub }>
    const owner = await nodeFrom('127.0.0.5')
    const client = new StoreClient(owner)
    try {
      for (const t of allShardTopics()) stranger.services.pubsub.subscribe(t)
      await stranger.dial(multiaddr(a.addr))
      await eventually(async () => stranger.services.pubsub.getSubscribers(topic).length > 0 ? true : undefined, 15_000, 'relay A on the stranger\'s shard')
      for (let i = 0; i < 200; i++) await stranger.services.pubsub.publish(topic, encodeEnvelopeGossip(mailbox, fakeEnvelope(1024)))

      // A marker handed to relay B after the stranger's gossip: once relay A holds it (from B, a linked relay), A had time to take the stranger's too.
      const marker = fakeEnvelope(1024)
      await client.put(multiaddr(b.addr), mailbox, marker)
      const page = await eventually(async () => {
        const p = await client.fetch(multiaddr(a.addr), ownerKey, { limit: 500 })
        return p.envelopes.some(e => toHex(e.envelope) === toHex(marker)) ? p : undefined
      }, 30_000, 'the marker on relay A')
      const after = await footprint(a.dataDir, a.relay.proc)
      printFootprint('200 envelopes gossiped by a non-relay', before, after)
      assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(marker)], 'relay A stored only the marker')
      const onB = await client.fetch(multiaddr(b.addr), ownerKey, { limit: 500 })
      assert.deepEqual(onB.envelopes.map(e => toHex(e.envelope)), [toHex(marker)], 'relay B stored only the marker')
    } finally {
      await client.close()
      await owner.stop()
      await stranger.stop()
    }
  })
})
