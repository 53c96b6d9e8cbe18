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
}

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

  constructor (root: string, init: FileBlobStoreInit = {}) {
    this.partialDir = join(root, 'partial')
    this.completeDir = join(root, 'complete')
    this.sha256 = init.sha256 ?? nodeSha256
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
    return this
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
    await writeDurably(tmp, plaintext)
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
      const start = index * meta.chunkSize
      const length = Math.min(meta.chunkSize, meta.size - start)
      const handle = await open(join(this.complete(id), 'data'), 'r')
      try {
        const out = new Uint8Array(length)
        const { bytesRead } = await handle.read(out, 0, length, start)
        if (bytesRead !== length) throw new AttachmentIntegrityError(`stored file is shorter than chunk ${index}`)
        return out
      } finally {
        await handle.close()
      }
    }
    try {
      return new Uint8Array(await readFile(join(this.partial(id), String(index))))
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
      await digestChunks(check, async i => {
        options.signal?.throwIfAborted()
        return await this.readChunk(id, i)
      }, this.sha256, async chunk => { await out.write(chunk) })
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

  async delete (id: Uint8Array): Promise<void> {
    this.metas.delete(idToHex(id))
    this.partialDirs.delete(this.partial(id))
    await rm(this.partial(id), { recursive: true, force: true })
    await rm(this.complete(id), { recursive: true, force: true })
  }
}
