/**
 * Pipelining on store streams: a relay answers several requests of one
 * stream at once, in order, and no more than its bounds per stream and per
 * source (an address) however fast a sender floods it. Real libp2p nodes on
 * 127.0.0.x; the backend's puts are held by a gate, so what is under way is
 * counted exactly, whatever the load of the machine.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { toHex } from '../../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../../src/crypto/envelope.js'
import { MAX_IN_FLIGHT_PER_SOURCE, MAX_PIPELINED_REQUESTS, STORE_PROTOCOL, StoreClient, wire } from '../../../../src/protocols/store/index.js'
import { StoreRequest, StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import { StoreServer } from '../../../../src/protocols/store/store.js'
import type { MailboxPage, PutOutcome, StoreBackend } from '../../../../src/protocols/store/store.js'
import { fakeEnvelope, startUser, waitFor } from '../../relay/helpers.js'

/** Gates not yet opened: a failed test opens them, or its server's drain would wait for ever. */
const gates: Array<() => void> = []

/** A backend whose puts wait at a gate; counts the puts under way and the most at once. */
function gatedBackend (): { backend: StoreBackend, underWay: () => number, most: () => number, order: string[], open: () => void } {
  let opened!: () => void
  const gate = new Promise<void>(resolve => { opened = resolve })
  gates.push(opened)
  let underWay = 0
  let most = 0
  const order: string[] = []
  const backend: StoreBackend = {
    async put (_mailbox, id): Promise<PutOutcome> {
      underWay++
      most = Math.max(most, underWay)
      await gate
      underWay--
      order.push(`put ${toHex(id)}`)
      return { storedAt: 1, expiresAt: 2, duplicate: false }
    },
    async fetch (): Promise<MailboxPage> {
      order.push('fetch')
      return { envelopes: [], cursor: new Uint8Array(0), more: false }
    },
    async delete () { return 0 }
  }
  return { backend, underWay: () => underWay, most: () => most, order, open: opened }
}

/** Many event-loop turns: time for a server that would take more to do so (no wall-clock bound). */
async function turns (): Promise<void> {
  for (let i = 0; i < 100; i++) await new Promise(resolve => setImmediate(resolve))
}

/** A store stream driven by hand: writes requests without reading answers. */
async function floodStream (user: Libp2p, relay: Libp2p): Promise<{ stream: Stream, send(requests: StoreRequest[]): Promise<void>, read(n: number): Promise<StoreResponse[]> }> {
  const connection = await user.dial(relay.getMultiaddrs())
  const stream = await connection.newStream(STORE_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: 1 << 22 })
  return {
    stream,
    async send (requests) { await lp.writeV(requests.map(r => StoreRequest.encode(r))) },
    async read (n) {
      const out: StoreResponse[] = []
      for (let i = 0; i < n; i++) out.push(StoreResponse.decode(await lp.read({ signal: AbortSignal.timeout(20_000) })))
      return out
    }
  }
}

function puts (n: number): { requests: StoreRequest[], ids: string[] } {
  const envelopes = Array.from({ length: n }, () => fakeEnvelope(300))
  return {
    requests: envelopes.map(envelope => ({ put: { mailbox: new Uint8Array(32), envelope: wire(envelope) } })),
    ids: envelopes.map(e => toHex(parseEnvelopeHeader(e).id))
  }
}

