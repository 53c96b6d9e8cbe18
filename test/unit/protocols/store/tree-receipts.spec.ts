/**
 * Tree receipts (one relay signature for a batch's receipts), attacked: a
 * receipt verifies only for its own envelope, relay, place in the tree and
 * the tree's size; a tree signature never passes for a single receipt nor
 * the other way round; a client verifies a batch once and never takes a
 * forged signature for the one it verified. Then between real nodes
 * (LevelDB, libp2p on 127.0.0.1): a client's concurrent puts come back in
 * one tree, and a batch with refusals receipts only what was stored.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { sha256 } from '@noble/hashes/sha2.js'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { createNodeCrypto } from '../../../../node/crypto/node-provider.js'
import { parseEnvelopeHeader } from '../../../../src/crypto/envelope.js'
import {
  MAX_PUT_BATCH, MAX_STORED_ENVELOPE_LENGTH, ReceiptSigner, StoreClient, VerifiedTrees, mailboxId, signReceipt, verifyReceipt, wire
} from '../../../../src/protocols/store/index.js'
import type { ReceiptItem } from '../../../../src/protocols/store/index.js'
import { StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import type { CustodyReceipt } from '../../../../src/protocols/store/pb/store.js'
import { fakeEnvelope, relayAndUserEach } from '../../relay/helpers.js'
import type { TestRelay, UserNode } from '../../relay/helpers.js'
import { rawStream } from './raw-stream.js'
import { NOW, countingEd25519, receiptBatch } from './receipt-fixtures.js'

describe('protocols/store tree receipts', () => {
  let relayKey: PrivateKey
  let relay: PeerId
  let items: ReceiptItem[]
  let receipts: CustodyReceipt[]

  before(async () => {
    ({ relayKey, relay, items } = await receiptBatch(5, { spread: true }))
    receipts = await new ReceiptSigner(relayKey, createNodeCrypto().ed25519).signTree(items)
  })

  it('each receipt of a batch verifies on its own against the relay, with its place in the tree, by libp2p\'s key and by node:crypto', async () => {
    assert.equal(new Set(receipts.map(r => r.signature.join())).size, 1, 'one signature for the batch')
    for (const [i, receipt] of receipts.entries()) {
      for (const ed25519 of [undefined, createNodeCrypto().ed25519]) {
        const verified = await verifyReceipt(receipt, relay, items[i].subject, { ed25519 })
        assert.equal(verified.storedAt, NOW + i)
        assert.deepEqual(verified.tree && { leaves: verified.tree.leaves, index: verified.tree.index }, { leaves: 5, index: i })
      }
    }
  })

  it('a tree receipt verifies only for its envelope, relay, place, tree size and times; tree and single signatures never pass for each other', async () => {
    const [r0, r1] = receipts
    const { subject } = items[0]
    const otherKey = await generateKeyPair('Ed25519')
    const other = peerIdFromPrivateKey(otherKey)
    const othersTree = (await new ReceiptSigner(otherKey).signTree(items))[0]
    const single = await signReceipt(relayKey, subject, items[0].storedAt, items[0].expiresAt)
    // Leaf 0 of the first three has the path of leaf 0 of four: only the signed size tells them apart.
    const ofThree = (await new ReceiptSigner(relayKey).signTree(items.slice(0, 3)))[0]
    const flipped = r0.path.map(p => p.slice())
    flipped[1][0] ^= 1
    const refused: Array<[string, Promise<unknown>]> = [
      ['another envelope\'s receipt', verifyReceipt(r1, relay, subject)],
      ['its leaf named at another index', verifyReceipt({ ...r0, index: 1 }, relay, subject)],
      ['another tree size', verifyReceipt({ ...r0, leaves: 4 }, relay, subject)],
      ['a tree of three claimed as four', verifyReceipt({ ...ofThree, leaves: 4 }, relay, subject)],
      ['a sibling changed', verifyReceipt({ ...r0, path: flipped.map(wire) }, relay, subject)],
      ['a sibling dropped', verifyReceipt({ ...r0, path: r0.path.slice(1) }, relay, subject)],
      ['a later storedAt', verifyReceipt({ ...r0, storedAt: r0.storedAt + 1n }, relay, subject)],
      ['a later expiresAt', verifyReceipt({ ...r0, expiresAt: r0.expiresAt + 1n }, relay, subject)],
      ['another relay\'s tree', verifyReceipt({ ...othersTree, relay: wire(relay.toMultihash().bytes) }, relay, subject)],
      ['checked against another relay', verifyReceipt(r0, other, subject)],
      ['the tree signature as a single receipt', verifyReceipt({ ...r0, leaves: 0, index: 0, path: [] }, relay, subject)],
      ['a single receipt as a tree of one', verifyReceipt({ ...single, leaves: 1, index: 0, path: [] }, relay, subject)],
      ['more leaves than a batch holds', verifyReceipt({ ...r0, leaves: MAX_PUT_BATCH + 1 }, relay, subject)],
      ['an index past the end', verifyReceipt({ ...r0, index: 5 }, relay, items[0].subject)]
    ]
    for (const [what, attempt] of refused) await assert.rejects(attempt, { name: 'InvalidReceiptError' }, what)
  })

  it('a batch costs the client one verification; a forged signature over the same root is never taken for the verified one', async () => {
    const counted = countingEd25519()
    const trees = new VerifiedTrees()
    const forged = { ...receipts[2], signature: wire(receipts[2].signature.map((b, i) => i === 0 ? b ^ 1 : b)) }
    // The forgery first: its verdict is its own.
    await assert.rejects(verifyReceipt(forged, relay, items[2].subject, { ed25519: counted.ed25519, trees }), { name: 'InvalidReceiptError' })
    await Promise.all(receipts.map(async (r, i) => await verifyReceipt(r, relay, items[i].subject, { ed25519: counted.ed25519, trees })))
    assert.equal(counted.verified(), 2, 'the forgery, then the batch once')
    await assert.rejects(verifyReceipt(forged, relay, items[2].subject, { ed25519: counted.ed25519, trees }), { name: 'InvalidReceiptError' })
    // Another relay's key never shares a verdict: the key is part of what was verified.
    await assert.rejects(verifyReceipt({ ...receipts[0], relay: wire(peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toMultihash().bytes) }, relay, items[0].subject, { ed25519: counted.ed25519, trees }), { name: 'InvalidReceiptError' })
  })
})

describe('protocols/store tree receipts between real nodes', function () {
  this.timeout(60_000)
  let relay: TestRelay
  let user: UserNode
  relayAndUserEach(() => ({}), (r, u) => {
    relay = r
    user = u
  })

  it('a client\'s concurrent puts go out as one batch and come back in one tree, verified once', async () => {
    const counted = countingEd25519()
    const client = new StoreClient(user, { ed25519: counted.ed25519 })
    const mailbox = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    const envelopes = Array.from({ length: MAX_PUT_BATCH }, () => fakeEnvelope())
    const verified = await Promise.all(envelopes.map(async e => await client.put(relay.node.getMultiaddrs(), mailbox, e)))
    await client.close()
    assert.equal(relay.mailbox.metrics().server.batches, 1)
    assert.deepEqual(verified.map(v => v.tree?.leaves), Array(MAX_PUT_BATCH).fill(MAX_PUT_BATCH))
    assert.deepEqual(verified.map(v => v.tree?.index), envelopes.map((_, i) => i))
    assert.deepEqual(verified.map(v => v.hash), envelopes.map(e => sha256(e)))
    assert.equal(counted.verified(), 1)
    assert.equal((await relay.store.usage(mailbox)).count, MAX_PUT_BATCH)
  })

  it('a batch with refusals receipts what was stored, in a tree of those; a client that does not ask gets single receipts', async () => {
    const raw = await rawStream(user, relay)
    const mailbox = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    const malformed = fakeEnvelope()
    malformed[0] = 0x7f
    const stored = [fakeEnvelope(), fakeEnvelope(), fakeEnvelope()]
    const puts = [stored[0], fakeEnvelope(MAX_STORED_ENVELOPE_LENGTH + 1), stored[1], malformed, stored[2]].map(e => ({ mailbox: wire(mailbox), envelope: wire(e) }))
    const ask = async (treeReceipts: boolean): Promise<StoreResponse> => await raw.request({ puts: { puts, treeReceipts } })
    const S = StoreResponse.Status
    const subject = (e: Uint8Array): { mailbox: Uint8Array, envelopeId: Uint8Array, hash: Uint8Array } => ({ mailbox, envelopeId: parseEnvelopeHeader(e).id, hash: sha256(e) })
    const tree = await ask(true)
    assert.deepEqual(tree.results.map(r => r.status), [S.OK, S.TOO_LARGE, S.OK, S.BAD_REQUEST, S.OK])
    const ok = [0, 2, 4].map(i => tree.results[i].receipt)
    for (const [i, receipt] of ok.entries()) {
      const verified = await verifyReceipt(receipt, relay.node.peerId, subject(stored[i]))
      assert.deepEqual([verified.tree?.leaves, verified.tree?.index], [3, i])
    }
    assert.equal(tree.results[1].receipt, undefined)
    // The same puts again (duplicates, answered with the original times), per-envelope receipts as a client that does not know trees asks.
    const singles = await ask(false)
    assert.deepEqual(singles.results.map(r => r.status), [S.OK, S.TOO_LARGE, S.OK, S.BAD_REQUEST, S.OK])
    for (const [i, at] of [0, 2, 4].entries()) {
      const receipt = singles.results[at].receipt
      assert.deepEqual([receipt?.leaves, receipt?.path.length], [0, 0])
      assert.equal((await verifyReceipt(receipt, relay.node.peerId, subject(stored[i]))).tree, undefined)
      assert.equal(receipt?.storedAt, ok[i]?.storedAt)
    }
  })
})
