/**
 * Where attachment plaintext lives while it arrives and once it is whole.
 * Chunks are put one at a time (already authenticated by the caller), and an
 * attachment becomes complete only through {@link BlobStore.markComplete},
 * which checks that every chunk is there with the right length and that the
 * SHA-256 of the whole matches. Nothing partly received can be read as a
 * whole, or be reported complete.
 *
 * {@link MemoryBlobStore} serves tests and browsers for now; node/ has a
 * file-based store that keeps partial state across restarts.
 */
import { MAX_CHUNK_SIZE } from '../model/constants.js'
import { idToHex } from '../model/ids.js'
import type { AttachmentDescriptor } from '../model/types.js'
import { chunkCount, chunkLength } from './crypto.js'
import { digestsEqual, nobleSha256 } from './digest.js'
import type { Sha256Factory } from './digest.js'
import { AttachmentIncompleteError, AttachmentIntegrityError, InvalidAttachmentError } from './errors.js'

/** What {@link BlobStore.markComplete} checks the chunks against. */
export type CompletionCheck = Pick<AttachmentDescriptor, 'size' | 'chunkSize' | 'sha256'>

/** Abort options for store operations. */
export interface BlobStoreOptions {
  signal?: AbortSignal
}

/** Storage of attachment plaintext by attachment id. */
export interface BlobStore {
  /**
   * Stores one verified plaintext chunk. When the promise resolves the chunk
   * is durable (as durable as the store). A chunk of a complete attachment is
   * ignored.
   */
  putChunk(id: Uint8Array, index: number, plaintext: Uint8Array, options?: BlobStoreOptions): Promise<void>
  /** Whether chunk `index` is stored (always true for the chunks of a complete attachment). */
  hasChunk(id: Uint8Array, index: number): Promise<boolean>
  /** Indices of the stored chunks, ascending. */
  listChunks(id: Uint8Array): Promise<number[]>
  /** A stored chunk's plaintext, or undefined. */
  readChunk(id: Uint8Array, index: number, options?: BlobStoreOptions): Promise<Uint8Array | undefined>
  /**
   * Marks the attachment complete after checking every chunk: throws
   * AttachmentIncompleteError when one is missing and AttachmentIntegrityError
   * (and deletes the chunks) when lengths or the SHA-256 do not match.
   * Idempotent for a complete attachment.
   */
  markComplete(id: Uint8Array, check: CompletionCheck, options?: BlobStoreOptions): Promise<void>
  /** Whether the attachment is complete. */
  isComplete(id: Uint8Array): Promise<boolean>
  /** The whole plaintext of a complete attachment, in pieces; AttachmentIncompleteError otherwise. */
  read(id: Uint8Array, options?: BlobStoreOptions): AsyncIterable<Uint8Array>
  /** Removes the attachment, complete or partial. */
  delete(id: Uint8Array): Promise<void>
}

/** Highest chunk index a store accepts (a 100 MB file in 1 KiB chunks has ~100,000). */
export const MAX_CHUNK_INDEX = 1 << 20

/** Throws unless `index` and `plaintext` can be a chunk. */
export function checkChunkInput (index: number, plaintext?: Uint8Array): void {
  if (!Number.isInteger(index) || index < 0 || index > MAX_CHUNK_INDEX) throw new InvalidAttachmentError(`chunk index must be an integer in 0..${MAX_CHUNK_INDEX}, got ${index}`)
  if (plaintext !== undefined && plaintext.length > MAX_CHUNK_SIZE) throw new InvalidAttachmentError(`chunk of ${plaintext.length} bytes is over ${MAX_CHUNK_SIZE}`)
}

/**
 * Checks that the chunks `0..count-1` exist with their expected lengths, in
 * order, and returns the SHA-256 over them; `read` gives a chunk or undefined.
 * Shared by the store implementations.
 */
