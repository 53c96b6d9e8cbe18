/**
 * `/starling/attachment/1.0.0`: the receiver of an attachment pulls its
 * encrypted chunks from the sender's device over a direct connection,
 * resuming from whatever it already has. Wire format in pb/attachment.proto.
 *
 * @example
 * ```ts
 * // sender: a service of the libp2p node
 * services: { attachment: attachmentProtocol({ authorise, source }) }
 * // receiver: fetch what is missing (messenger/attachments wraps this as downloadAttachment)
 * await fetchChunks(node, senderPeerId, descriptor.id, [{ start: 0, end: 10 }], { maxCiphertextBytes, onChunk })
 * ```
 */
export { AttachmentProtocol, attachmentProtocol } from './attachment.js'
export type { AttachmentChunkSource, AttachmentProtocolComponents, AttachmentProtocolInit, AttachmentServeEvents, AuthoriseAttachment } from './attachment.js'
export { fetchChunks } from './client.js'
export type { AttachmentDialer, FetchChunksOptions } from './client.js'
export { checkRanges, rangeIndices, rangeSize, toRanges } from './ranges.js'
export type { ChunkRange } from './ranges.js'
export { AttachmentNotFoundError, AttachmentProtocolError } from './errors.js'
export * from './constants.js'
