/**
 * Attachments at rest (issue 9, item 7): with a key, a thief who copies the
 * attachment directory finds no received bytes in it, chunks cannot be moved
 * between places, a store written in the clear is encrypted on open (and
 * the pass resumes after a crash), and an encrypted store is refused
 * without its key. The whole BlobStore contract also runs encrypted in
 * blob-store.spec.ts.
 */
import assert from 'node:assert/strict'
import { copyFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCrypto } from '../../../../src/crypto/index.js'
import type { CompletionCheck } from '../../../../src/messenger/attachments/index.js'
import { FileBlobStore } from '../../../../node/blob-store.js'
import { collect, fileOf, rejectsNamed } from './helpers.js'

const crypto = createCrypto()
const CHUNK = 1024

function sample (size: number, seed: number): { id: Uint8Array, bytes: Uint8Array, check: CompletionCheck, chunks: Uint8Array[] } {
  const bytes = fileOf([], size, seed)
  const chunks: Uint8Array[] = []
  for (let i = 0; i * CHUNK < size; i++) chunks.push(bytes.subarray(i * CHUNK, Math.min(size, (i + 1) * CHUNK)))
  return { id: crypto.randomBytes(16), bytes, chunks, check: { size, chunkSize: CHUNK, sha256: crypto.hash.sha256(bytes) } }
}

/** Whether any 64-byte window of `needle` occurs in any file under `dir`. */
async function foundOnDisk (dir: string, needle: Uint8Array): Promise<boolean> {
  const probes = [0, Math.floor(needle.length / 2), needle.length - 64].map(at => Buffer.from(needle.subarray(at, at + 64)))
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const bytes = await readFile(join(entry.parentPath, entry.name))
    if (probes.some(p => bytes.includes(p))) return true
  }
  return false
}

describe('messenger/attachments/blob-store, encrypted at rest', () => {
  const key = crypto.randomBytes(32)
  const dirs: string[] = []
  after(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })
  async function tempDir (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'starling-blobs-enc-'))
    dirs.push(dir)
    return dir
  }

  /** One complete attachment and one partial one, written by `store`. */
  async function fill (store: FileBlobStore): Promise<{ done: ReturnType<typeof sample>, part: ReturnType<typeof sample> }> {
    const done = sample(3 * CHUNK + 100, 7)
    const part = sample(4 * CHUNK, 9)
    for (let i = 0; i < done.chunks.length; i++) await store.putChunk(done.id, i, done.chunks[i])
    await store.markComplete(done.id, done.check)
    for (const i of [0, 2]) await store.putChunk(part.id, i, part.chunks[i])
    return { done, part }
  }

  it('leaves no received byte on disk, yet reads everything back and saves the plaintext where asked (mode 0600)', async () => {
    const plainRoot = await tempDir()
    const plain = await fill(await new FileBlobStore(plainRoot).open())
    assert.equal(await foundOnDisk(plainRoot, plain.done.bytes), true, 'the scan finds a file written in the clear')

    const root = await tempDir()
    const store = await new FileBlobStore(root, { encryptionKey: key }).open()
    const { done, part } = await fill(store)
    assert.equal(await foundOnDisk(root, done.bytes), false)
    assert.equal(await foundOnDisk(root, part.chunks[2]), false)

    const again = await new FileBlobStore(root, { encryptionKey: key }).open()
    assert.deepEqual(await collect(again.read(done.id)), done.bytes)
    assert.deepEqual(await again.readChunk(done.id, 3), done.chunks[3])
    assert.deepEqual(await again.readChunk(part.id, 2), part.chunks[2])
    const out = join(await tempDir(), 'received.bin')
    await again.saveTo(done.id, out)
    assert.deepEqual(new Uint8Array(await readFile(out)), done.bytes)
    assert.equal((await stat(out)).mode & 0o777, 0o600)
    await assert.rejects(again.saveTo(done.id, out), { code: 'EEXIST' }, 'never overwrites a file')
  })

  it('refuses a chunk moved to another index or attachment', async () => {
    const root = await tempDir()
    const store = await new FileBlobStore(root, { encryptionKey: key }).open()
    const { part } = await fill(store)
    const other = sample(2 * CHUNK, 11)
    await store.putChunk(other.id, 0, other.chunks[0])
    const dir = (id: Uint8Array): string => join(root, 'partial', Buffer.from(id).toString('hex'))
    await copyFile(join(dir(part.id), '0'), join(dir(part.id), '1'))
    await rejectsNamed(store.readChunk(part.id, 1), 'AttachmentIntegrityError')
    await copyFile(join(dir(part.id), '2'), join(dir(other.id), '1'))
    await rejectsNamed(store.readChunk(other.id, 1), 'AttachmentIntegrityError')
    await writeFile(join(dir(other.id), '1'), part.chunks[2])
    await rejectsNamed(store.readChunk(other.id, 1), 'AttachmentIntegrityError')
  })

  it('encrypts what an earlier run wrote in the clear, resumes a pass cut short, and is refused without its key', async () => {
    const root = await tempDir()
    const { done, part } = await fill(await new FileBlobStore(root).open())
    // A pass cut short: the completed file encrypted, the partial chunks not, no marker yet.
    const first = await new FileBlobStore(join(root), { encryptionKey: key }).open()
    await rm(join(root, 'encrypted'))
    const hex = (id: Uint8Array): string => Buffer.from(id).toString('hex')
    await writeFile(join(root, 'partial', hex(part.id), '0'), part.chunks[0])
    assert.deepEqual(await collect(first.read(done.id)), done.bytes)

    const store = await new FileBlobStore(root, { encryptionKey: key }).open()
    assert.equal(await foundOnDisk(root, done.bytes), false)
    assert.equal(await foundOnDisk(root, part.chunks[0]), false)
    assert.deepEqual(await collect(store.read(done.id)), done.bytes, 'encrypted once, not twice')
    assert.deepEqual(await store.readChunk(part.id, 0), part.chunks[0])
    assert.deepEqual(await store.readChunk(part.id, 2), part.chunks[2])
    await rejectsNamed(new FileBlobStore(root).open(), 'BlobStoreKeyError')
  })
})
