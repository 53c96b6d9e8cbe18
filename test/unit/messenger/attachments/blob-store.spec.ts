/**
 * The BlobStore contract, run against the memory store and the file store,
 * plus what only the file store promises: partial state survives reopening,
 * and leftovers of an interrupted write or completion are cleaned up.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCrypto } from '../../../../src/crypto/index.js'
import { MemoryBlobStore, nobleSha256 } from '../../../../src/messenger/attachments/index.js'
import type { BlobStore, CompletionCheck } from '../../../../src/messenger/attachments/index.js'
import { FileBlobStore, nodeSha256 } from '../../../../node/blob-store.js'
import { collect, fileOf, rejectsNamed } from './helpers.js'

const crypto = createCrypto()
const CHUNK = 1024

function sample (size: number, seed = 3): { id: Uint8Array, bytes: Uint8Array, check: CompletionCheck, chunks: Uint8Array[] } {
  const bytes = fileOf([], size, seed)
  const chunks: Uint8Array[] = []
  for (let i = 0; i === 0 || i * CHUNK < size; i++) chunks.push(bytes.subarray(i * CHUNK, Math.min(size, (i + 1) * CHUNK)))
  return { id: crypto.randomBytes(16), bytes, chunks, check: { size, chunkSize: CHUNK, sha256: crypto.hash.sha256(bytes) } }
}

const dirs: string[] = []
async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'starling-blobs-'))
  dirs.push(dir)
  return dir
}

const STORES: Array<[string, () => Promise<BlobStore>]> = [
  ['MemoryBlobStore', async () => new MemoryBlobStore()],
  ['FileBlobStore', async () => await new FileBlobStore(await tempDir()).open()],
  ['FileBlobStore, encrypted', async () => await new FileBlobStore(await tempDir(), { encryptionKey: crypto.randomBytes(32) }).open()]
]

describe('messenger/attachments/blob-store', () => {
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })

  for (const [name, make] of STORES) {
    describe(name, () => {
      it('stores chunks out of order, lists them ascending, reads them back', async () => {
        const store = await make()
        const s = sample(3 * CHUNK + 10)
        for (const i of [2, 0, 3]) await store.putChunk(s.id, i, s.chunks[i])
        assert.deepEqual(await store.listChunks(s.id), [0, 2, 3])
        assert.equal(await store.hasChunk(s.id, 2), true)
        assert.equal(await store.hasChunk(s.id, 1), false)
        assert.deepEqual(await store.readChunk(s.id, 3), s.chunks[3])
        assert.equal(await store.readChunk(s.id, 1), undefined)
        assert.deepEqual(await store.listChunks(crypto.randomBytes(16)), [])
      })

      it('is not complete, and cannot be read whole, while a chunk is missing', async () => {
        const store = await make()
        const s = sample(3 * CHUNK + 10)
        for (const i of [0, 1, 3]) await store.putChunk(s.id, i, s.chunks[i])
        await rejectsNamed(store.markComplete(s.id, s.check), 'AttachmentIncompleteError')
        assert.equal(await store.isComplete(s.id), false)
        await rejectsNamed(collect(store.read(s.id)), 'AttachmentIncompleteError')
        assert.deepEqual(await store.listChunks(s.id), [0, 1, 3], 'chunks kept for a later attempt')
      })

      it('completes once every chunk is in and the digest matches; reads the whole file and any chunk', async () => {
        const store = await make()
        const s = sample(3 * CHUNK + 10)
        for (let i = 0; i < s.chunks.length; i++) await store.putChunk(s.id, i, s.chunks[i])
        await store.markComplete(s.id, s.check)
        await store.markComplete(s.id, s.check)
        assert.equal(await store.isComplete(s.id), true)
        assert.deepEqual(await collect(store.read(s.id)), s.bytes)
        assert.deepEqual(await store.readChunk(s.id, 1), s.chunks[1])
        assert.deepEqual(await store.readChunk(s.id, 3), s.chunks[3])
        assert.deepEqual(await store.listChunks(s.id), [0, 1, 2, 3])
        await store.putChunk(s.id, 1, new Uint8Array(CHUNK))
        assert.deepEqual(await collect(store.read(s.id)), s.bytes, 'a complete attachment does not change')
      })

      it('completes an empty file (one empty chunk)', async () => {
        const store = await make()
        const s = sample(0)
        await store.putChunk(s.id, 0, new Uint8Array(0))
        await store.markComplete(s.id, s.check)
        assert.deepEqual(await collect(store.read(s.id)), new Uint8Array(0))
      })

      it('refuses a wrong digest or chunk length and drops the chunks', async () => {
        const store = await make()
        const s = sample(2 * CHUNK)
        for (let i = 0; i < s.chunks.length; i++) await store.putChunk(s.id, i, s.chunks[i])
        await rejectsNamed(store.markComplete(s.id, { ...s.check, sha256: new Uint8Array(32) }), 'AttachmentIntegrityError')
        assert.equal(await store.isComplete(s.id), false)
        assert.deepEqual(await store.listChunks(s.id), [])
        const t = sample(2 * CHUNK, 9)
        await store.putChunk(t.id, 0, t.chunks[0])
        await store.putChunk(t.id, 1, t.chunks[1].subarray(1))
        await rejectsNamed(store.markComplete(t.id, t.check), 'AttachmentIntegrityError')
        assert.equal(await store.isComplete(t.id), false)
      })

      it('deletes partial and complete attachments; refuses bad indices', async () => {
        const store = await make()
        const s = sample(CHUNK)
        await store.putChunk(s.id, 0, s.chunks[0])
        await store.markComplete(s.id, s.check)
        await store.delete(s.id)
        assert.equal(await store.isComplete(s.id), false)
        assert.deepEqual(await store.listChunks(s.id), [])
        await rejectsNamed(store.putChunk(s.id, -1, new Uint8Array(1)), 'InvalidAttachmentError')
        await rejectsNamed(store.putChunk(s.id, 1.5, new Uint8Array(1)), 'InvalidAttachmentError')
      })
    })
  }

  describe('FileBlobStore across restarts', () => {
    it('keeps partial chunks and completed files when reopened', async () => {
      const root = await tempDir()
      const s = sample(5 * CHUNK + 1)
      const done = sample(2 * CHUNK, 5)
      const first = await new FileBlobStore(root).open()
      for (const i of [0, 1, 4]) await first.putChunk(s.id, i, s.chunks[i])
      for (let i = 0; i < done.chunks.length; i++) await first.putChunk(done.id, i, done.chunks[i])
      await first.markComplete(done.id, done.check)

      const second = await new FileBlobStore(root).open()
      assert.deepEqual(await second.listChunks(s.id), [0, 1, 4])
      assert.deepEqual(await second.readChunk(s.id, 4), s.chunks[4])
      assert.equal(await second.isComplete(s.id), false)
      assert.deepEqual(await collect(second.read(done.id)), done.bytes)
      for (const i of [2, 3, 5]) await second.putChunk(s.id, i, s.chunks[i])
      await second.markComplete(s.id, s.check)
      assert.deepEqual(await collect((await new FileBlobStore(root).open()).read(s.id)), s.bytes)
    })

    it('cleans up a torn chunk write and a half-done completion on open, keeping whole chunks', async () => {
      const root = await tempDir()
      const s = sample(3 * CHUNK)
      const store = await new FileBlobStore(root).open()
      await store.putChunk(s.id, 0, s.chunks[0])
      const dir = join(root, 'partial', Buffer.from(s.id).toString('hex'))
      await writeFile(join(dir, '1.abc.tmp'), s.chunks[1].subarray(0, 10))
      await writeFile(join(dir, 'data'), s.bytes.subarray(0, 100))
      await writeFile(join(dir, 'meta.json'), '{}')
      await writeFile(join(root, 'partial', 'stray'), 'x')
      await writeFile(join(root, 'complete', Buffer.from(crypto.randomBytes(16)).toString('hex')), 'x')
      const again = await new FileBlobStore(root).open()
      assert.deepEqual(await again.listChunks(s.id), [0])
      assert.equal(await again.isComplete(s.id), false)
      assert.deepEqual((await readdir(dir)).sort(), ['0'])
    })

    it('hashes with node:crypto and noble alike', () => {
      const bytes = fileOf([], 100_000)
      const a = nodeSha256()
      const b = nobleSha256()
      a.update(bytes)
      b.update(bytes)
      assert.deepEqual(a.digest(), b.digest())
    })
  })
})
