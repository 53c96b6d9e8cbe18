/**
 * A caller that gives up (its AbortSignal) must not take the puts of other
 * callers down with it: puts to one relay share a stream and, since
 * batches, one request. A put given up before it is written leaves the
 * stream alone; one given up while its batch is under way drops the stream
 * (it may be stalled), and the other callers' puts are tried again on a
 * fresh one. The relay is a stub that holds its answers until the test
 * lets them go, so what is under way is exact whatever the machine's load.
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
import { ok, putResult } from '../../../../src/protocols/store/responses.js'
import { fakeEnvelope, startUser, waitFor } from '../../relay/helpers.js'
import type { UserNode } from '../../relay/helpers.js'

/** A relay that answers every put with a signed receipt, once `open()` was called. */
interface HeldRelay {
  node: Libp2p
  /** Streams opened to it. */
  streams: number
  /** Puts it read, by how many travelled in each request. */
  requests: number[]
  open(): void
}

/** `answers`: requests it answers in all, across its streams; it reads the rest and never answers them (a stalled relay). */
async function heldRelay (answers = Infinity): Promise<HeldRelay> {
  const key: PrivateKey = await generateKeyPair('Ed25519')
  const node = await startUser(key, ['/ip4/127.0.0.1/tcp/0'])
  const signer = new ReceiptSigner(key)
  let open!: () => void
  const gate = new Promise<void>(resolve => { open = resolve })
  const relay: HeldRelay = { node, streams: 0, requests: [], open }
  const receipt = async (p: PutRequest): Promise<StoreResponse> => {
    const subject = { mailbox: p.mailbox, envelopeId: parseEnvelopeHeader(p.envelope).id, hash: sha256(p.envelope) }
    return ok({ receipt: await signer.sign(subject, 1000, 2000) })
  }
  await node.handle(STORE_PROTOCOL, async (stream: Stream) => {
    relay.streams++
    const lp = lpStream(stream, { maxDataLength: 1 << 22 })
    try {
      for (;;) {
        const request = StoreRequest.decode(await lp.read())
        const puts = request.puts?.puts ?? (request.put != null ? [request.put] : [])
        relay.requests.push(puts.length)
        await gate
        if (relay.requests.length > answers) continue
        const answer = request.puts != null
          ? ok({ results: await Promise.all(puts.map(async p => putResult(await receipt(p)))) })
          : await receipt(puts[0])
        await lp.write(StoreResponse.encode(answer))
      }
    } catch {
      // The client went away: nothing to answer.
    }
  }, { runOnLimitedConnection: true })
  return relay
}

async function newMailbox (): Promise<Uint8Array> {
  return mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
}

type Outcome = PromiseSettledResult<Awaited<ReturnType<StoreClient['put']>>>

/** 'ok' for a receipt naming `envelope`, else the error's name. */
function outcomeOf (outcome: Outcome, envelope: Uint8Array): string {
  if (outcome.status === 'rejected') return (outcome.reason as Error).name
  return toHex(outcome.value.hash) === toHex(sha256(envelope)) ? 'ok' : 'another envelope\'s receipt'
}

