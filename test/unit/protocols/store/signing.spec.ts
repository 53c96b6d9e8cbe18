/** Mailbox ids, owner signatures and custody receipts: what they bind, and that nothing else verifies. */
import assert from 'node:assert/strict'
import { sha256 } from '@noble/hashes/sha2.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { toHex } from '../../../../src/crypto/bytes.js'
import { createNodeCrypto } from '../../../../node/crypto/node-provider.js'
import {
  AuthOp, MAILBOX_SHARDS, ReceiptSigner, receiptPayload, allShardTopics, deleteBody, envelopeRef, fetchBody, mailboxId, mailboxShard, mailboxTopic, signOwnerAuth, signReceipt,
  verifyOwnerAuth, verifyReceipt, wire
} from '../../../../src/protocols/store/index.js'

const NOW = 1_800_000_000_000
const WINDOW = 5 * 60 * 1000

describe('protocols/store mailboxes and signatures', () => {
  let device: PrivateKey
  let relay: PeerId
  let relayKey: PrivateKey

  before(async () => {
    device = await generateKeyPair('Ed25519')
    relayKey = await generateKeyPair('Ed25519')
    relay = peerIdFromPrivateKey(relayKey)
  })

  it('a mailbox id is SHA-256 of the domain and the peer id multihash; its shard is byte 0 mod 4', () => {
    const peer = peerIdFromPrivateKey(device)
    const expected = sha256(new Uint8Array([...new TextEncoder().encode('starling-mailbox-v1'), ...peer.toMultihash().bytes]))
    assert.equal(toHex(mailboxId(peer)), toHex(expected))
    assert.equal(mailboxShard(expected), expected[0] % MAILBOX_SHARDS)
    assert.equal(mailboxTopic(expected), `/starling/mailbox/3.0.0/${expected[0] % 4}`)
    assert.equal(allShardTopics().length, 4)
    assert.throws(() => mailboxShard(new Uint8Array(31)), { name: 'InvalidStoreRequestError' })
  })

  it('an owner signature verifies only for its op, mailbox, relay, body and time window', async () => {
    const refs = [{ id: new Uint8Array(16).fill(1), hash: new Uint8Array(32).fill(3) }, { id: new Uint8Array(16).fill(2), hash: new Uint8Array(32).fill(4) }]
    const { mailbox, auth } = await signOwnerAuth(device, AuthOp.delete, relay, NOW, deleteBody(refs))
    const base = { op: AuthOp.delete, mailbox, relay, body: deleteBody(refs), now: NOW, freshnessMs: WINDOW }
    await verifyOwnerAuth(auth, base)
    await verifyOwnerAuth(auth, { ...base, now: NOW + WINDOW })
    const otherRelay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const otherMailbox = mailboxId(otherRelay)
    const refused = [
      verifyOwnerAuth(auth, { ...base, op: AuthOp.fetch }),
      verifyOwnerAuth(auth, { ...base, relay: otherRelay }),
      verifyOwnerAuth(auth, { ...base, mailbox: otherMailbox }),
      verifyOwnerAuth(auth, { ...base, body: deleteBody(refs.slice(1)) }),
      // The same id under another hash (junk served under a real id) is another delete.
      verifyOwnerAuth(auth, { ...base, body: deleteBody([refs[0], { ...refs[1], hash: new Uint8Array(32).fill(5) }]) }),
      verifyOwnerAuth(auth, { ...base, now: NOW + WINDOW + 1 }),
      verifyOwnerAuth(auth, { ...base, now: NOW - WINDOW - 1 }),
      verifyOwnerAuth({ ...auth, signature: wire(auth.signature.map((b, i) => i === 0 ? b ^ 1 : b)) }, base),
      verifyOwnerAuth({ ...auth, timestamp: auth.timestamp + 1n }, base),
      verifyOwnerAuth({ ...auth, owner: wire(new Uint8Array([1, 2, 3])) }, base),
      verifyOwnerAuth(undefined, base)
    ]
    for (const attempt of refused) await assert.rejects(attempt, { name: 'UnauthorizedError' })
  })

  it('a delete body is each id and its SHA-256; refs of the wrong length are refused', () => {
    const envelope = new Uint8Array([1, 2, 3])
    const ref = envelopeRef(new Uint8Array(16).fill(7), envelope)
    assert.equal(toHex(ref.hash), toHex(sha256(envelope)))
    assert.equal(toHex(deleteBody([ref])), toHex(new Uint8Array([...ref.id, ...ref.hash])))
    assert.throws(() => deleteBody([{ id: new Uint8Array(15), hash: ref.hash }]), { name: 'InvalidStoreRequestError' })
    assert.throws(() => deleteBody([{ id: ref.id, hash: new Uint8Array(16) }]), { name: 'InvalidStoreRequestError' })
  })

  it('a secp256k1 owner is refused (owners are Ed25519 devices)', async () => {
    const k1 = await generateKeyPair('secp256k1')
    const { mailbox, auth } = await signOwnerAuth(k1, AuthOp.fetch, relay, NOW, fetchBody(new Uint8Array(0), 0))
    await assert.rejects(verifyOwnerAuth(auth, { op: AuthOp.fetch, mailbox, relay, body: fetchBody(new Uint8Array(0), 0), now: NOW, freshnessMs: WINDOW }), { name: 'UnauthorizedError' })
  })

  for (const [verifier, ed25519] of [['libp2p\'s key', undefined], ['the node:crypto facade', createNodeCrypto().ed25519]] as const) {
  it(`a custody receipt verifies only against the relay that signed it, for that envelope's bytes and mailbox (checked by ${verifier})`, async () => {
    const mailbox = mailboxId(peerIdFromPrivateKey(device))
    const id = new Uint8Array(16).fill(9)
    const hash = new Uint8Array(32).fill(7)
    const subject = { mailbox, envelopeId: id, hash }
    const receipt = await signReceipt(relayKey, subject, NOW, NOW + 1000)
    const verified = await verifyReceipt(receipt, relay, subject, { ed25519 })
    assert.equal(verified.storedAt, NOW)
    assert.equal(verified.expiresAt, NOW + 1000)
    assert.deepEqual(verified.hash, hash)
    const otherKey = await generateKeyPair('Ed25519')
    const other = peerIdFromPrivateKey(otherKey)
    const impostor = await signReceipt(otherKey, subject, NOW, NOW + 1000)
    // Signed for junk held under the same id: not a receipt for the bytes handed over.
    const squatted = await signReceipt(relayKey, { ...subject, hash: new Uint8Array(32).fill(8) }, NOW, NOW + 1000)
    const refused = [
      verifyReceipt(receipt, other, subject, { ed25519 }),
      verifyReceipt(impostor, relay, subject, { ed25519 }),
      verifyReceipt({ ...impostor, relay: wire(relay.toMultihash().bytes) }, relay, subject, { ed25519 }),
      verifyReceipt(receipt, relay, { ...subject, mailbox: mailboxId(other) }, { ed25519 }),
      verifyReceipt(receipt, relay, { ...subject, envelopeId: new Uint8Array(16) }, { ed25519 }),
      verifyReceipt(receipt, relay, { ...subject, hash: new Uint8Array(32) }, { ed25519 }),
      verifyReceipt(squatted, relay, subject, { ed25519 }),
      verifyReceipt({ ...squatted, hash: wire(hash) }, relay, subject, { ed25519 }),
      verifyReceipt({ ...receipt, expiresAt: receipt.expiresAt + 1n }, relay, subject, { ed25519 }),
      verifyReceipt({ ...receipt, expiresAt: 0n }, relay, subject, { ed25519 }),
      verifyReceipt(undefined, relay, subject, { ed25519 })
    ]
    for (const attempt of refused) await assert.rejects(attempt, { name: 'InvalidReceiptError' })
  })
  }

  it('a receipt signer with node:crypto makes the peer key\'s own signature, from one seed array it keeps', async () => {
    const subject = { mailbox: mailboxId(peerIdFromPrivateKey(device)), envelopeId: new Uint8Array(16).fill(3), hash: new Uint8Array(32).fill(4) }
    const seeds: Uint8Array[] = []
    const ed25519 = createNodeCrypto().ed25519
    const signer = new ReceiptSigner(relayKey, { sign: async (seed, message) => { seeds.push(seed); return await ed25519.sign(seed, message) } })
    assert.ok(signer.relay.equals(relay))
    for (const at of [NOW, NOW + 1]) {
      const receipt = await signer.sign(subject, at, at + 1000)
      // Ed25519 is deterministic: the same bytes as libp2p's signature with the peer key.
      assert.equal(toHex(receipt.signature), toHex(await relayKey.sign(receiptPayload(subject, relay, at, at + 1000))))
      assert.equal((await verifyReceipt(receipt, relay, subject)).storedAt, at)
    }
    assert.equal(seeds.length, 2)
    assert.equal(seeds[0], seeds[1], 'the same array each time: the provider caches the imported key by identity')
    assert.equal(toHex(seeds[0]), toHex(relayKey.raw.subarray(0, 32)))
  })

  it('a receipt signer for a key that is not Ed25519 signs with the peer key', async () => {
    const k1 = await generateKeyPair('secp256k1')
    let called = 0
    const signer = new ReceiptSigner(k1, { sign: async () => { called++; return new Uint8Array(64) } })
    const subject = { mailbox: mailboxId(peerIdFromPrivateKey(device)), envelopeId: new Uint8Array(16).fill(3), hash: new Uint8Array(32).fill(4) }
    const receipt = await signer.sign(subject, NOW, NOW + 1000)
    assert.equal(called, 0)
    await verifyReceipt(receipt, peerIdFromPrivateKey(k1), subject)
  })
})
