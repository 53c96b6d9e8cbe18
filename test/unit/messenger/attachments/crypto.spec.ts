import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createCrypto } from '../../../../src/crypto/index.js'
import {
  CHUNK_SIZE, CHUNK_TAG_BYTES, MAX_DIRECT_ATTACHMENT_BYTES, MAX_RELAY_ATTACHMENT_BYTES, MIN_CHUNK_SIZE, chunkAad, chunkCount,
  chunkLength, chunkNonce, decryptAttachment, decryptChunk, encryptAttachment, encryptChunk, joinChunks, nobleSha256, splitChunks
} from '../../../../src/messenger/attachments/index.js'
import type { AttachmentDescriptor } from '../../../../src/messenger/model/index.js'
import { HEADS, fileOf, rejectsNamed } from './helpers.js'

const crypto = createCrypto()
const meta = { fileName: 'notes.bin', mimeType: 'application/octet-stream', kind: 'file' as const }

describe('messenger/attachments/crypto', () => {
  describe('round trip', () => {
    for (const [what, size] of [['an empty file', 0], ['one byte', 1], ['exactly one chunk', CHUNK_SIZE], ['an exact multiple of the chunk size', 3 * CHUNK_SIZE], ['one byte over a multiple', 3 * CHUNK_SIZE + 1]] as const) {
      it(`${what} (${size} bytes)`, async () => {
        const plaintext = fileOf([], size, size + 7)
        const { descriptor, chunks } = await encryptAttachment(crypto, plaintext, meta)
        const expectedChunks = size === 0 ? 1 : Math.ceil(size / CHUNK_SIZE)
        assert.equal(chunks.length, expectedChunks)
        assert.equal(chunkCount(descriptor), expectedChunks)
        assert.equal(chunks[chunks.length - 1].length, (size === 0 ? 0 : size - (expectedChunks - 1) * CHUNK_SIZE) + CHUNK_TAG_BYTES)
        assert.equal(descriptor.size, size)
        assert.equal(descriptor.chunkSize, CHUNK_SIZE)
        assert.equal(descriptor.key.length, 32)
        assert.equal(descriptor.id.length, 16)
        assert.deepEqual(descriptor.sha256, crypto.hash.sha256(plaintext))
        assert.deepEqual(await decryptAttachment(crypto, descriptor, chunks), plaintext)
      })
    }

    it('gives every attachment its own key and id', async () => {
      const a = await encryptAttachment(crypto, new Uint8Array(10), meta)
      const b = await encryptAttachment(crypto, new Uint8Array(10), meta)
      assert.notDeepEqual(a.descriptor.key, b.descriptor.key)
      assert.notDeepEqual(a.descriptor.id, b.descriptor.id)
      assert.notDeepEqual(a.chunks[0], b.chunks[0])
    })

    it('seals the same chunk the same way twice (a resumed transfer resends identical bytes)', async () => {
      const { descriptor } = await encryptAttachment(crypto, fileOf([], 5000), { ...meta }, { chunkSize: 4096 })
      const plain = fileOf([], 5000).subarray(0, 4096)
      assert.deepEqual(await encryptChunk(crypto, descriptor, 0, plain), await encryptChunk(crypto, descriptor, 0, plain))
    })

    it('uses the index as nonce and binds id, index, count, size and chunk size in the associated data', () => {
      assert.deepEqual(chunkNonce(0x01020304), Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4]))
      const layout = { id: new Uint8Array(16).fill(9), size: 10_000, chunkSize: 4096 }
      const aad = chunkAad(layout, 2)
      const label = new TextEncoder().encode('starling/attachment-chunk/1')
      assert.deepEqual(aad.subarray(0, label.length), label)
      assert.deepEqual(aad.subarray(label.length, label.length + 16), layout.id)
      assert.deepEqual([...aad.subarray(label.length + 16)], [0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0x27, 0x10, 0, 0, 0x10, 0])
    })
  })

  describe('rejects', () => {
    let descriptor: AttachmentDescriptor
    let chunks: Uint8Array[]
    const plaintext = fileOf([], 3 * 4096 + 100)

    before(async () => {
      ({ descriptor, chunks } = await encryptAttachment(crypto, plaintext, meta, { chunkSize: 4096 }))
    })

    it('a tampered chunk (every bit position of a few bytes, and the tag)', async () => {
      for (const offset of [0, 1, 2000, 4095, 4096 + CHUNK_TAG_BYTES - 1]) {
        const bad = chunks[1].slice()
        bad[offset] ^= 0x01
        await rejectsNamed(decryptChunk(crypto, descriptor, 1, bad), 'AttachmentIntegrityError')
      }
    })

    it('chunks reordered (each chunk at another index)', async () => {
      await rejectsNamed(decryptChunk(crypto, descriptor, 1, chunks[0]), 'AttachmentIntegrityError')
      await rejectsNamed(decryptChunk(crypto, descriptor, 0, chunks[1]), 'AttachmentIntegrityError')
      await rejectsNamed(decryptAttachment(crypto, descriptor, [chunks[1], chunks[0], chunks[2], chunks[3]]), 'AttachmentIntegrityError')
    })

    it('a chunk swapped in from another attachment, even with the same key', async () => {
      const other = await encryptAttachment(crypto, plaintext, meta, { chunkSize: 4096 })
      await rejectsNamed(decryptChunk(crypto, descriptor, 1, other.chunks[1]), 'AttachmentIntegrityError')
      const sameKeyOtherId = { ...descriptor, id: other.descriptor.id }
      await rejectsNamed(decryptChunk(crypto, sameKeyOtherId, 1, chunks[1]), 'AttachmentIntegrityError')
    })

    it('truncation: missing last chunk, a shortened descriptor, a cut chunk', async () => {
      await rejectsNamed(decryptAttachment(crypto, descriptor, chunks.slice(0, 3)), 'AttachmentIntegrityError')
      // A descriptor claiming the file ends after three full chunks: the third chunk was sealed for a 4-chunk file.
      const shorter = { ...descriptor, size: 3 * 4096 }
      await rejectsNamed(decryptChunk(crypto, shorter, 2, chunks[2]), 'AttachmentIntegrityError')
      await rejectsNamed(decryptChunk(crypto, descriptor, 3, chunks[3].subarray(0, chunks[3].length - 1)), 'AttachmentIntegrityError')
    })

    it('extension: an extra chunk, an index past the end, a longer descriptor', async () => {
      await rejectsNamed(decryptAttachment(crypto, descriptor, [...chunks, chunks[3]]), 'AttachmentIntegrityError')
      await rejectsNamed(decryptChunk(crypto, descriptor, 4, chunks[3]), 'AttachmentIntegrityError')
      const longer = { ...descriptor, size: descriptor.size + 4096 }
      await rejectsNamed(decryptChunk(crypto, longer, 0, chunks[0]), 'AttachmentIntegrityError')
    })

    it('a wrong key', async () => {
      await rejectsNamed(decryptChunk(crypto, { ...descriptor, key: new Uint8Array(32) }, 0, chunks[0]), 'AttachmentIntegrityError')
    })

    it('a whole file whose digest is not the descriptor\'s', async () => {
      const wrongDigest = { ...descriptor, sha256: new Uint8Array(32) }
      await rejectsNamed(decryptAttachment(crypto, wrongDigest, chunks), 'AttachmentIntegrityError')
    })

    it('sizes over the limits and odd chunk sizes', async () => {
      await rejectsNamed(encryptAttachment(crypto, new Uint8Array(101), meta, { maxBytes: 100 }), 'AttachmentTooLargeError')
      await rejectsNamed(decryptAttachment(crypto, { ...descriptor, size: MAX_DIRECT_ATTACHMENT_BYTES + 1 }, chunks), 'AttachmentTooLargeError')
      await rejectsNamed(decryptAttachment(crypto, descriptor, chunks, { maxBytes: 4096 }), 'AttachmentTooLargeError')
      await rejectsNamed(encryptAttachment(crypto, new Uint8Array(10), meta, { chunkSize: MIN_CHUNK_SIZE - 1 }), 'InvalidAttachmentError')
      assert.ok(MAX_RELAY_ATTACHMENT_BYTES < MAX_DIRECT_ATTACHMENT_BYTES)
      assert.equal(MAX_DIRECT_ATTACHMENT_BYTES, 100_000_000)
    })

    it('an image that is not one', async () => {
      await rejectsNamed(encryptAttachment(crypto, fileOf([1, 2, 3], 100), { fileName: 'x.png', mimeType: 'image/png', kind: 'image' }), 'AttachmentTypeError')
      const { chunks: c, descriptor: d } = await encryptAttachment(crypto, fileOf(HEADS.png.bytes, 100), { fileName: 'x.png', mimeType: 'image/png', kind: 'image' })
      await rejectsNamed(decryptAttachment(crypto, { ...d, kind: 'audio', mimeType: 'audio/ogg' }, c), 'AttachmentTypeError')
    })
  })

  describe('split and join', () => {
    it('join(split(x)) = x, chunk lengths follow chunkLength (property)', () => {
      fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), fc.integer({ min: 1, max: 1200 }), (bytes, chunkSize) => {
        const pieces = splitChunks(bytes, chunkSize)
        assert.equal(pieces.length, chunkCount({ size: bytes.length, chunkSize }))
        pieces.forEach((p, i) => { assert.equal(p.length, chunkLength({ size: bytes.length, chunkSize }, i)) })
        assert.deepEqual(joinChunks(pieces), bytes)
      }))
    })

    it('decrypt(encrypt(x)) = x for any size and chunk size (property)', async () => {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 6000 }), fc.integer({ min: MIN_CHUNK_SIZE, max: 3000 }), async (bytes, chunkSize) => {
        const { descriptor, chunks } = await encryptAttachment(crypto, bytes, meta, { chunkSize })
        assert.deepEqual(await decryptAttachment(crypto, descriptor, chunks), bytes)
      }), { numRuns: 40 })
    })

    it('the incremental SHA-256 equals the one-shot one', () => {
      fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), parts => {
        const h = nobleSha256()
        for (const p of parts) h.update(p)
        assert.deepEqual(h.digest(), crypto.hash.sha256(joinChunks(parts)))
      }))
    })
  })
})
