import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createCrypto } from '../../../../src/crypto/index.js'
import {
  CHUNK_PAYLOAD_VERSION, CHUNK_SIZE, MAX_RELAY_ATTACHMENT_BYTES, MemoryBlobStore, acceptChunkPayload, decodeChunkPayload,
  encodeChunkPayload, prepareAttachment, relayChunkPayloads
} from '../../../../src/messenger/attachments/index.js'
import type { AttachmentMeta } from '../../../../src/messenger/attachments/index.js'
import { HEADS, collect, fileOf, rejectsNamed } from './helpers.js'

const crypto = createCrypto()
const png: AttachmentMeta = { fileName: 'cat.png', mimeType: 'image/png', kind: 'image', caption: 'a cat' }

async function payloadsOf (pieces: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const p of pieces) out.push(p)
  return out
}

describe('messenger/attachments prepare and relay payloads', () => {
  it('prepares a file from pieces of any size into a complete attachment', async () => {
    const bytes = fileOf(HEADS.png.bytes, 3 * CHUNK_SIZE + 5)
    const pieces = [bytes.subarray(0, 7), bytes.subarray(7, 100_000), bytes.subarray(100_000)]
    const store = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, pieces, png, store)
    assert.equal(d.size, bytes.length)
    assert.equal(d.caption, 'a cat')
    assert.deepEqual(d.sha256, crypto.hash.sha256(bytes))
    assert.equal(await store.isComplete(d.id), true)
    assert.deepEqual(await collect(store.read(d.id)), bytes)
  })

  it('refuses, and keeps nothing of, a file over the limit or of the wrong type', async () => {
    const store = new MemoryBlobStore()
    await rejectsNamed(prepareAttachment(crypto, new Uint8Array(2049), { fileName: 'f', mimeType: 'application/octet-stream', kind: 'file' }, store, { maxBytes: 2048, chunkSize: 1024 }), 'AttachmentTooLargeError')
    await rejectsNamed(prepareAttachment(crypto, fileOf(HEADS.jpeg.bytes, 10), png, store), 'AttachmentTypeError')
    await rejectsNamed(prepareAttachment(crypto, fileOf(HEADS.wav.bytes, 10), { fileName: 'a.gif', mimeType: 'image/gif', kind: 'gif' }, store), 'AttachmentTypeError')
  })

  it('carries an attachment through payloads in any order, with duplicates, to a complete file', async () => {
    const bytes = fileOf(HEADS.png.bytes, 5 * 1024 + 3)
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, bytes, png, senderStore, { chunkSize: 1024 })
    const payloads = await payloadsOf(relayChunkPayloads(crypto, d, senderStore))
    assert.equal(payloads.length, 6)
    await fc.assert(fc.asyncProperty(fc.shuffledSubarray([...payloads.keys(), 0, 3], { minLength: 8, maxLength: 8 }), async order => {
      const store = new MemoryBlobStore()
      const results = []
      for (const i of order) results.push(await acceptChunkPayload(crypto, d, store, payloads[i]))
      assert.equal(results.filter(r => r.complete).length >= 1, true)
      const firstComplete = results.findIndex(r => r.complete)
      assert.equal(new Set(order.slice(0, firstComplete + 1)).size, 6, 'complete exactly when the last distinct chunk arrives')
      assert.deepEqual(await collect(store.read(d.id)), bytes)
    }), { numRuns: 20 })
  })

  it('refuses payloads of another attachment, tampered or malformed, storing nothing', async () => {
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, fileOf(HEADS.png.bytes, 3000), png, senderStore, { chunkSize: 1024 })
    const e = await prepareAttachment(crypto, fileOf(HEADS.png.bytes, 3000, 9), png, senderStore, { chunkSize: 1024 })
    const [p0] = await payloadsOf(relayChunkPayloads(crypto, d, senderStore))
    const [q0] = await payloadsOf(relayChunkPayloads(crypto, e, senderStore))
    const store = new MemoryBlobStore()
    await rejectsNamed(acceptChunkPayload(crypto, d, store, q0), 'AttachmentIntegrityError')
    const forged = encodeChunkPayload({ ...decodeChunkPayload(q0), attachmentId: d.id })
    await rejectsNamed(acceptChunkPayload(crypto, d, store, forged), 'AttachmentIntegrityError')
    const moved = encodeChunkPayload({ ...decodeChunkPayload(p0), index: 1 })
    await rejectsNamed(acceptChunkPayload(crypto, d, store, moved), 'AttachmentIntegrityError')
    const bad = p0.slice()
    bad[bad.length - 1] ^= 1
    await rejectsNamed(acceptChunkPayload(crypto, d, store, bad), 'AttachmentIntegrityError')
    await rejectsNamed(acceptChunkPayload(crypto, d, store, p0.subarray(0, 20)), 'InvalidAttachmentError')
    const otherVersion = p0.slice()
    otherVersion[0] = CHUNK_PAYLOAD_VERSION + 1
    await rejectsNamed(acceptChunkPayload(crypto, d, store, otherVersion), 'InvalidAttachmentError')
    assert.deepEqual(await store.listChunks(d.id), [])
  })

  it('keeps attachments over the relay limit off the relay path', async () => {
    const store = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, new Uint8Array(0), { fileName: 'f', mimeType: 'application/octet-stream', kind: 'file' }, store)
    const big = { ...d, size: MAX_RELAY_ATTACHMENT_BYTES + 1 }
    await rejectsNamed(payloadsOf(relayChunkPayloads(crypto, big, store)), 'AttachmentTooLargeError')
    await rejectsNamed(acceptChunkPayload(crypto, big, new MemoryBlobStore(), new Uint8Array(100)), 'AttachmentTooLargeError')
  })

  it('encodes and decodes payloads (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.nat({ max: 0xffff_ffff }), fc.uint8Array({ minLength: 16, maxLength: 2000 }), (attachmentId, index, ciphertext) => {
      assert.deepEqual(decodeChunkPayload(encodeChunkPayload({ attachmentId, index, ciphertext })), { attachmentId, index, ciphertext })
    }))
  })
})
