/**
 * The client's batches: concurrent puts to one relay go out together and
 * each caller gets its own receipt or error; a relay that does not know
 * batches (stubbed to answer as a 3.0.0 relay without them does) gets the
 * same puts one by one; and a relay that swaps or drops results in a batch
 * is caught by the receipt checks of each caller.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PrivateKey, Stream } from '@libp2p/interface'
import { toHex } from '../../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../../src/crypto/envelope.js'
import { MAX_PUT_BATCH, ReceiptSigner, STORE_PROTOCOL, StoreClient, mailboxId } from '../../../../src/protocols/store/index.js'
import { StoreRequest, StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import type { PutRequest } from '../../../../src/protocols/store/pb/store.js'
import { ok, putResult, refusal } from '../../../../src/protocols/store/responses.js'
import { fakeClock, fakeEnvelope, startRelay, startUser, tempDir } from '../../relay/helpers.js'
import type { TestRelay, UserNode } from '../../relay/helpers.js'

async function newMailbox (): Promise<Uint8Array> {
  return mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
}

/** What a stub relay saw: one entry per request frame. */
type Seen = Array<'put' | 'batch' | 'other'>

/**
 * A relay speaking the store protocol by hand: `batch` answers a batch
 * (undefined: answer it as a relay that does not know batches: the request
 * sets none of the fields it knows). Single puts get a signed receipt.
 */
async function stubRelay (batch?: (puts: PutRequest[], receipt: (p: PutRequest) => Promise<StoreResponse>) => Promise<StoreResponse>): Promise<{ node: Libp2p, seen: Seen }> {
  const key: PrivateKey = await generateKeyPair('Ed25519')
  const node = await startUser(key, ['/ip4/127.0.0.1/tcp/0'])
  const signer = new ReceiptSigner(key)
  const seen: Seen = []
  const receipt = async (p: PutRequest): Promise<StoreResponse> => {
    const subject = { mailbox: p.mailbox, envelopeId: parseEnvelopeHeader(p.envelope).id, hash: sha256(p.envelope) }
    return ok({ receipt: await signer.sign(subject, 1000, 2000) })
  }
  await node.handle(STORE_PROTOCOL, async (stream: Stream) => {
    const lp = lpStream(stream, { maxDataLength: 1 << 22 })
    for (;;) {
      let frame
      try {
        frame = await lp.read()
      } catch {
        break
      }
      const request = StoreRequest.decode(frame)
      let answer: StoreResponse
      if (request.put != null) {
        seen.push('put')
        answer = await receipt(request.put)
      } else if (request.puts != null && batch != null) {
        seen.push('batch')
        answer = await batch(request.puts.puts, receipt)
      } else {
        // What a 3.0.0 relay without batches answers: its decoder skipped the unknown field.
        seen.push(request.puts != null ? 'batch' : 'other')
        answer = refusal(StoreResponse.Status.BAD_REQUEST, 'a request sets exactly one of put, fetch, delete')
      }
      await lp.write(StoreResponse.encode(answer))
    }
    await stream.close().catch(() => {})
  }, { runOnLimitedConnection: true })
  return { node, seen }
}

