/** The sender's chunk source for `/starling/attachment/1.0.0`, backed by a blob store. */
import type { Crypto } from '../../crypto/index.js'
import type { AttachmentChunkSource } from '../../protocols/attachment/index.js'
import type { AttachmentDescriptor } from '../model/types.js'
import type { BlobStore } from './blob-store.js'
import { chunkCount, chunkLength, encryptChunk } from './crypto.js'

/** Finds the descriptor of an attachment this node sent (undefined when unknown). */
export type DescriptorLookup = (attachmentId: Uint8Array) => AttachmentDescriptor | undefined | Promise<AttachmentDescriptor | undefined>

/**
 * Seals chunks from `store` on demand. The same (key, index) always seals the
 * same stored plaintext, so ciphertexts resent on a resumed transfer are
 * identical to the first ones (no nonce is ever reused with other data).
 */
export function blobStoreSource (crypto: Pick<Crypto, 'aead'>, store: BlobStore, lookup: DescriptorLookup): AttachmentChunkSource {
  return {
    async read (attachmentId, index, options) {
      const d = await lookup(attachmentId)
      if (d === undefined || index >= chunkCount(d)) return undefined
      const plaintext = await store.readChunk(attachmentId, index, options)
      if (plaintext === undefined || plaintext.length !== chunkLength(d, index)) return undefined
      return await encryptChunk(crypto, d, index, plaintext)
    }
  }
}
