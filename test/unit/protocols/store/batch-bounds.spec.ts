/**
 * Batches buy no more under way than single puts: each put of a batch
 * counts against the bound per stream (MAX_PIPELINED_REQUESTS) and per
 * source (MAX_IN_FLIGHT_PER_SOURCE), and a batch is answered only once
 * every one of its puts is stored. Real libp2p nodes on 127.0.0.x; the
 * backend's puts wait at a gate, so what is under way is counted exactly,
 * whatever the load of the machine.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { MAX_IN_FLIGHT_PER_SOURCE, MAX_PIPELINED_REQUESTS, MAX_PUT_BATCH, STORE_PROTOCOL, wire } from '../../../../src/protocols/store/index.js'
import { SourceSlots } from '../../../../src/protocols/store/in-flight.js'
import { StoreRequest, StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import { StoreServer } from '../../../../src/protocols/store/store.js'
import type { PutOutcome, StoreBackend } from '../../../../src/protocols/store/store.js'
import { fakeEnvelope, startUser, waitFor } from '../../relay/helpers.js'

/** Gates not yet opened: a failed test opens them, or its server's drain would wait for ever. */
const gates: Array<() => void> = []

function gatedBackend (): { backend: StoreBackend, underWay: () => number, most: () => number, stored: () => number, open: () => void } {
  let opened!: () => void
  const gate = new Promise<void>(resolve => { opened = resolve })
  gates.push(opened)
  let underWay = 0
  let most = 0
  let stored = 0
  const backend: StoreBackend = {
    async put (): Promise<PutOutcome> {
      underWay++
      most = Math.max(most, underWay)
      await gate
      underWay--
      stored++
      return { storedAt: 1, expiresAt: 2, duplicate: false }
    },
    async fetch () { return { envelopes: [], cursor: new Uint8Array(0), more: false } },
    async delete () { return 0 }
  }
  return { backend, underWay: () => underWay, most: () => most, stored: () => stored, open: opened }
}

async function turns (): Promise<void> {
  for (let i = 0; i < 100; i++) await new Promise(resolve => setImmediate(resolve))
}

function batches (count: number): StoreRequest[] {
  return Array.from({ length: count }, () => ({
    puts: { puts: Array.from({ length: MAX_PUT_BATCH }, () => ({ mailbox: new Uint8Array(32), envelope: wire(fakeEnvelope(300)) })), treeReceipts: false }
  }))
}

