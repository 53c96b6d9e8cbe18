/**
 * Attachments for recipients reachable only through relays (up to
 * MAX_RELAY_ATTACHMENT_BYTES): each encrypted chunk becomes a payload the
 * messenger sends as an ordinary sealed message, and the receiver feeds the
 * payloads back in any order, any number of times.
 *
 * Payload: version (1 byte, {@link CHUNK_PAYLOAD_VERSION}) || attachment id
 * (16) || chunk index (uint32, big-endian) || ciphertext (chunk + 16-byte tag).
 */
import type { Crypto } from '../../crypto/index.js'
import { ATTACHMENT_ID_BYTES, MAX_CHUNK_SIZE } from '../model/constants.js'
import type { AttachmentDescriptor } from '../model/types.js'
import type { BlobStore } from './blob-store.js'
import { CHUNK_TAG_BYTES, MAX_RELAY_ATTACHMENT_BYTES } from './constants.js'
import { checkChunkLayout, chunkCount, encryptChunk } from './crypto.js'
import { AttachmentIncompleteError, AttachmentIntegrityError, InvalidAttachmentError } from './errors.js'
import { finishAttachment, missingChunks, receiveChunk } from './receive.js'

/** Version byte of the chunk payload layout. */
export const CHUNK_PAYLOAD_VERSION = 1

const HEADER_BYTES = 1 + ATTACHMENT_ID_BYTES + 4

/** Largest encoded payload: header and the largest chunk of any valid descriptor. */
export const MAX_CHUNK_PAYLOAD_BYTES = HEADER_BYTES + MAX_CHUNK_SIZE + CHUNK_TAG_BYTES

/** Length of the payload of a whole chunk of `chunkSize` plaintext bytes (shorter only for a last chunk). */
export function chunkPayloadLength (chunkSize: number): number {
  return HEADER_BYTES + chunkSize + CHUNK_TAG_BYTES
}

/** One encrypted chunk, addressed. */
export interface ChunkPayload {
  attachmentId: Uint8Array
  index: number
  ciphertext: Uint8Array
}

/** Encodes a chunk payload. */
export function encodeChunkPayload (p: ChunkPayload): Uint8Array {
  if (p.attachmentId.length !== ATTACHMENT_ID_BYTES) throw new InvalidAttachmentError(`attachment id must be ${ATTACHMENT_ID_BYTES} bytes`)
  const out = new Uint8Array(HEADER_BYTES + p.ciphertext.length)
  out[0] = CHUNK_PAYLOAD_VERSION
  out.set(p.attachmentId, 1)
  new DataView(out.buffer).setUint32(1 + ATTACHMENT_ID_BYTES, p.index)
  out.set(p.ciphertext, HEADER_BYTES)
  return out
}

/** Decodes a chunk payload; InvalidAttachmentError for a wrong version or size. */
export function decodeChunkPayload (bytes: Uint8Array): ChunkPayload {
  if (bytes.length < HEADER_BYTES + CHUNK_TAG_BYTES || bytes.length > MAX_CHUNK_PAYLOAD_BYTES) {
    throw new InvalidAttachmentError(`chunk payload of ${bytes.length} bytes is outside ${HEADER_BYTES + CHUNK_TAG_BYTES}..${MAX_CHUNK_PAYLOAD_BYTES}`)
  }
  if (bytes[0] !== CHUNK_PAYLOAD_VERSION) throw new InvalidAttachmentError(`chunk payload version ${bytes[0]} is unknown`)
  return {
    attachmentId: bytes.slice(1, 1 + ATTACHMENT_ID_BYTES),
    index: new DataView(bytes.buffer, bytes.byteOffset).getUint32(1 + ATTACHMENT_ID_BYTES),
    ciphertext: bytes.slice(HEADER_BYTES)
  }
}

/** Options of the relay helpers. */
export interface RelayAttachmentOptions {
  /** Default {@link MAX_RELAY_ATTACHMENT_BYTES}. */
  maxBytes?: number
  signal?: AbortSignal
}

/**
 * The sender's side: every chunk of a complete attachment in `store`, sealed
 * and encoded, in order. AttachmentTooLargeError for a file over the relay
 * limit; AttachmentIncompleteError if the store lacks a chunk.
 */
export async function * relayChunkPayloads (crypto: Pick<Crypto, 'aead'>, d: AttachmentDescriptor, store: BlobStore, options: RelayAttachmentOptions = {}): AsyncGenerator<Uint8Array> {
  checkChunkLayout(d, options.maxBytes ?? MAX_RELAY_ATTACHMENT_BYTES)
  const count = chunkCount(d)
  for (let index = 0; index < count; index++) {
    options.signal?.throwIfAborted()
    const plaintext = await store.readChunk(d.id, index, { signal: options.signal })
    if (plaintext === undefined) throw new AttachmentIncompleteError(`chunk ${index} is not in the store`)
    yield encodeChunkPayload({ attachmentId: d.id, index, ciphertext: await encryptChunk(crypto, d, index, plaintext) })
  }
}

/** What {@link acceptChunkPayload} did. */
export interface AcceptedChunk {
  index: number
  /** True once every chunk is in and the attachment was marked complete. */
  complete: boolean
}

/**
 * The receiver's side: verifies and stores one payload of attachment `d`
 * (duplicates are harmless), and completes the attachment with the last
 * missing chunk. AttachmentIntegrityError for a payload of another
 * attachment or one that does not authenticate (nothing is stored).
 */
export async function acceptChunkPayload (crypto: Pick<Crypto, 'aead'>, d: AttachmentDescriptor, store: BlobStore, payload: Uint8Array, options: RelayAttachmentOptions = {}): Promise<AcceptedChunk> {
  checkChunkLayout(d, options.maxBytes ?? MAX_RELAY_ATTACHMENT_BYTES)
  const p = decodeChunkPayload(payload)
  if (!sameBytes(p.attachmentId, d.id)) throw new AttachmentIntegrityError('chunk payload belongs to another attachment')
  if (await store.isComplete(d.id)) return { index: p.index, complete: true }
  await receiveChunk(crypto, d, store, p.index, p.ciphertext, { signal: options.signal })
  if ((await missingChunks(d, store)).length > 0) return { index: p.index, complete: false }
  await finishAttachment(d, store, { signal: options.signal })
  return { index: p.index, complete: true }
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
