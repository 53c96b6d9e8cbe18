/**
 * A malicious relay against a client's receipt checks (tree receipts,
 * attacked further than tree-receipts.spec.ts does): what a receipt can
 * make the client spend before it is refused.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { createNodeCrypto } from '../../../../node/crypto/node-provider.js'
import {
  MAX_RECEIPT_SIGNATURE_LENGTH, MAX_RESPONSE_FRAME_LENGTH, ReceiptSigner, VerifiedTrees, mailboxId, signReceipt, verifyReceipt, wire
} from '../../../../src/protocols/store/index.js'
import type { ReceiptItem } from '../../../../src/protocols/store/index.js'
import type { CustodyReceipt } from '../../../../src/protocols/store/pb/store.js'

const NOW = 1_800_000_000_000

/** node:crypto's Ed25519, counting verifications. */
function countingEd25519 (): { ed25519: ReturnType<typeof createNodeCrypto>['ed25519'], verified: () => number } {
  const real = createNodeCrypto().ed25519
  let calls = 0
  return {
    ed25519: { ...real, verify: async (publicKey, message, signature) => { calls++; return await real.verify(publicKey, message, signature) } },
    verified: () => calls
  }
}

describe('protocols/store receipts from a malicious relay', () => {
  let relayKey: PrivateKey
  let relay: PeerId
  let items: ReceiptItem[]
  let tree: CustodyReceipt[]

  before(async () => {
    relayKey = await generateKeyPair('Ed25519')
    relay = peerIdFromPrivateKey(relayKey)
    const mailbox = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    items = Array.from({ length: 3 }, (_, i) => ({ subject: { mailbox, envelopeId: new Uint8Array(16).fill(i + 1), hash: new Uint8Array(32).fill(i + 10) }, storedAt: NOW, expiresAt: NOW + 1000 }))
    tree = await new ReceiptSigner(relayKey).signTree(items)
  })

  // The verdict cache is keyed by the signature's hex: a frame-sized signature made each receipt cost ~200 ms of hex and
  // 6 MiB held per cached verdict (383 MiB for the cache's 64 before this bound, measured with 3 MiB signatures).
  it('a signature longer than any peer key makes is refused before it is verified, hex-encoded or cached, tree or single', async () => {
    const counted = countingEd25519()
    const trees = new VerifiedTrees()
    const huge = (i: number): Uint8Array => new Uint8Array(MAX_RESPONSE_FRAME_LENGTH >> 3).fill(i + 1)
    const single = await signReceipt(relayKey, items[0].subject, NOW, NOW + 1000)
    const attempts: Array<[string, CustodyReceipt, ReceiptItem]> = [
      ...tree.map((r, i): [string, CustodyReceipt, ReceiptItem] => [`tree receipt ${i}`, { ...r, signature: wire(huge(i)) }, items[i]]),
      ['a single receipt', { ...single, signature: wire(huge(9)) }, items[0]],
      ['one byte over the bound', { ...tree[0], signature: wire(new Uint8Array(MAX_RECEIPT_SIGNATURE_LENGTH + 1)) }, items[0]]
    ]
    for (const [what, receipt, item] of attempts) {
      await assert.rejects(verifyReceipt(receipt, relay, item.subject, { ed25519: counted.ed25519, trees }), (err: Error) => {
        assert.equal(err.name, 'InvalidReceiptError', what)
        assert.match(err.message, /signature of \d+ bytes/, what)
        return true
      })
    }
    assert.equal(counted.verified(), 0, 'no verification for a signature no key makes')
    assert.equal(trees.size, 0, 'no verdict kept for it')
    // The real receipts still verify, once for the batch, with the same cache.
    for (const [i, r] of tree.entries()) await verifyReceipt(r, relay, items[i].subject, { ed25519: counted.ed25519, trees })
    assert.equal(counted.verified(), 1)
    assert.equal(trees.size, 1)
  })
})
