/**
 * A file-based {@link BlobStore}: attachment plaintext on disk under a root
 * directory, surviving restarts.
 *
 * ```
 * <root>/partial/<id hex>/<index>      one file per verified chunk
 * <root>/complete/<id hex>/data        the whole file
 * <root>/complete/<id hex>/meta.json   size, chunk size, chunk count
 * ```
 *
 * A chunk is written to a temporary file, fsynced, renamed into place and its
 * directory fsynced before `putChunk` resolves, so a listed chunk is always
 * whole. Completion assembles `data` (hashing as it goes), fsyncs it and
 * `meta.json`, then renames the attachment's directory from `partial/` to
 * `complete/` in one step: a crash leaves either the partial chunks or the
 * complete file, never a half-assembled file reported complete.
 *
 * With a key (`encryptionKey`), chunk files and `data` are encrypted
 * (blob-cipher.ts): `data` is then no file to open, and {@link
 * FileBlobStore.saveTo} writes the plaintext where the user asks. Opening
 * with a key encrypts what an earlier run wrote in the clear, file by file
 * (each replaced atomically; one that already opens under the key is left
 * as it is, so a crash part-way resumes), then leaves the marker file
 * `encrypted`; a store with that marker is refused without its key.
 */
import { createHash, randomBytes } from 'node:crypto'
import { mkdir, open, readdir, readFile, rename, rm, stat } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import { join } from 'node:path'
import {
  AttachmentIncompleteError, AttachmentIntegrityError, checkChunkInput, chunkCount, digestChunks
} from '../src/messenger/attachments/index.js'
import type { BlobStore, BlobStoreOptions, CompletionCheck, Sha256Factory } from '../src/messenger/attachments/index.js'
import { idToHex } from '../src/messenger/model/ids.js'
import { BLOB_MAGIC, BlobCipher, encryptFileInPlace } from './blob-cipher.js'

/** SHA-256 from node:crypto (about 9x faster than noble here). */
export const nodeSha256: Sha256Factory = () => {
  const h = createHash('sha256')
  return {
    update (data) { h.update(data) },
    digest () { return new Uint8Array(h.digest()) }
  }
}

/** Bytes per piece when reading a whole file. */
const READ_PIECE_BYTES = 256 * 1024

const CHUNK_NAME = /^\d{1,8}$/

interface Meta {
  size: number
  chunkSize: number
  count: number
}