export async function digestChunks (check: CompletionCheck, read: (index: number) => Promise<Uint8Array | undefined>, sha256: Sha256Factory, onChunk?: (chunk: Uint8Array) => Promise<void>): Promise<void> {
  const count = chunkCount(check)
  const hasher = sha256()
  for (let i = 0; i < count; i++) {
    const chunk = await read(i)
    if (chunk === undefined) throw new AttachmentIncompleteError(`chunk ${i} of ${count} is missing`)
    const expected = chunkLength(check, i)
    if (chunk.length !== expected) throw new AttachmentIntegrityError(`chunk ${i} has ${chunk.length} bytes, expected ${expected}`)
    hasher.update(chunk)
    await onChunk?.(chunk)
  }
  if (!digestsEqual(hasher.digest(), check.sha256)) throw new AttachmentIntegrityError('attachment SHA-256 does not match its descriptor')
}

interface MemoryEntry {
  chunks: Map<number, Uint8Array>
  complete?: { chunkSize: number, count: number }
}

/** Options of {@link MemoryBlobStore}. */
export interface MemoryBlobStoreInit {
  sha256?: Sha256Factory
}

/** A {@link BlobStore} in memory: nothing survives the process. */
export class MemoryBlobStore implements BlobStore {
  private readonly entries = new Map<string, MemoryEntry>()
  private readonly sha256: Sha256Factory

  constructor (init: MemoryBlobStoreInit = {}) {
    this.sha256 = init.sha256 ?? nobleSha256
  }

  async putChunk (id: Uint8Array, index: number, plaintext: Uint8Array): Promise<void> {
    checkChunkInput(index, plaintext)
    const key = idToHex(id)
    let entry = this.entries.get(key)
    if (entry === undefined) {
      entry = { chunks: new Map() }
      this.entries.set(key, entry)
    }
    if (entry.complete !== undefined) return
    entry.chunks.set(index, plaintext.slice())
  }

  async hasChunk (id: Uint8Array, index: number): Promise<boolean> {
    return this.entries.get(idToHex(id))?.chunks.has(index) ?? false
  }

  async listChunks (id: Uint8Array): Promise<number[]> {
    const entry = this.entries.get(idToHex(id))
    return entry === undefined ? [] : [...entry.chunks.keys()].sort((a, b) => a - b)
  }

  async readChunk (id: Uint8Array, index: number): Promise<Uint8Array | undefined> {
    return this.entries.get(idToHex(id))?.chunks.get(index)?.slice()
  }

  async markComplete (id: Uint8Array, check: CompletionCheck): Promise<void> {
    const key = idToHex(id)
    const entry = this.entries.get(key)
    if (entry?.complete !== undefined) return
    const chunks = entry?.chunks ?? new Map<number, Uint8Array>()
    try {
      await digestChunks(check, async i => chunks.get(i), this.sha256)
    } catch (err) {
      if ((err as Error).name === AttachmentIntegrityError.name) this.entries.delete(key)
      throw err
    }
    const count = chunkCount(check)
    for (const index of chunks.keys()) if (index >= count) chunks.delete(index)
    this.entries.set(key, { chunks, complete: { chunkSize: check.chunkSize, count } })
  }

  async isComplete (id: Uint8Array): Promise<boolean> {
    return this.entries.get(idToHex(id))?.complete !== undefined
  }

  async * read (id: Uint8Array): AsyncGenerator<Uint8Array> {
    const entry = this.entries.get(idToHex(id))
    if (entry?.complete === undefined) throw new AttachmentIncompleteError('attachment is not complete')
    for (let i = 0; i < entry.complete.count; i++) {
      const chunk = entry.chunks.get(i)
      if (chunk === undefined) throw new AttachmentIncompleteError('attachment was deleted while being read')
      yield chunk.slice()
    }
  }

  async delete (id: Uint8Array): Promise<void> {
    this.entries.delete(idToHex(id))
  }
}