describe('protocols/store pipelining and its bounds', function () {
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

  async function serve (backend: StoreBackend, init: { maxPipelined?: number, maxInFlightPerSource?: number } = {}): Promise<void> {
    server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, { backend, rateLimit: { burst: 10_000 }, ...init })
    await server.start()
  }

  it('a sender flooding one stream gets at most MAX_PIPELINED_REQUESTS answered at once; all are answered, in order, once the backend moves', async () => {
    const gated = gatedBackend()
    await serve(gated.backend)
    const user = await startUser()
    nodes.push(user)
    const flood = await floodStream(user, relay)
    const { requests, ids } = puts(60)
    await flood.send(requests)
    await waitFor('puts under way', () => gated.underWay() >= MAX_PIPELINED_REQUESTS)
    await turns()
    assert.equal(gated.most(), MAX_PIPELINED_REQUESTS, 'more puts of one stream under way than its bound')
    gated.open()
    const answers = await flood.read(ids.length)
    assert.deepEqual(answers.map(a => a.status), ids.map(() => StoreResponse.Status.OK))
    assert.deepEqual(answers.map(a => toHex(a.receipt?.envelopeId ?? new Uint8Array(0))), ids, 'answers come back in the order asked')
    assert.equal(gated.most(), MAX_PIPELINED_REQUESTS)
  })

  it('one source flooding several streams and connections gets at most MAX_IN_FLIGHT_PER_SOURCE at once; another source is still served', async () => {
    const gated = gatedBackend()
    await serve(gated.backend)
    const floods = []
    // Each stream of its own user node from one address: fresh peer ids cost nothing.
    const streams = Math.ceil(MAX_IN_FLIGHT_PER_SOURCE / MAX_PIPELINED_REQUESTS) + 2
    for (let i = 0; i < streams; i++) {
      const user = await startUser(undefined, [], '127.0.0.1')
      nodes.push(user)
      floods.push(await floodStream(user, relay))
    }
    const sent = floods.map(() => puts(MAX_PIPELINED_REQUESTS + 4))
    await Promise.all(floods.map(async (f, i) => { await f.send(sent[i].requests) }))
    await waitFor('the source at its bound', () => gated.underWay() >= MAX_IN_FLIGHT_PER_SOURCE)
    await turns()
    assert.equal(gated.most(), MAX_IN_FLIGHT_PER_SOURCE, 'more requests of one source under way than its bound')

    // Another address has its own slots.
    const other = await startUser(undefined, [], '127.0.0.2')
    nodes.push(other)
    const fresh = await floodStream(other, relay)
    await fresh.send(puts(2).requests)
    await waitFor('the other source\'s puts under way', () => gated.underWay() === MAX_IN_FLIGHT_PER_SOURCE + 2)

    gated.open()
    const answers = await Promise.all(floods.map(async (f, i) => await f.read(sent[i].ids.length)))
    for (const [i, got] of answers.entries()) {
      assert.deepEqual(got.map(a => toHex(a.receipt?.envelopeId ?? new Uint8Array(0))), sent[i].ids)
    }
    assert.equal((await fresh.read(2)).length, 2)
  })

  it('the client pipelines on its one kept-open stream; the relay starts a fetch only after the puts before it', async () => {
    const gated = gatedBackend()
    await serve(gated.backend)
    const user = await startUser()
    nodes.push(user)
    const client = new StoreClient(user)
    // With the fetch, as many as the client writes before an answer comes: all reach the relay at once.
    const { requests, ids } = puts(MAX_PIPELINED_REQUESTS - 1)
    const receipts = requests.map(async r => await client.put(relay.getMultiaddrs(), new Uint8Array(32), r.put?.envelope as Uint8Array))
    const device = await generateKeyPair('Ed25519')
    const fetched = client.fetch(relay.getMultiaddrs(), device)
    await waitFor('the puts under way together', () => gated.underWay() === MAX_PIPELINED_REQUESTS - 1)
    await turns()
    assert.deepEqual(gated.order, [], 'the fetch did not overtake the puts before it')
    gated.open()
    assert.deepEqual((await Promise.all(receipts)).map(r => toHex(r.envelopeId)), ids)
    await fetched
    assert.equal(gated.order.at(-1), 'fetch')
    const streams = user.getConnections(relay.peerId).flatMap(c => c.streams).filter(s => s.protocol === STORE_PROTOCOL)
    assert.equal(streams.length, 1)
    await client.close()
  })
})
