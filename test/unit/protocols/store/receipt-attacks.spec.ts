/**
 * Tree receipts attacked further than tree-receipts.spec.ts does. A
 * malicious relay against a client's receipt checks: what a receipt can
 * make the client spend before it is refused. A malicious client against
 * a real relay (LevelDB, libp2p on 127.0.0.1): what it can make the relay
 * sign, and how often.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import type { PeerId, PrivateKey } from '@libp2p/interface'
import { createNodeCrypto } from '../../../../node/crypto/node-provider.js'
import { bytesEqual } from '../../../../src/crypto/bytes.js'
import {
  MAX_PUT_BATCH, MAX_RECEIPT_SIGNATURE_LENGTH, MAX_RESPONSE_FRAME_LENGTH, MAX_STORED_ENVELOPE_LENGTH, RECEIPT_DOMAIN, RECEIPT_TREE_DOMAIN, ReceiptSigner,
  STORE_PROTOCOL, VerifiedTrees, mailboxId, signReceipt, verifyReceipt, wire
} from '../../../../src/protocols/store/index.js'
import type { ReceiptItem } from '../../../../src/protocols/store/index.js'
import { StoreRequest, StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import type { CustodyReceipt, PutRequest } from '../../../../src/protocols/store/pb/store.js'
import { fakeEnvelope, startRelay, startUser, tempDir } from '../../relay/helpers.js'
import type { TestRelay, UserNode } from '../../relay/helpers.js'
import { NOW, countingEd25519, receiptBatch } from './receipt-fixtures.js'

describe('protocols/store receipts from a malicious relay', () => {
  let relayKey: PrivateKey
  let relay: PeerId
  let items: ReceiptItem[]
  let tree: CustodyReceipt[]

  before(async () => {
    ({ relayKey, relay, items } = await receiptBatch(3))
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

describe('protocols/store what a client can make a relay sign', function () {
  this.timeout(60_000)
  let relay: TestRelay
  let user: UserNode
  let remove: () => Promise<void>
  /** Every message the relay's store server signed. */
  let signed: Uint8Array[]

  beforeEach(async () => {
    const tmp = await tempDir()
    remove = tmp.remove
    signed = []
    const real = createNodeCrypto().ed25519
    relay = await startRelay({
      location: `${tmp.dir}/db`,
      service: { ed25519: { sign: async (secretKey, message) => { signed.push(message.slice()); return await real.sign(secretKey, message) } } }
    })
    user = await startUser()
  })

  afterEach(async () => {
    await user.stop()
    await relay.stop()
    await remove()
  })

  async function ask (request: StoreRequest): Promise<StoreResponse> {
    const connection = await user.dial(relay.node.getMultiaddrs())
    const lp = lpStream(await connection.newStream(STORE_PROTOCOL), { maxDataLength: MAX_RESPONSE_FRAME_LENGTH })
    await lp.write(StoreRequest.encode(request))
    return StoreResponse.decode(await lp.read({ signal: AbortSignal.timeout(10_000) }))
  }

  const prefixOf = (domain: string): Uint8Array => new Uint8Array([...new TextEncoder().encode(domain), 0])
  const startsWith = (bytes: Uint8Array, prefix: Uint8Array): boolean => bytes.length >= prefix.length && bytesEqual(bytes.subarray(0, prefix.length), prefix)

  it('a batch that asks for a tree costs one signature, over a tree payload only; none when every put is refused', async () => {
    const mailbox = mailboxId(peerIdFromPrivateKey(await generateKeyPair('Ed25519')))
    const put = (e: Uint8Array, to = mailbox): PutRequest => ({ mailbox: wire(to), envelope: wire(e) })
    // Chosen by the client: the mailbox's bytes and the envelope ids (the 16 bytes after the version byte).
    const chosen = Array.from({ length: MAX_PUT_BATCH }, (_, i) => {
      const e = fakeEnvelope()
      e.subarray(1, 17).fill(0x41 + i)
      return put(e, new Uint8Array(32).fill(0x6e))
    })
    const full = await ask({ puts: { puts: chosen, treeReceipts: true } })
    assert.deepEqual(full.results.map(r => r.status), Array(MAX_PUT_BATCH).fill(StoreResponse.Status.OK))
    assert.equal(signed.length, 1, 'one signature for the batch')
    // A tree payload is its domain, the size and a root: no byte the client chose is signed as it sent it.
    const tree = prefixOf(RECEIPT_TREE_DOMAIN)
    assert.ok(startsWith(signed[0], tree))
    assert.equal(signed[0].length, tree.length + 4 + 32)
    const malformed = fakeEnvelope()
    malformed[0] = 0x7f
    const refused = await ask({ puts: { puts: [put(fakeEnvelope(MAX_STORED_ENVELOPE_LENGTH + 1)), put(malformed), put(fakeEnvelope(), new Uint8Array(31))], treeReceipts: true } })
    assert.deepEqual(refused.results.map(r => r.status), [StoreResponse.Status.TOO_LARGE, StoreResponse.Status.BAD_REQUEST, StoreResponse.Status.BAD_REQUEST])
    assert.deepEqual(refused.results.map(r => r.receipt), [undefined, undefined, undefined], 'no receipt on a refusal')
    assert.equal(signed.length, 1, 'nothing signed for a batch with nothing stored')
    // Without a tree (an older client): one signature per stored put, each under the single receipt's domain, as single puts cost.
    await ask({ puts: { puts: [put(fakeEnvelope()), put(malformed), put(fakeEnvelope())], treeReceipts: false } })
    assert.equal(signed.length, 3)
    const single = prefixOf(RECEIPT_DOMAIN)
    for (const message of signed.slice(1)) assert.ok(startsWith(message, single) && !startsWith(message, tree))
  })
})
