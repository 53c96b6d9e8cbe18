/**
 * The receiver's steps, whichever path the chunks took (a direct stream or
 * messages through relays): each chunk is authenticated before it is stored,
 * and the attachment is complete only once every chunk is in, the SHA-256
 * matches and the type checks.
 */
import type { Crypto } from '../../crypto/index.js'
import type { AttachmentDescriptor } from '../model/types.js'
import type { BlobStore, BlobStoreOptions } from './blob-store.js'
import { chunkCount, decryptChunk } from './crypto.js'
import { AttachmentIncompleteError, AttachmentTypeError } from './errors.js'
import { checkAttachmentType } from './sniff.js'

/**
 * Opens chunk `index` (AttachmentIntegrityError if it does not authenticate
 * there) and stores its plaintext. Chunk 0 is type-checked first, so a file
 * that is not what it claims is refused before anything of it is stored.
 * Returns the plaintext length.
 */
export async function receiveChunk (crypto: Pick<Crypto, 'aead'>, d: AttachmentDescriptor, store: BlobStore, index: number, ciphertext: Uint8Array, options: BlobStoreOptions = {}): Promise<number> {
  const plaintext = await decryptChunk(crypto, d, index, ciphertext)
  if (index === 0) checkAttachmentType(d.kind, d.mimeType, plaintext)
  await store.putChunk(d.id, index, plaintext, options)
  return plaintext.length
}

/** Indices of the chunks not yet stored, ascending. */
export async function missingChunks (d: AttachmentDescriptor, store: BlobStore): Promise<number[]> {
  if (await store.isComplete(d.id)) return []
  const have = new Set(await store.listChunks(d.id))
  const missing: number[] = []
  const count = chunkCount(d)
  for (let i = 0; i < count; i++) if (!have.has(i)) missing.push(i)
  return missing
}

/**
 * Marks the attachment complete: its type is checked on chunk 0
 * (AttachmentTypeError, and the chunks are deleted), then the store checks
 * every chunk and the SHA-256 (AttachmentIncompleteError,
 * AttachmentIntegrityError).
 */
export async function finishAttachment (d: AttachmentDescriptor, store: BlobStore, options: BlobStoreOptions = {}): Promise<void> {
  if (await store.isComplete(d.id)) return
  const first = await store.readChunk(d.id, 0, options)
  if (first === undefined) throw new AttachmentIncompleteError('chunk 0 is missing')
  try {
    checkAttachmentType(d.kind, d.mimeType, first)
  } catch (err) {
    if ((err as Error).name === AttachmentTypeError.name) await store.delete(d.id)
    throw err
  }
  await store.markComplete(d.id, d, options)
}