describe('protocols/store client: a caller that gives up inside a batch', function () {
  this.timeout(60_000)
  const nodes: Libp2p[] = []
  const relays: HeldRelay[] = []
  let user: UserNode

  beforeEach(async () => {
    user = await startUser()
    nodes.push(user)
  })

  afterEach(async () => {
    for (const r of relays.splice(0)) r.open()
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  async function relay (answers?: number): Promise<HeldRelay> {
    const r = await heldRelay(answers)
    relays.push(r)
    nodes.push(r.node)
    return r
  }

  it('a put given up while it waits for its turn leaves the stream and the puts under way alone', async () => {
    const r = await relay()
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    const envelopes = Array.from({ length: MAX_PUT_BATCH }, () => fakeEnvelope())
    const puts = Promise.allSettled(envelopes.map(async e => await client.put(r.node.getMultiaddrs(), mailbox, e)))
    await waitFor('the batch to reach the relay', () => r.requests.length === 1)
    assert.deepEqual(r.requests, [MAX_PUT_BATCH])

    // The stream's pipeline is full: this put waits for its turn, and its caller gives up.
    const giveUp = new AbortController()
    const late = client.put(r.node.getMultiaddrs(), mailbox, fakeEnvelope(), { signal: giveUp.signal })
    giveUp.abort()
    await assert.rejects(late, { name: 'AbortError' })

    r.open()
    const outcomes = await puts
    assert.deepEqual(outcomes.map((o, i) => outcomeOf(o, envelopes[i])), Array(MAX_PUT_BATCH).fill('ok'))
    // Nothing was sent again, and the stream still carries puts.
    const after = fakeEnvelope()
    assert.equal(toHex((await client.put(r.node.getMultiaddrs(), mailbox, after)).hash), toHex(sha256(after)))
    assert.equal(r.streams, 1)
    assert.deepEqual(r.requests, [MAX_PUT_BATCH, 1])
    await client.close()
  })

  it('a put given up while its batch is under way: the other puts of the batch still get their own receipts', async () => {
    const r = await relay()
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    const envelopes = Array.from({ length: 3 }, () => fakeEnvelope())
    const giveUp = new AbortController()
    const calls = Promise.allSettled(envelopes.map(async (e, i) => await client.put(r.node.getMultiaddrs(), mailbox, e, i === 1 ? { signal: giveUp.signal } : {})))
    await waitFor('the batch to reach the relay', () => r.requests.length === 1)
    assert.deepEqual(r.requests, [3])

    giveUp.abort()
    // The stream is dropped (an answer that does not come may be a stalled relay); the others go again on a fresh one.
    await waitFor('the other puts on a fresh stream', () => r.streams === 2 && r.requests.length === 2)
    r.open()
    const outcomes = await calls
    assert.deepEqual(outcomes.map((o, i) => outcomeOf(o, envelopes[i])), ['ok', 'AbortError', 'ok'])
    assert.deepEqual(r.requests, [3, 2])
    await client.close()
  })

  it('a put given up while the stream to the relay is being opened: the others waiting for that stream still get their receipts', async () => {
    const r = await relay()
    r.open()
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    const envelopes = Array.from({ length: 3 }, () => fakeEnvelope())
    const giveUp = new AbortController()
    // The first put dials the relay; the others wait for its stream.
    const calls = Promise.allSettled(envelopes.map(async (e, i) => await client.put(r.node.getMultiaddrs(), mailbox, e, i === 0 ? { signal: giveUp.signal } : {})))
    giveUp.abort()
    const outcomes = await calls
    assert.deepEqual(outcomes.map((o, i) => outcomeOf(o, envelopes[i])), ['AbortError', 'ok', 'ok'])
    await client.close()
  })

  it('a request whose caller gave up before it reached the stream: no unhandled rejection (it would end the process), the stream stays', async () => {
    const r = await relay()
    r.open()
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    const first = fakeEnvelope()
    assert.equal(outcomeOf((await Promise.allSettled([client.put(r.node.getMultiaddrs(), mailbox, first)]))[0], first), 'ok')

    // The caller's signal aborts while the fetch is being signed: it reaches the stream already given up.
    const giveUp = new AbortController()
    const real = await generateKeyPair('Ed25519')
    const deviceKey: PrivateKey = Object.create(real, {
      sign: { value: async (data: Uint8Array) => { giveUp.abort(); return await real.sign(data) } }
    })
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
    const mochaListeners = process.listeners('unhandledRejection')
    process.removeAllListeners('unhandledRejection')
    process.on('unhandledRejection', onUnhandled)
    try {
      await assert.rejects(client.fetch(r.node.getMultiaddrs(), deviceKey, { signal: giveUp.signal }), { name: 'AbortError' })
      for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
    } finally {
      process.off('unhandledRejection', onUnhandled)
      for (const l of mochaListeners) process.on('unhandledRejection', l)
    }
    assert.deepEqual(unhandled.map(e => (e as Error).name), [], 'a promise rejected with nobody to handle it')

    // Nothing of the fetch was written: the stream carries the next put.
    const next = fakeEnvelope()
    assert.equal(outcomeOf((await Promise.allSettled([client.put(r.node.getMultiaddrs(), mailbox, next)]))[0], next), 'ok')
    assert.equal(r.streams, 1)
    assert.deepEqual(r.requests, [1, 1])
    await client.close()
  })

  it('a relay that answers one batch and stalls on the next: every caller settles, each tried at most once more on one fresh stream', async () => {
    const r = await relay(1)
    r.open()
    const client = new StoreClient(user)
    const mailbox = await newMailbox()
    const first = Array.from({ length: 3 }, () => fakeEnvelope())
    const answered = await Promise.allSettled(first.map(async e => await client.put(r.node.getMultiaddrs(), mailbox, e)))
    assert.deepEqual(answered.map((o, i) => outcomeOf(o, first[i])), ['ok', 'ok', 'ok'])

    const second = Array.from({ length: 3 }, () => fakeEnvelope())
    // Only a timeout ends these; how long it is does not matter.
    const stalled = await Promise.allSettled(second.map(async e => await client.put(r.node.getMultiaddrs(), mailbox, e, { signal: AbortSignal.timeout(300) })))
    assert.ok(stalled.every(o => o.status === 'rejected'), 'a put to a stalled relay got a receipt')
    // The stalled batch, then at most the puts not given up yet, once, on one fresh stream.
    assert.ok(r.streams <= 2, `${r.streams} streams opened`)
    assert.ok(r.requests.length <= 3, `requests: ${JSON.stringify(r.requests)}`)
    await client.close()
  })
})