async function fsyncDir (path: string): Promise<void> {
  const handle = await open(path, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}

async function writeDurably (path: string, data: Uint8Array | string): Promise<void> {
  const handle = await open(path, 'w')
  try {
    await handle.writeFile(data)
    await handle.sync()
  } finally {
    await handle.close()
  }
}

function isNotFound (err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT' || code === 'ENOTDIR'
}

/** Options of {@link FileBlobStore}. */
export interface FileBlobStoreInit {
  /** Default {@link nodeSha256}. */
  sha256?: Sha256Factory
  /** Encrypt chunks and files at rest with this 32-byte key (see blob-cipher.ts). */
  encryptionKey?: Uint8Array
}

/** The blob store is encrypted and no key was given, or the key does not open it. */
export class BlobStoreKeyError extends Error {
  override readonly name = 'BlobStoreKeyError'
}

/** Name of the marker file of an encrypted blob store. */
const ENCRYPTED_MARKER = 'encrypted'

/**
 * A {@link BlobStore} in a directory. Call {@link FileBlobStore.open} before
 * use; one store per directory (it caches what it wrote).
 */
export class FileBlobStore implements BlobStore {
  private readonly partialDir: string
  private readonly completeDir: string
  private readonly sha256: Sha256Factory
  /** Metadata of complete attachments seen so far, by id hex. */
  private readonly metas = new Map<string, Meta>()
  /** Partial directories known to exist, by id hex. */
  private readonly partialDirs = new Set<string>()
  private readonly root: string
  private readonly cipher?: BlobCipher

  constructor (root: string, init: FileBlobStoreInit = {}) {
    this.root = root
    this.partialDir = join(root, 'partial')
    this.completeDir = join(root, 'complete')
    this.sha256 = init.sha256 ?? nodeSha256
    if (init.encryptionKey != null) this.cipher = new BlobCipher(init.encryptionKey)
  }

  /** Whether chunks and files are encrypted at rest. */
  get encrypted (): boolean {
    return this.cipher != null
  }

  /** Creates the directories and removes leftovers of an interrupted write or completion. */
  async open (): Promise<this> {
    await mkdir(this.partialDir, { recursive: true })
    await mkdir(this.completeDir, { recursive: true })
    for (const entry of await readdir(this.partialDir, { withFileTypes: true })) {
      const name = entry.name
      if (!entry.isDirectory()) {
        await rm(join(this.partialDir, name), { force: true })
        continue
      }
      for (const file of await readdir(join(this.partialDir, name))) {
        if (!CHUNK_NAME.test(file)) await rm(join(this.partialDir, name, file), { force: true })
      }
    }
    for (const name of await readdir(this.completeDir)) {
      if (/^[0-9a-f]{32}$/.test(name) && await this.isComplete(Buffer.from(name, 'hex'))) {
        await this.removeChunkFiles(join(this.completeDir, name))
      } else {
        await rm(join(this.completeDir, name), { recursive: true, force: true })
      }
    }
    await this.checkEncryption()
    return this
  }

  /**
   * Without a key, refuses a store that was encrypted; with one, encrypts
   * whatever is still in the clear (see the file comment) and marks the store.
   */
  private async checkEncryption (): Promise<void> {
    const marker = join(this.root, ENCRYPTED_MARKER)
    const marked = (await stat(marker).catch(() => undefined)) != null
    if (this.cipher == null) {
      if (marked) throw new BlobStoreKeyError(`the attachments in ${this.root} are encrypted: a key is needed`)
      return
    }
    if (marked) return
    for (const name of await readdir(this.partialDir)) {
      const id = Buffer.from(name, 'hex')
      for (const file of await readdir(join(this.partialDir, name))) {
        if (CHUNK_NAME.test(file)) await encryptFileInPlace(this.cipher, join(this.partialDir, name, file), id, { index: Number(file) })
      }
    }
    for (const name of await readdir(this.completeDir)) {
      const id = Buffer.from(name, 'hex')
      const meta = await this.meta(id)
      if (meta != null) await encryptFileInPlace(this.cipher, this.completePath(id), id, { meta })
    }
    await writeDurably(marker, 'attachments here are encrypted (AES-256-GCM, node/blob-cipher.ts)\n')
    await fsyncDir(this.root)
  }

  private partial (id: Uint8Array): string {
    return join(this.partialDir, idToHex(id))
  }

  /** Where the plaintext of a complete attachment is (check isComplete first). */
  completePath (id: Uint8Array): string {
    return join(this.complete(id), 'data')
  }

  private complete (id: Uint8Array): string {
    return join(this.completeDir, idToHex(id))
  }

  private async meta (id: Uint8Array): Promise<Meta | undefined> {
    const cached = this.metas.get(idToHex(id))
    if (cached !== undefined) return cached
    try {
      const meta = JSON.parse(await readFile(join(this.complete(id), 'meta.json'), 'utf8')) as Meta
      this.metas.set(idToHex(id), meta)
      return meta
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  async putChunk (id: Uint8Array, index: number, plaintext: Uint8Array, options: BlobStoreOptions = {}): Promise<void> {
    checkChunkInput(index, plaintext)
    if (await this.isComplete(id)) return
    options.signal?.throwIfAborted()
    const dir = this.partial(id)
    if (!this.partialDirs.has(dir)) {
      if ((await mkdir(dir, { recursive: true })) !== undefined) await fsyncDir(this.partialDir)
      this.partialDirs.add(dir)
    }
    const tmp = join(dir, `${index}.${randomBytes(6).toString('hex')}.tmp`)
    await writeDurably(tmp, this.cipher != null ? this.cipher.sealFile(id, index, plaintext) : plaintext)
    await rename(tmp, join(dir, String(index)))
    await fsyncDir(dir)
  }

  async hasChunk (id: Uint8Array, index: number): Promise<boolean> {
    const meta = await this.meta(id)
    if (meta !== undefined) return Number.isInteger(index) && index >= 0 && index < meta.count
    try {
      await stat(join(this.partial(id), String(index)))
      return true
    } catch (err) {
      if (isNotFound(err)) return false
      throw err
    }
  }

  async listChunks (id: Uint8Array): Promise<number[]> {
    const meta = await this.meta(id)
    if (meta !== undefined) return Array.from({ length: meta.count }, (_, i) => i)
    let names: string[]
    try {
      names = await readdir(this.partial(id))
    } catch (err) {
      if (isNotFound(err)) return []
      throw err
    }
    return names.filter(n => CHUNK_NAME.test(n)).map(Number).sort((a, b) => a - b)
  }

  async readChunk (id: Uint8Array, index: number): Promise<Uint8Array | undefined> {
    checkChunkInput(index)
    const meta = await this.meta(id)
    if (meta !== undefined) {
      if (index >= meta.count) return undefined
      const handle = await open(join(this.complete(id), 'data'), 'r')
      try {
        return await this.readFromData(handle, id, index, meta)
      } finally {
        await handle.close()
      }
    }
    try {
      const file = new Uint8Array(await readFile(join(this.partial(id), String(index))))
      return this.cipher != null ? this.cipher.openFile(id, index, file) : file
    } catch (err) {
      if (isNotFound(err)) return undefined
      throw err
    }
  }

  async markComplete (id: Uint8Array, check: CompletionCheck, options: BlobStoreOptions = {}): Promise<void> {
    if (await this.isComplete(id)) return
    const dir = this.partial(id)
    const tmp = join(dir, `data.${randomBytes(6).toString('hex')}.tmp`)
    let handle: FileHandle | undefined
    try {
      await mkdir(dir, { recursive: true })
      handle = await open(tmp, 'w')
      const out = handle
      const cipher = this.cipher
      if (cipher != null) await out.write(BLOB_MAGIC)
      let next = 0
      await digestChunks(check, async i => {
        options.signal?.throwIfAborted()
        return await this.readChunk(id, i)
      }, this.sha256, async chunk => { await out.write(cipher != null ? cipher.seal(id, next++, chunk) : chunk) })
      await out.sync()
    } catch (err) {
      await handle?.close()
      handle = undefined
      await rm(tmp, { force: true })
      if ((err as Error).name === AttachmentIntegrityError.name) await this.delete(id)
      throw err
    } finally {
      await handle?.close()
    }
    await rename(tmp, join(dir, 'data'))
    const meta: Meta = { size: check.size, chunkSize: check.chunkSize, count: chunkCount(check) }
    await writeDurably(join(dir, 'meta.json'), JSON.stringify(meta))
    await fsyncDir(dir)
    await rename(dir, this.complete(id))
    this.partialDirs.delete(dir)
    this.metas.set(idToHex(id), meta)
    await fsyncDir(this.partialDir)
    await fsyncDir(this.completeDir)
    await this.removeChunkFiles(this.complete(id))
  }

  private async removeChunkFiles (dir: string): Promise<void> {
    for (const name of await readdir(dir)) {
      if (name !== 'data' && name !== 'meta.json') await rm(join(dir, name), { force: true })
    }
  }

  async isComplete (id: Uint8Array): Promise<boolean> {
    return (await this.meta(id)) !== undefined
  }

  async * read (id: Uint8Array, options: BlobStoreOptions = {}): AsyncGenerator<Uint8Array> {
    const meta = await this.meta(id)
    if (meta === undefined) throw new AttachmentIncompleteError('attachment is not complete')
    const handle = await open(join(this.complete(id), 'data'), 'r')
    try {
      if (this.cipher != null) {
        for (let i = 0; i < meta.count; i++) {
          options.signal?.throwIfAborted()
          yield await this.readFromData(handle, id, i, meta)
        }
        return
      }
      let position = 0
      while (position < meta.size) {
        options.signal?.throwIfAborted()
        const piece = new Uint8Array(Math.min(READ_PIECE_BYTES, meta.size - position))
        const { bytesRead } = await handle.read(piece, 0, piece.length, position)
        if (bytesRead !== piece.length) throw new AttachmentIntegrityError('stored file is shorter than its size')
        position += bytesRead
        yield piece
      }
    } finally {
      await handle.close()
    }
  }

  /**
   * Chunk `index` of a complete attachment's data file (decrypted when the
   * store is encrypted); AttachmentIntegrityError if the file is short or the
   * chunk does not open.
   */
  private async readFromData (handle: FileHandle, id: Uint8Array, index: number, meta: Meta): Promise<Uint8Array> {
    const start = index * meta.chunkSize
    const plain = Math.min(meta.chunkSize, meta.size - start)
    const { offset, length } = this.cipher != null ? BlobCipher.placeInData(index, meta.chunkSize, meta.size) : { offset: start, length: plain }
    const out = new Uint8Array(length)
    const { bytesRead } = await handle.read(out, 0, length, offset)
    if (bytesRead !== length) throw new AttachmentIntegrityError(`stored file is shorter than chunk ${index}`)
    return this.cipher != null ? this.cipher.open(id, index, out) : out
  }

  /**
   * Writes the plaintext of a complete attachment to `path` (a new file, mode
   * 0600): the way to a received file when `data` is encrypted.
   */
  async saveTo (id: Uint8Array, path: string, options: BlobStoreOptions = {}): Promise<void> {
    const handle = await open(path, 'wx', 0o600)
    try {
      for await (const piece of this.read(id, options)) await handle.write(piece)
      await handle.sync()
    } catch (err) {
      await handle.close()
      await rm(path, { force: true })
      throw err
    }
    await handle.close()
  }

  async delete (id: Uint8Array): Promise<void> {
    this.metas.delete(idToHex(id))
    this.partialDirs.delete(this.partial(id))
    await rm(this.partial(id), { recursive: true, force: true })
    await rm(this.complete(id), { recursive: true, force: true })
  }
}