describe('protocols/store batches and the bounds per stream and per source', function () {
  this.timeout(60_000)
  const nodes: Libp2p[] = []
  let privateKey: PrivateKey
  let relay: Libp2p
  let server: StoreServer | undefined

  beforeEach(async () => {
    privateKey = await generateKeyPair('Ed25519')
    relay = await startUser(privateKey, ['/ip4/127.0.0.1/tcp/0'])
    nodes.push(relay)
  })

  afterEach(async () => {
    for (const open of gates.splice(0)) open()
    await server?.stop()
    server = undefined
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  async function flood (from: string, requests: StoreRequest[]): Promise<{ answered: () => number, read(n: number): Promise<StoreResponse[]> }> {
    const user = await startUser(undefined, [], from)
    nodes.push(user)
    const stream = await (await user.dial(relay.getMultiaddrs())).newStream(STORE_PROTOCOL)
    const lp = lpStream(stream, { maxDataLength: 1 << 22 })
    await lp.writeV(requests.map(r => StoreRequest.encode(r)))
    const answers: StoreResponse[] = []
    const reading = (async () => {
      for (let i = 0; i < requests.length; i++) answers.push(StoreResponse.decode(await lp.read({ signal: AbortSignal.timeout(30_000) })))
    })()
    return {
      answered: () => answers.length,
      async read () {
        await reading
        return answers
      }
    }
  }

  it('one stream flooded with batches has at most MAX_PIPELINED_REQUESTS puts under way, and no batch is answered before its puts are stored', async () => {
    const gated = gatedBackend()
    server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, { backend: gated.backend, rateLimit: { burst: 10_000 } })
    await server.start()
    const sender = await flood('127.0.0.1', batches(6))
    await waitFor('puts under way', () => gated.underWay() >= MAX_PIPELINED_REQUESTS)
    await turns()
    assert.equal(gated.most(), MAX_PIPELINED_REQUESTS, 'batches bought more puts under way on one stream than single puts')
    assert.equal(sender.answered(), 0, 'a batch was answered before its puts were stored')
    gated.open()
    const answers = await sender.read(6)
    assert.deepEqual(answers.map(a => a.results.length), Array(6).fill(MAX_PUT_BATCH))
    assert.equal(gated.stored(), 6 * MAX_PUT_BATCH)
    assert.equal(gated.most(), MAX_PIPELINED_REQUESTS)
  })

  it('one source batching on many streams has at most MAX_IN_FLIGHT_PER_SOURCE puts under way; another source is still served', async () => {
    const gated = gatedBackend()
    server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, { backend: gated.backend, rateLimit: { burst: 10_000 } })
    await server.start()
    const streams = MAX_IN_FLIGHT_PER_SOURCE / MAX_PUT_BATCH + 3
    const senders = []
    for (let i = 0; i < streams; i++) senders.push(await flood('127.0.0.1', batches(2)))
    await waitFor('the source at its bound', () => gated.underWay() >= MAX_IN_FLIGHT_PER_SOURCE)
    await turns()
    assert.equal(gated.most(), MAX_IN_FLIGHT_PER_SOURCE, 'batches bought more puts under way for one source than single puts')

    const other = await flood('127.0.0.2', batches(1))
    await waitFor('the other source\'s batch under way', () => gated.underWay() === MAX_IN_FLIGHT_PER_SOURCE + MAX_PUT_BATCH)
    gated.open()
    for (const s of senders) assert.deepEqual((await s.read(2)).map(a => a.results.length), [MAX_PUT_BATCH, MAX_PUT_BATCH])
    assert.equal((await other.read(1))[0].status, StoreResponse.Status.OK)
  })

  for (const bound of [{ maxPipelined: 4 }, { maxInFlightPerSource: 3 }]) {
    const [[name, most]] = Object.entries(bound)
    it(`a relay whose ${name} (${most}) is lower than MAX_PUT_BATCH answers a full batch put by put, never more than ${most} at once, and keeps the stream`, async () => {
      const gated = gatedBackend()
      server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, { backend: gated.backend, rateLimit: { burst: 10_000 }, ...bound })
      await server.start()
      const sender = await flood('127.0.0.1', [...batches(1), { puts: { puts: batches(1)[0].puts?.puts.slice(0, 2) ?? [], treeReceipts: false } }])
      await waitFor('puts under way', () => gated.underWay() >= most)
      await turns()
      assert.equal(gated.most(), most, 'more puts of the batch under way than the relay\'s bound')
      assert.equal(sender.answered(), 0, 'a batch was answered before its puts were stored')
      gated.open()
      const [full, small] = await sender.read(2)
      assert.equal(full.status, StoreResponse.Status.OK)
      assert.deepEqual(full.results.map(r => r.status), Array(MAX_PUT_BATCH).fill(StoreResponse.Status.OK))
      assert.deepEqual(small.results.map(r => r.status), Array(2).fill(StoreResponse.Status.OK))
      assert.equal(gated.stored(), MAX_PUT_BATCH + 2)
      assert.equal(gated.most(), most)
      assert.equal(server.metrics.droppedStreams, 0)
    })
  }

  it('a batch worked through a few puts at a time still takes one rate token per put: past the bucket, the rest are refused by name', async () => {
    const gated = gatedBackend()
    gated.open()
    server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, { backend: gated.backend, now: () => 1_000, rateLimit: { burst: 6 }, maxPipelined: 4 })
    await server.start()
    const sender = await flood('127.0.0.1', batches(1))
    const [answer] = await sender.read(1)
    const { OK, RATE_LIMITED } = StoreResponse.Status
    assert.deepEqual(answer.results.map(r => r.status), [...Array(6).fill(OK), RATE_LIMITED, RATE_LIMITED])
    assert.equal(gated.stored(), 6)
  })
})

describe('protocols/store slots taken several at once', () => {
  it('a batch takes all its slots at once or waits, first come first served: nothing behind it overtakes it', async () => {
    const slots = new SourceSlots(4)
    await slots.take('a', 3)
    const order: string[] = []
    const batch = slots.take('a', 3).then(() => { order.push('batch') })
    const single = slots.take('a').then(() => { order.push('single') })
    await Promise.resolve()
    assert.deepEqual(order, [], 'a waiter went ahead with one slot free')
    assert.equal(slots.used('a'), 3)
    slots.give('a', 2)
    await batch
    assert.deepEqual(order, ['batch'])
    assert.equal(slots.used('a'), 4)
    slots.give('a', 3)
    await single
    assert.deepEqual(order, ['batch', 'single'])
    assert.equal(slots.used('a'), 2)
    slots.give('a', 2)
    assert.equal(slots.size, 0)
    await assert.rejects(slots.take('a', 5), RangeError)
  })
})
