/**
 * Attachments: images, GIFs, audio and any file, encrypted with their own
 * key in authenticated chunks. Up to MAX_DIRECT_ATTACHMENT_BYTES travel over
 * a direct connection (`/starling/attachment/1.0.0`, resumable); up to
 * MAX_RELAY_ATTACHMENT_BYTES as chunk payloads inside ordinary messages.
 *
 * @example
 * ```ts
 * // sender
 * const descriptor = await prepareAttachment(crypto, fileBytes, { fileName: 'cat.png', mimeType: 'image/png', kind: 'image' }, store)
 * // ...send descriptor in a message; serve with attachmentProtocol({ authorise, source: blobStoreSource(crypto, store, lookup) })
 * // receiver
 * await downloadAttachment(node, senderPeerId, descriptor, store, { crypto, onProgress })
 * for await (const piece of store.read(descriptor.id)) { ... }
 * ```
 */
export * from './constants.js'
export {
  AttachmentIncompleteError, AttachmentIntegrityError, AttachmentTooLargeError, AttachmentTypeError, InvalidAttachmentError
} from './errors.js'
export {
  CHUNK_AAD_LABEL, checkChunkLayout, chunkAad, chunkCount, chunkLength, chunkNonce, decryptAttachment, decryptChunk,
  encryptAttachment, encryptChunk, joinChunks, splitChunks
} from './crypto.js'
export type { AttachmentMeta, ChunkKeying, ChunkLayout, DecryptAttachmentOptions, EncryptAttachmentOptions, EncryptedAttachment } from './crypto.js'
export { digestsEqual, nobleSha256 } from './digest.js'
export type { Sha256Factory, Sha256Hasher } from './digest.js'
export { checkAttachmentType, sniffFormat } from './sniff.js'
export type { SniffedFormat } from './sniff.js'
export { MAX_CHUNK_INDEX, MemoryBlobStore, checkChunkInput, digestChunks } from './blob-store.js'
export type { BlobStore, BlobStoreOptions, CompletionCheck, MemoryBlobStoreInit } from './blob-store.js'
export { prepareAttachment } from './prepare.js'
export type { AttachmentInput, PrepareAttachmentOptions } from './prepare.js'
export { finishAttachment, missingChunks, receiveChunk } from './receive.js'
export { downloadAttachment } from './download.js'
export type { DownloadAttachmentOptions, DownloadProgress } from './download.js'
export { blobStoreSource } from './source.js'
export type { DescriptorLookup } from './source.js'
export {
  CHUNK_PAYLOAD_VERSION, MAX_CHUNK_PAYLOAD_BYTES, acceptChunkPayload, chunkPayloadLength, decodeChunkPayload, encodeChunkPayload, relayChunkPayloads
} from './relay.js'
export type { AcceptedChunk, ChunkPayload, RelayAttachmentOptions } from './relay.js'
