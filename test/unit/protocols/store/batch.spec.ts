/**
 * Batches of puts (`puts`) against a real relay (LevelDB, libp2p on
 * 127.0.0.1), written by hand as an attacker would: a batch over the count
 * or the frame costs its stream and stores nothing; each put of a batch is
 * answered exactly as it would have been alone (same checks, quotas,
 * duplicates), compared with single puts to a relay in the same state; and
 * a batch buys no more of a source's rate than single puts.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../../src/crypto/envelope.js'
import {
  MAX_PUT_BATCH, MAX_REQUEST_FRAME_LENGTH, MAX_STORED_ENVELOPE_LENGTH, StoreClient, mailboxId, verifyReceipt, wire
} from '../../../../src/protocols/store/index.js'
import { StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import type { PutRequest } from '../../../../src/protocols/store/pb/store.js'
import { fakeClock, fakeEnvelope, startRelay, startUser, tempDir } from '../../relay/helpers.js'
import type { FakeClock, TestRelay, TestRelayInit, UserNode } from '../../relay/helpers.js'
import { rawStream } from './raw-stream.js'

function put (mailbox: Uint8Array, envelope: Uint8Array): PutRequest {
  return { mailbox: wire(mailbox), envelope: wire(envelope) }
}

async function newMailbox (): Promise<Uint8Array> {
  return mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
}

describe('protocols/store batches of puts at the relay', function () {
  this.timeout(60_000)
  const relays: TestRelay[] = []
  const users: UserNode[] = []
  const removes: Array<() => Promise<void>> = []
  let clock: FakeClock

  async function relayWith (init: Omit<TestRelayInit, 'location'>): Promise<TestRelay> {
    const tmp = await tempDir()
    removes.push(tmp.remove)
    const relay = await startRelay({ location: `${tmp.dir}/db`, ...init })
    relays.push(relay)
    return relay
  }

  async function userFrom (host?: string): Promise<UserNode> {
    const user = await startUser(undefined, [], host)
    users.push(user)
    return user
  }

  beforeEach(() => {
    clock = fakeClock()
  })

  afterEach(async () => {
    await Promise.all(users.splice(0).map(async u => { await u.stop() }))
    await Promise.all(relays.splice(0).map(async r => { await r.stop() }))
    for (const remove of removes.splice(0)) await remove()
  })

  it('a batch over MAX_PUT_BATCH puts or over the request frame costs its stream and stores nothing; an empty batch is refused; the relay keeps serving', async () => {
    const relay = await relayWith({ store: { now: clock.now }, service: { now: clock.now, rateLimit: { burst: 1000 } } })
    const user = await userFrom()
    const mailbox = await newMailbox()

    const tooMany = await rawStream(user, relay)
    await tooMany.dropped({ puts: { puts: Array.from({ length: MAX_PUT_BATCH + 1 }, () => put(mailbox, fakeEnvelope())), treeReceipts: false } })

    // Two envelopes that each fit a single put, but not one frame together.
    const half = Math.floor(MAX_REQUEST_FRAME_LENGTH / 2) + 1024
    const tooLong = await rawStream(user, relay)
    await tooLong.dropped({ puts: { puts: [put(mailbox, fakeEnvelope(half)), put(mailbox, fakeEnvelope(half))], treeReceipts: false } })

    const raw = await rawStream(user, relay)
    const empty = await raw.request({ puts: { puts: [], treeReceipts: false } })
    assert.equal(empty.status, StoreResponse.Status.BAD_REQUEST)
    assert.equal(empty.results.length, 0)

    assert.equal((await relay.store.usage(mailbox)).count, 0, 'a refused batch stored something')
    assert.ok(relay.mailbox.metrics().server.droppedStreams >= 2)
    // The stream that got the refusal still works, and so does the client.
    const full = await raw.request({ puts: { puts: Array.from({ length: MAX_PUT_BATCH }, () => put(mailbox, fakeEnvelope())), treeReceipts: false } })
    assert.deepEqual(full.results.map(r => r.status), Array(MAX_PUT_BATCH).fill(StoreResponse.Status.OK))
    const client = new StoreClient(user)
    await client.put(relay.node.peerId, mailbox, fakeEnvelope())
    await client.close()
    assert.equal((await relay.store.usage(mailbox)).count, MAX_PUT_BATCH + 1)
  })

  it('each put of a mixed batch gets what a single put would have got: only the valid one is stored', async () => {
    const init = { store: { now: clock.now, maxEnvelopesPerMailbox: 5 }, service: { now: clock.now, rateLimit: { burst: 1000 } } }
    const batched = await relayWith(init)
    const single = await relayWith(init)
    const user = await userFrom()
    const mailbox = await newMailbox()
    const full = await newMailbox()
    const held = fakeEnvelope()
    // Both relays in the same state: `held` stored in `mailbox`, `full` at its quota.
    const before = [put(mailbox, held), ...Array.from({ length: 5 }, () => put(full, fakeEnvelope()))]
    for (const relay of [batched, single]) {
      const raw = await rawStream(user, relay)
      for (const p of before) assert.equal((await raw.request({ put: p })).status, StoreResponse.Status.OK)
    }
    clock.t += 1000

    const valid = fakeEnvelope(500)
    const malformed = fakeEnvelope(300)
    malformed[0] = 0x7f
    const puts = [
      put(mailbox, valid),
      put(mailbox, fakeEnvelope(MAX_STORED_ENVELOPE_LENGTH + 1)),
      put(full, fakeEnvelope()),
      put(mailbox, held),
      put(mailbox, valid),
      put(mailbox, malformed),
      put(mailbox.subarray(1), fakeEnvelope())
    ]
    const batch = await (await rawStream(user, batched)).request({ puts: { puts, treeReceipts: false } })
    const singleRaw = await rawStream(user, single)
    const singles: StoreResponse[] = []
    for (const p of puts) singles.push(await singleRaw.request({ put: p }))

    assert.equal(batch.status, StoreResponse.Status.OK)
    assert.equal(batch.results.length, puts.length)
    const summary = (r: { status: StoreResponse.Status, message: string, quota: StoreResponse.Quota, receipt?: { storedAt: bigint, expiresAt: bigint } }): unknown =>
      [r.status, r.message, r.quota, r.receipt?.storedAt, r.receipt?.expiresAt]
    assert.deepEqual(batch.results.map(summary), singles.map(summary))
    const S = StoreResponse.Status
    assert.deepEqual(batch.results.map(r => r.status), [S.OK, S.TOO_LARGE, S.QUOTA_EXCEEDED, S.OK, S.OK, S.BAD_REQUEST, S.BAD_REQUEST])
    assert.equal(batch.results[2].quota, StoreResponse.Quota.MAILBOX_FULL)
    // Each receipt is the relay's and names its own envelope's bytes; the duplicate keeps the original time.
    for (const i of [0, 3, 4]) {
      const envelope = puts[i].envelope
      const subject = { mailbox, envelopeId: parseEnvelopeHeader(envelope).id, hash: sha256(envelope) }
      await verifyReceipt(batch.results[i].receipt, batched.node.peerId, subject)
    }
    assert.equal(Number(batch.results[3].receipt?.storedAt), clock.t - 1000)
    assert.equal(Number(batch.results[0].receipt?.storedAt), clock.t)

    const stored = await batched.store.fetch(mailbox, undefined, 100, 1 << 22)
    assert.deepEqual(stored.envelopes.map(e => toHex(e.envelope)).sort(), [toHex(held), toHex(valid)].sort())
    assert.equal((await batched.store.usage(full)).count, 5)
    assert.deepEqual(await batched.store.usage(mailbox), await single.store.usage(mailbox))
    assert.deepEqual(batched.mailbox.metrics().server.rejected, single.mailbox.metrics().server.rejected)
    assert.equal(batched.mailbox.metrics().server.batches, 1)
    assert.equal(batched.mailbox.metrics().server.batchedPuts, puts.length)
  })

  it('a source batching gets no more of its rate than with single puts, and a fresh peer id from its address none', async () => {
    const init = { store: { now: clock.now }, service: { now: clock.now, rateLimit: { burst: 5, perSecond: 1 } } }
    const batched = await relayWith(init)
    const single = await relayWith(init)
    const user = await userFrom()
    const mailbox = await newMailbox()
    const envelopes = Array.from({ length: 2 * MAX_PUT_BATCH }, () => fakeEnvelope())

    const raw = await rawStream(user, batched)
    const statuses: StoreResponse.Status[] = []
    for (let i = 0; i < envelopes.length; i += MAX_PUT_BATCH) {
      const answer = await raw.request({ puts: { puts: envelopes.slice(i, i + MAX_PUT_BATCH).map(e => put(mailbox, e)), treeReceipts: false } })
      assert.equal(answer.status, StoreResponse.Status.OK)
      statuses.push(...answer.results.map(r => r.status))
    }
    const singleRaw = await rawStream(user, single)
    const singleStatuses: StoreResponse.Status[] = []
    for (const e of envelopes) singleStatuses.push((await singleRaw.request({ put: put(mailbox, e) })).status)

    assert.deepEqual(statuses, singleStatuses)
    assert.equal(statuses.filter(s => s === StoreResponse.Status.OK).length, 5)
    assert.equal((await batched.store.usage(mailbox)).count, 5)
    assert.equal((await single.store.usage(mailbox)).count, 5)

    // A fresh peer id from the same address shares the bucket.
    const sybil = await userFrom()
    const sybilAnswer = await (await rawStream(sybil, batched)).request({ puts: { puts: [put(mailbox, fakeEnvelope()), put(mailbox, fakeEnvelope())], treeReceipts: false } })
    assert.deepEqual(sybilAnswer.results.map(r => r.status), [StoreResponse.Status.RATE_LIMITED, StoreResponse.Status.RATE_LIMITED])
    // Two seconds refill two tokens: a batch of three gets two puts through, in order.
    clock.t += 2000
    const later = await raw.request({ puts: { puts: [put(mailbox, fakeEnvelope()), put(mailbox, fakeEnvelope()), put(mailbox, fakeEnvelope())], treeReceipts: false } })
    assert.deepEqual(later.results.map(r => r.status), [StoreResponse.Status.OK, StoreResponse.Status.OK, StoreResponse.Status.RATE_LIMITED])
    assert.equal((await batched.store.usage(mailbox)).count, 7)
  })
})
