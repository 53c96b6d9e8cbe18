/**
 * `/starling/store/3.0.0` between real libp2p nodes on 127.0.0.1: a user
 * node puts, fetches and deletes on one relay; refusals arrive as named
 * errors and garbage costs only the sender's stream.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import type { PrivateKey } from '@libp2p/interface'
import { toHex } from '../../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../../src/crypto/envelope.js'
import {
  AuthOp, MAX_REQUEST_FRAME_LENGTH, STORE_PROTOCOL, StoreClient, deleteFromMailbox, envelopeRef, fetchBody, fetchMailbox, mailboxId, receiptPayload,
  signOwnerAuth, storeEnvelope, wire
} from '../../../../src/protocols/store/index.js'
import { StoreRequest, StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import { fakeClock, fakeEnvelope, relayAndUserEach, startRelay, startUser, tempDir, waitFor } from '../../relay/helpers.js'

function refOf (envelope: Uint8Array): { id: Uint8Array, hash: Uint8Array } {
  return envelopeRef(parseEnvelopeHeader(envelope).id, envelope)
}
import type { FakeClock, TestRelay, UserNode } from '../../relay/helpers.js'
import { rawStream } from './raw-stream.js'

describe('protocols/store between real nodes', function () {
  this.timeout(30_000)
  let relay: TestRelay
  let user: UserNode
  let clock: FakeClock
  let device: PrivateKey
  let mailbox: Uint8Array

  relayAndUserEach(() => {
    clock = fakeClock()
    return {
      store: { now: clock.now, maxEnvelopesPerMailbox: 5, maxBytesPerMailbox: 4000 },
      service: { now: clock.now, rateLimit: { burst: 1000, perSecond: 1000 } }
    }
  }, (r, u) => {
    relay = r
    user = u
  })

  beforeEach(async () => {
    device = await generateKeyPair('Ed25519')
    mailbox = mailboxId(peerIdFromPrivateKey(device))
  })

  it('put answers with a custody receipt signed by the relay that was dialled', async () => {
    const envelope = fakeEnvelope()
    const receipt = await storeEnvelope(user, relay.node.getMultiaddrs(), mailbox, envelope)
    assert.equal(toHex(receipt.envelopeId), toHex(parseEnvelopeHeader(envelope).id))
    assert.equal(toHex(receipt.hash), toHex(sha256(envelope)))
    assert.ok(receipt.relay.equals(relay.node.peerId))
    assert.equal(receipt.storedAt, clock.t)
    assert.equal(receipt.expiresAt, clock.t + relay.store.retentionMs)
    const subject = { mailbox, envelopeId: receipt.envelopeId, hash: receipt.hash }
    const payload = receiptPayload(subject, relay.node.peerId, receipt.storedAt, receipt.expiresAt)
    assert.equal(await relay.privateKey.publicKey.verify(payload, receipt.signature), true)
    // The same signature does not verify for another relay, mailbox or time.
    const other = await generateKeyPair('Ed25519')
    assert.equal(await other.publicKey.verify(payload, receipt.signature), false)
    const later = receiptPayload(subject, relay.node.peerId, receipt.storedAt, receipt.expiresAt + 1)
    assert.equal(await relay.privateKey.publicKey.verify(later, receipt.signature), false)
  })

  it('fetch by the owner returns envelopes in arrival order, in pages', async () => {
    const client = new StoreClient(user, { now: clock.now })
    const sent: string[] = []
    for (let i = 0; i < 5; i++) {
      const envelope = fakeEnvelope(300 + i)
      sent.push(toHex(envelope))
      await client.put(relay.node.peerId, mailbox, envelope)
      clock.t += i % 2 // two pairs share a millisecond: arrival order still holds
    }
    const got: string[] = []
    let after: Uint8Array | undefined
    let pages = 0
    for (let page = 0; page < 10; page++) {
      const result = await client.fetch(relay.node.peerId, device, { after, limit: 2 })
      pages++
      got.push(...result.envelopes.map(e => toHex(e.envelope)))
      after = result.cursor
      if (!result.more) break
    }
    assert.deepEqual(got, sent)
    assert.equal(pages, 3)
    const empty = await client.fetch(relay.node.peerId, device, { after })
    assert.deepEqual(empty.envelopes, [])
    assert.equal(empty.more, false)
    await client.close()
  })

  it('refuses fetch and delete by anyone but the owner', async () => {
    const envelope = fakeEnvelope()
    await storeEnvelope(user, relay.node.getMultiaddrs(), mailbox, envelope)
    const stranger = await generateKeyPair('Ed25519')
    const client = new StoreClient(user, { now: clock.now })
    // The stranger signs correctly, but for its own mailbox; ask for the victim's by forging the request.
    const raw = await rawStream(user, relay)
    const { auth } = await signOwnerAuth(stranger, AuthOp.fetch, relay.node.peerId, clock.t, fetchBody(new Uint8Array(0), 0))
    const refused = await raw.request({ fetch: { mailbox: wire(mailbox), after: new Uint8Array(0), limit: 0, auth } })
    assert.equal(refused.status, StoreResponse.Status.UNAUTHORIZED)
    assert.equal(refused.envelopes.length, 0)
    // A stale signature from the owner is refused too.
    const stale = new StoreClient(user, { now: () => clock.t - 10 * 60 * 1000 })
    await assert.rejects(stale.fetch(relay.node.peerId, device), { name: 'UnauthorizedError' })
    await assert.rejects(stale.delete(relay.node.peerId, device, [refOf(envelope)]), { name: 'UnauthorizedError' })
    // The stranger's own mailbox is empty; the owner still sees the envelope.
    assert.equal((await client.fetch(relay.node.peerId, stranger)).envelopes.length, 0)
    assert.equal((await client.fetch(relay.node.peerId, device)).envelopes.length, 1)
    assert.equal(relay.mailbox.metrics().server.rejected.unauthorized, 3)
    await Promise.all([client.close(), stale.close()])
  })

  it('delete by the owner removes the envelopes', async () => {
    const a = fakeEnvelope()
    const b = fakeEnvelope()
    await storeEnvelope(user, relay.node.getMultiaddrs(), mailbox, a)
    await storeEnvelope(user, relay.node.getMultiaddrs(), mailbox, b)
    const deleted = await deleteFromMailbox(user, relay.node.getMultiaddrs(), device, [refOf(a), refOf(a)])
    assert.equal(deleted, 1)
    const page = await fetchMailbox(user, relay.node.getMultiaddrs(), device)
    assert.deepEqual(page.envelopes.map(e => toHex(e.envelope)), [toHex(b)])
  })

  it('a delete naming an id with the hash of other bytes removes nothing', async () => {
    const real = fakeEnvelope()
    await storeEnvelope(user, relay.node.getMultiaddrs(), mailbox, real)
    const junk = fakeEnvelope()
    junk.set(parseEnvelopeHeader(real).id, 1)
    assert.equal(await deleteFromMailbox(user, relay.node.getMultiaddrs(), device, [refOf(junk)]), 0)
    assert.deepEqual((await fetchMailbox(user, relay.node.getMultiaddrs(), device)).envelopes.map(e => toHex(e.envelope)), [toHex(real)])
    assert.equal(relay.mailbox.metrics().store.hashMismatches, 1)
    // A hash of the wrong length is a bad request, signed or not.
    const raw = await rawStream(user, relay)
    const { auth } = await signOwnerAuth(device, AuthOp.delete, relay.node.peerId, clock.t, new Uint8Array(0))
    const refused = await raw.request({ delete: { mailbox: wire(mailbox), refs: [{ id: wire(parseEnvelopeHeader(real).id), hash: wire(new Uint8Array(31)) }], auth } })
    assert.equal(refused.status, StoreResponse.Status.BAD_REQUEST)
  })

  it('stores a duplicate put once and answers it with the original receipt times', async () => {
    const envelope = fakeEnvelope()
    const first = await storeEnvelope(user, relay.node.peerId, mailbox, envelope)
    clock.t += 1000
    const second = await storeEnvelope(user, relay.node.peerId, mailbox, envelope)
    assert.equal(second.storedAt, first.storedAt)
    assert.equal((await relay.store.usage(mailbox)).count, 1)
    assert.equal(relay.mailbox.metrics().store.duplicates, 1)
  })

  it('quota exceeded is a named error and nothing more is stored', async () => {
    const client = new StoreClient(user)
    for (let i = 0; i < 5; i++) await client.put(relay.node.peerId, mailbox, fakeEnvelope())
    await assert.rejects(client.put(relay.node.peerId, mailbox, fakeEnvelope()), { name: 'QuotaExceededError', quota: 'mailbox-full' })
    assert.equal((await relay.store.usage(mailbox)).count, 5)
    // Bytes count too: another mailbox, one envelope over the byte quota.
    const other = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    await client.put(relay.node.peerId, other, fakeEnvelope(3000))
    await assert.rejects(client.put(relay.node.peerId, other, fakeEnvelope(1001)), { name: 'QuotaExceededError' })
    assert.deepEqual(await relay.store.usage(other), { count: 1, bytes: 3000 })
    assert.equal(relay.mailbox.metrics().server.rejected.quota, 2)
    await client.close()
  })

  it('malformed envelopes and mailboxes are refused by name, on a stream that stays usable', async () => {
    const client = new StoreClient(user)
    const bad = fakeEnvelope()
    bad[0] = 0x7f
    await assert.rejects(client.put(relay.node.peerId, mailbox, bad), { name: 'InvalidMessageError' })
    await assert.rejects(client.put(relay.node.peerId, mailbox.subarray(1), fakeEnvelope()), { name: 'InvalidStoreRequestError' })
    await assert.rejects(client.put(relay.node.peerId, mailbox, fakeEnvelope(1024 * 1024 + 1)), { name: 'EnvelopeTooLargeError' })
    // The relay checks too (the client's checks are bypassed by writing the request by hand).
    const raw = await rawStream(user, relay)
    const refused = await raw.request({ put: { mailbox: wire(mailbox), envelope: wire(bad) } })
    assert.equal(refused.status, StoreResponse.Status.BAD_REQUEST)
    const accepted = await raw.request({ put: { mailbox: wire(mailbox), envelope: wire(fakeEnvelope()) } })
    assert.equal(accepted.status, StoreResponse.Status.OK)
    assert.ok(accepted.receipt != null)
    assert.equal(relay.mailbox.metrics().server.rejected.badRequest, 1)
    await client.close()
  })

  it('rate limits each source with a token bucket: fresh peer ids from one address share it, another address has its own', async () => {
    const tmp = await tempDir()
    const limited = await startRelay({ location: `${tmp.dir}/db`, service: { now: clock.now, rateLimit: { burst: 3, perSecond: 1 } } })
    const sender = await startUser()
    // A sybil: a fresh peer id from the same address; and a user from another address.
    const sybil = await startUser()
    const other = await startUser(undefined, [], '127.0.0.2')
    try {
      const client = new StoreClient(sender)
      for (let i = 0; i < 3; i++) await client.put(limited.node.getMultiaddrs(), mailbox, fakeEnvelope())
      await assert.rejects(client.put(limited.node.getMultiaddrs(), mailbox, fakeEnvelope()), { name: 'RateLimitedError' })
      // The sybil gets no new bucket; the other address has its own.
      await assert.rejects(storeEnvelope(sybil, limited.node.getMultiaddrs(), mailbox, fakeEnvelope()), { name: 'RateLimitedError' })
      await storeEnvelope(other, limited.node.getMultiaddrs(), mailbox, fakeEnvelope())
      clock.t += 1000
      await client.put(limited.node.getMultiaddrs(), mailbox, fakeEnvelope())
      await client.close()
    } finally {
      await Promise.all([sender, sybil, other].map(async u => { await u.stop() }))
      await limited.stop()
      await tmp.remove()
    }
  })

  it('garbage and oversized frames cost only that stream; the relay keeps serving', async () => {
    const client = new StoreClient(user)
    await client.put(relay.node.peerId, mailbox, fakeEnvelope())

    const garbage = await rawStream(user, relay)
    await garbage.write(new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]))
    await assert.rejects(garbage.read({ signal: AbortSignal.timeout(5000) }))

    const oversized = await rawStream(user, relay)
    await oversized.write(lengthVarint(MAX_REQUEST_FRAME_LENGTH + 1))
    await assert.rejects(oversized.read({ signal: AbortSignal.timeout(5000) }))

    // The kept-open stream of the well-behaved client still works, and so do new ones.
    await client.put(relay.node.peerId, mailbox, fakeEnvelope())
    assert.equal((await fetchMailbox(user, relay.node.peerId, device, {})).envelopes.length, 2)
    assert.ok(relay.mailbox.metrics().server.droppedStreams >= 2)
    await client.close()
  })

  it('keeps one stream per relay open for many requests, concurrent ones answered in order', async () => {
    const client = new StoreClient(user, { now: clock.now })
    const other = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    const envelopes = Array.from({ length: 5 }, () => fakeEnvelope())
    const [receipts, page] = await Promise.all([
      Promise.all(envelopes.map(async e => await client.put(relay.node.peerId, other, e))),
      client.fetch(relay.node.peerId, device)
    ])
    assert.deepEqual(receipts.map(r => toHex(r.envelopeId)), envelopes.map(e => toHex(parseEnvelopeHeader(e).id)))
    assert.equal(page.envelopes.length, 0)
    const streams = user.getConnections(relay.node.peerId).flatMap(c => c.streams).filter(s => s.protocol === STORE_PROTOCOL)
    assert.equal(streams.length, 1)
    await client.close()
  })
})

function lengthVarint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return new Uint8Array(out)
}

describe('protocols/store timeouts and broken streams', function () {
  this.timeout(30_000)
  let relay: TestRelay
  let user: UserNode
  relayAndUserEach(() => ({ service: { idleTimeoutMs: 200 } }), (r, u) => {
    relay = r
    user = u
  })

  it('a stalled sender (half a frame, then nothing) loses its stream after the idle timeout', async () => {
    const raw = await rawStream(user, relay)
    const request = StoreRequest.encode({ put: { mailbox: wire(new Uint8Array(32)), envelope: wire(fakeEnvelope()) } })
    await raw.write(concat(lengthVarint(request.length), request.subarray(0, 100)))
    await assert.rejects(raw.read({ signal: AbortSignal.timeout(5000) }))
    // Dropped by the relay, not by the test's own timeout (a count, not a wall-clock bound).
    assert.equal(relay.mailbox.metrics().server.droppedStreams, 1)
  })

  it('the client carries on with a fresh stream when the relay dropped the kept-open one', async () => {
    const device = await generateKeyPair('Ed25519')
    const mailbox = mailboxId(peerIdFromPrivateKey(device))
    const client = new StoreClient(user)
    await client.put(relay.node.peerId, mailbox, fakeEnvelope())
    const storeStreams = (): number => user.getConnections(relay.node.peerId).flatMap(c => c.streams).filter(s => s.protocol === STORE_PROTOCOL).length
    await waitFor('the relay to drop the idle stream', () => storeStreams() === 0, 5000)
    await client.put(relay.node.peerId, mailbox, fakeEnvelope())
    assert.equal((await client.fetch(relay.node.peerId, device)).envelopes.length, 2)
    await client.close()
  })

  it('a relay that never answers costs the client its timeout, not a hang', async () => {
    // Reads nothing, answers nothing.
    const silent = await startUser(undefined, ['/ip4/127.0.0.1/tcp/0'])
    await silent.handle(STORE_PROTOCOL, () => {}, { runOnLimitedConnection: true })
    const silentAddr = silent.getMultiaddrs()
    const client = new StoreClient(user, { timeoutMs: 300 })
    // The relay never answers: only the client's timeout can end this put.
    await assert.rejects(client.put(silentAddr, new Uint8Array(32), fakeEnvelope()))
    await client.close()
    await silent.stop()
  })
})

function concat (...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}