describe('protocols/store client batches', function () {
  this.timeout(60_000)
  const nodes: Libp2p[] = []
  const cleanups: Array<() => Promise<void>> = []
  let user: UserNode

  beforeEach(async () => {
    user = await startUser()
    nodes.push(user)
  })

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0)) await cleanup()
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  async function relay (): Promise<TestRelay> {
    const tmp = await tempDir()
    const clock = fakeClock()
    const r = await startRelay({ location: `${tmp.dir}/db`, store: { now: clock.now, maxEnvelopesPerMailbox: 5 }, service: { now: clock.now, rateLimit: { burst: 1000 } } })
    cleanups.push(async () => { await r.stop(); await tmp.remove() })
    return r
  }

  it('concurrent puts go out in one batch; each caller gets its own receipt, or its own error', async () => {
    const r = await relay()
    const client = new StoreClient(user)
    const full = await newMailbox()
    for (let i = 0; i < 5; i++) await client.put(r.node.getMultiaddrs(), full, fakeEnvelope())
    // Alone, a put is a request of its own.
    assert.equal(r.mailbox.metrics().server.batches, 0)

    const mailbox = await newMailbox()
    const envelopes = Array.from({ length: 4 }, (_, i) => fakeEnvelope(300 + i))
    const refusedEnvelope = fakeEnvelope()
    const calls = [
      ...envelopes.slice(0, 2).map(async e => await client.put(r.node.getMultiaddrs(), mailbox, e)),
      client.put(r.node.getMultiaddrs(), full, refusedEnvelope),
      ...envelopes.slice(2).map(async e => await client.put(r.node.getMultiaddrs(), mailbox, e))
    ]
    const outcomes = await Promise.allSettled(calls)
    const expected = [envelopes[0], envelopes[1], refusedEnvelope, envelopes[2], envelopes[3]]
    for (const [i, outcome] of outcomes.entries()) {
      if (i === 2) {
        assert.equal(outcome.status, 'rejected')
        assert.equal((outcome.reason as Error).name, 'QuotaExceededError')
        assert.equal((outcome.reason as { quota: string }).quota, 'mailbox-full')
        continue
      }
      assert.equal(outcome.status, 'fulfilled', `put ${i} failed: ${String((outcome as PromiseRejectedResult).reason)}`)
      const receipt = (outcome as PromiseFulfilledResult<Awaited<ReturnType<StoreClient['put']>>>).value
      assert.equal(toHex(receipt.envelopeId), toHex(parseEnvelopeHeader(expected[i]).id))
      assert.equal(toHex(receipt.hash), toHex(sha256(expected[i])))
    }
    assert.equal(r.mailbox.metrics().server.batches, 1, 'the five puts of one tick did not go out as one batch')
    assert.equal((await r.store.usage(mailbox)).count, 4)
    assert.equal((await r.store.usage(full)).count, 5)

    // Many at once: batches of at most MAX_PUT_BATCH, every receipt its own caller's.
    const many = Array.from({ length: 30 }, () => fakeEnvelope())
    const boxes = await Promise.all(many.map(async () => await newMailbox()))
    const receipts = await Promise.all(many.map(async (e, i) => await client.put(r.node.getMultiaddrs(), boxes[i], e)))
    assert.deepEqual(receipts.map(x => toHex(x.hash)), many.map(e => toHex(sha256(e))))
    assert.ok(r.mailbox.metrics().server.batches >= 1 + 30 / 8, 'thirty concurrent puts went out one by one')
    await client.close()
  })

  it('a relay that does not know batches gets the same puts one by one, and no batch again', async () => {
    const old = await stubRelay()
    nodes.push(old.node)
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    const first = Array.from({ length: 5 }, () => fakeEnvelope())
    const receipts = await Promise.all(first.map(async e => await client.put(old.node.getMultiaddrs(), mailbox, e)))
    assert.deepEqual(receipts.map(x => toHex(x.hash)), first.map(e => toHex(sha256(e))))
    assert.deepEqual(old.seen, ['batch', 'put', 'put', 'put', 'put', 'put'])

    // Remembered for the relay: the next burst, even on a fresh stream, goes one by one.
    await client.close()
    const second = Array.from({ length: 5 }, () => fakeEnvelope())
    const more = await Promise.all(second.map(async e => await client.put(old.node.getMultiaddrs(), mailbox, e)))
    assert.deepEqual(more.map(x => toHex(x.hash)), second.map(e => toHex(sha256(e))))
    assert.deepEqual(old.seen.slice(6), Array(5).fill('put'))
    await client.close()
  })

  it('a relay with fewer pipelined requests than a batch takes full batches: every caller gets its receipt, and the next burst is batched again', async () => {
    const tmp = await tempDir()
    const r = await startRelay({ location: `${tmp.dir}/db`, service: { rateLimit: { burst: 1000 }, maxPipelined: 4 } })
    cleanups.push(async () => { await r.stop(); await tmp.remove() })
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    for (let burst = 1; burst <= 2; burst++) {
      const envelopes = Array.from({ length: MAX_PUT_BATCH }, () => fakeEnvelope())
      const receipts = await Promise.all(envelopes.map(async e => await client.put(r.node.getMultiaddrs(), mailbox, e)))
      assert.deepEqual(receipts.map(x => toHex(x.hash)), envelopes.map(e => toHex(sha256(e))))
      const server = r.mailbox.metrics().server
      assert.equal(server.batches, burst, `burst ${burst} did not go out as one batch: the relay was taken for one that knows none`)
      assert.equal(server.batchedPuts, burst * MAX_PUT_BATCH)
      assert.equal(server.requests.put, burst * MAX_PUT_BATCH, 'a put was sent twice')
    }
    assert.equal((await r.store.usage(mailbox)).count, 2 * MAX_PUT_BATCH)
    await client.close()
  })

  it('a batch refused whole for another reason than not knowing batches (rate, a fault) fails its puts with that reason; the relay is not taken for an older one', async () => {
    let status = StoreResponse.Status.RATE_LIMITED
    const refusing = await stubRelay(async () => refusal(status, 'not now'))
    nodes.push(refusing.node)
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    const names = async (): Promise<string[]> => {
      const outcomes = await Promise.allSettled(Array.from({ length: 3 }, async () => await client.put(refusing.node.getMultiaddrs(), mailbox, fakeEnvelope())))
      return outcomes.map(o => o.status === 'rejected' ? (o.reason as Error).name : 'ok')
    }
    assert.deepEqual(await names(), Array(3).fill('RateLimitedError'))
    status = StoreResponse.Status.INTERNAL_ERROR
    assert.deepEqual(await names(), Array(3).fill('StoreProtocolError'))
    assert.deepEqual(refusing.seen, ['batch', 'batch'], 'the puts were sent again one by one, as to a relay that knows no batches')
    await client.close()
  })

  it('receipts swapped within a batch are caught, each against its own envelope; a batch answered with too few results fails its puts', async () => {
    const swapping = await stubRelay(async (puts, receipt) => {
      const results = await Promise.all(puts.map(async p => putResult(await receipt(p))))
      ;[results[0], results[1]] = [results[1], results[0]]
      return ok({ results })
    })
    nodes.push(swapping.node)
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    const envelopes = Array.from({ length: 3 }, () => fakeEnvelope())
    const outcomes = await Promise.allSettled(envelopes.map(async e => await client.put(swapping.node.getMultiaddrs(), mailbox, e)))
    assert.deepEqual(swapping.seen, ['batch'])
    assert.deepEqual(outcomes.map(o => o.status === 'rejected' ? (o.reason as Error).name : 'ok'), ['InvalidReceiptError', 'InvalidReceiptError', 'ok'])
    await client.close()

    const short = await stubRelay(async (puts, receipt) => ok({ results: [putResult(await receipt(puts[0]))] }))
    nodes.push(short.node)
    const shortOutcomes = await Promise.allSettled(envelopes.map(async e => await client.put(short.node.getMultiaddrs(), mailbox, e)))
    assert.deepEqual(shortOutcomes.map(o => o.status === 'rejected' ? (o.reason as Error).name : 'ok'), Array(3).fill('StoreProtocolError'))
    // Not retried (the answer was complete, only wrong), and the stream still carries a single put.
    assert.deepEqual(short.seen, ['batch'])
    await client.put(short.node.getMultiaddrs(), mailbox, fakeEnvelope())
    assert.deepEqual(short.seen, ['batch', 'put'])
    await client.close()
  })
})
