/**
 * Attachments in the Origin Private File System (src/messenger's
 * {@link BlobStore}): one directory per attachment under the profile's
 * directory, one file per chunk, and a `complete` marker written only after
 * every chunk was checked against the descriptor's sizes and SHA-256, so
 * nothing partly received reads as whole. A file is written through
 * `createWritable()`, whose `close()` swaps the new content in at once (a
 * torn write leaves the old file or none). Kept out of memory: a 100 MB
 * file costs the tab one chunk at a time.
 *
 * With the identity's key file encrypted (a passphrase), each chunk is
 * sealed at rest with AES-256-GCM under a key derived from the identity
 * (src/store/at-rest-key.ts), its id and index bound as associated data.
 */
import type { BlobStore, CompletionCheck } from '../../../src/messenger/attachments/index.js'
import { AttachmentIncompleteError, AttachmentIntegrityError, checkChunkInput, chunkCount, digestChunks, nobleSha256 } from '../../../src/messenger/attachments/index.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { toHex } from '../../../src/messenger/bytes.js'

/** Name of the marker file of a complete attachment (holds the chunk count). */
const COMPLETE = 'complete'
/** AES-GCM nonce length. */
const NONCE_BYTES = 12

/** Options of {@link OpfsBlobStore}. */
export interface OpfsBlobStoreInit {
  /** With a key: chunks are encrypted at rest. */
  encryptionKey?: Uint8Array
  crypto: Crypto
}

/** A {@link BlobStore} in a directory of the origin private file system. */
export class OpfsBlobStore implements BlobStore {
  private constructor (private readonly root: FileSystemDirectoryHandle, private readonly init: OpfsBlobStoreInit) {}

  /** Opens (creating) `path` (names separated by `/`) under the origin's private root. */
  static async open (path: string, init: OpfsBlobStoreInit): Promise<OpfsBlobStore> {
    let dir = await navigator.storage.getDirectory()
    for (const name of path.split('/').filter(n => n !== '')) dir = await dir.getDirectoryHandle(name, { create: true })
    return new OpfsBlobStore(dir, init)
  }

  /** Whether chunks are encrypted at rest. */
  get encrypted (): boolean {
    return this.init.encryptionKey != null
  }

  private async dir (id: Uint8Array, create: boolean): Promise<FileSystemDirectoryHandle | undefined> {
    try {
      return await this.root.getDirectoryHandle(toHex(id), { create })
    } catch (err) {
      if ((err as DOMException).name === 'NotFoundError') return undefined
      throw err
    }
  }

  private async readFile (dir: FileSystemDirectoryHandle, name: string): Promise<Uint8Array | undefined> {
    try {
      const file = await (await dir.getFileHandle(name)).getFile()
      return new Uint8Array(await file.arrayBuffer())
    } catch (err) {
      if ((err as DOMException).name === 'NotFoundError') return undefined
      throw err
    }
  }

  private async writeFile (dir: FileSystemDirectoryHandle, name: string, bytes: Uint8Array): Promise<void> {
    const writable = await (await dir.getFileHandle(name, { create: true })).createWritable()
    try {
      await writable.write(bytes as Uint8Array<ArrayBuffer>)
      await writable.close()
    } catch (err) {
      await writable.abort().catch(() => {})
      throw err
    }
  }

  private aad (id: Uint8Array, index: number): Uint8Array {
    const aad = new Uint8Array(id.length + 4)
    aad.set(id)
    new DataView(aad.buffer).setUint32(id.length, index)
    return aad
  }

  private async seal (id: Uint8Array, index: number, plaintext: Uint8Array): Promise<Uint8Array> {
    const key = this.init.encryptionKey
    if (key == null) return plaintext
    const nonce = this.init.crypto.randomBytes(NONCE_BYTES)
    const sealed = await this.init.crypto.aead.encrypt(key, nonce, plaintext, this.aad(id, index))
    const out = new Uint8Array(NONCE_BYTES + sealed.length)
    out.set(nonce)
    out.set(sealed, NONCE_BYTES)
    return out
  }

  private async open (id: Uint8Array, index: number, stored: Uint8Array): Promise<Uint8Array> {
    const key = this.init.encryptionKey
    if (key == null) return stored
    return await this.init.crypto.aead.decrypt(key, stored.subarray(0, NONCE_BYTES), stored.subarray(NONCE_BYTES), this.aad(id, index))
  }

  async putChunk (id: Uint8Array, index: number, plaintext: Uint8Array): Promise<void> {
    checkChunkInput(index, plaintext)
    const dir = await this.dir(id, true)
    if (dir == null || await this.readFile(dir, COMPLETE) != null) return
    await this.writeFile(dir, String(index), await this.seal(id, index, plaintext))
  }

  async hasChunk (id: Uint8Array, index: number): Promise<boolean> {
    const dir = await this.dir(id, false)
    if (dir == null) return false
    try {
      await dir.getFileHandle(String(index))
      return true
    } catch {
      return false
    }
  }

  async listChunks (id: Uint8Array): Promise<number[]> {
    const dir = await this.dir(id, false)
    if (dir == null) return []
    const out: number[] = []
    for await (const name of dir.keys()) if (/^\d+$/.test(name)) out.push(Number(name))
    return out.sort((a, b) => a - b)
  }

  async readChunk (id: Uint8Array, index: number): Promise<Uint8Array | undefined> {
    checkChunkInput(index)
    const dir = await this.dir(id, false)
    if (dir == null) return undefined
    const stored = await this.readFile(dir, String(index))
    return stored == null ? undefined : await this.open(id, index, stored)
  }

  async markComplete (id: Uint8Array, check: CompletionCheck): Promise<void> {
    if (await this.isComplete(id)) return
    try {
      await digestChunks(check, async i => await this.readChunk(id, i), nobleSha256)
    } catch (err) {
      if ((err as Error).name === AttachmentIntegrityError.name) await this.delete(id)
      throw err
    }
    const dir = await this.dir(id, true)
    if (dir == null) throw new AttachmentIncompleteError('the attachment was deleted while being checked')
    await this.writeFile(dir, COMPLETE, new TextEncoder().encode(String(chunkCount(check))))
  }

  async isComplete (id: Uint8Array): Promise<boolean> {
    const dir = await this.dir(id, false)
    return dir != null && await this.readFile(dir, COMPLETE) != null
  }

  async * read (id: Uint8Array): AsyncGenerator<Uint8Array> {
    const dir = await this.dir(id, false)
    const marker = dir == null ? undefined : await this.readFile(dir, COMPLETE)
    if (marker == null) throw new AttachmentIncompleteError('attachment is not complete')
    const count = Number(new TextDecoder().decode(marker))
    for (let i = 0; i < count; i++) {
      const chunk = await this.readChunk(id, i)
      if (chunk == null) throw new AttachmentIncompleteError('attachment was deleted while being read')
      yield chunk
    }
  }

  async delete (id: Uint8Array): Promise<void> {
    try {
      await this.root.removeEntry(toHex(id), { recursive: true })
    } catch (err) {
      if ((err as DOMException).name !== 'NotFoundError') throw err
    }
  }

  /** The whole plaintext of a complete attachment as a Blob (to show or download). */
  async blob (id: Uint8Array, type: string): Promise<Blob> {
    const parts: Uint8Array[] = []
    for await (const chunk of this.read(id)) parts.push(chunk)
    return new Blob(parts as Array<Uint8Array<ArrayBuffer>>, { type })
  }
}
