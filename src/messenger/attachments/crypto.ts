/**
 * Chunk encryption of attachments. Each attachment has its own random 32-byte
 * key; its plaintext is cut into chunks of `chunkSize` bytes (the last one
 * shorter; an empty file is one empty chunk), and each chunk is sealed with
 * AES-256-GCM through the crypto facade:
 *
 * - nonce: 4 zero bytes || chunk index (uint64, big-endian). A key serves one
 *   attachment only, so each (key, nonce) pair seals one chunk; re-encrypting
 *   a chunk (a resumed transfer) yields the same ciphertext.
 * - associated data: {@link CHUNK_AAD_LABEL} || attachment id || index
 *   (uint32) || chunk count (uint32) || total size (uint64) || chunk size
 *   (uint32), all big-endian. A chunk therefore fails to open at another
 *   index (reordered), in another attachment (swapped), or under a descriptor
 *   with another size or chunk count (truncated or extended); the receiver
 *   also demands exactly `chunkCount` chunks of the computed lengths.
 *
 * The descriptor carries the SHA-256 of the whole plaintext, checked once
 * every chunk is in.
 */
import type { Crypto } from '../../crypto/index.js'
import { ATTACHMENT_ID_BYTES, ATTACHMENT_KEY_BYTES, MAX_CHUNK_SIZE } from '../model/constants.js'
import type { AttachmentDescriptor, AttachmentKind } from '../model/types.js'
import { CHUNK_SIZE, CHUNK_TAG_BYTES, MAX_DIRECT_ATTACHMENT_BYTES, MIN_CHUNK_SIZE } from './constants.js'
import { nobleSha256, digestsEqual } from './digest.js'
import type { Sha256Factory } from './digest.js'
import { AttachmentIntegrityError, AttachmentTooLargeError, InvalidAttachmentError } from './errors.js'
import { checkAttachmentType } from './sniff.js'

/** Domain label at the start of every chunk's associated data. */
export const CHUNK_AAD_LABEL = 'starling/attachment-chunk/1'

const LABEL_BYTES = new TextEncoder().encode(CHUNK_AAD_LABEL)
const NONCE_BYTES = 12

/** What chunk arithmetic needs from a descriptor. */
export type ChunkLayout = Pick<AttachmentDescriptor, 'id' | 'size' | 'chunkSize'>

/** What sealing and opening chunks needs from a descriptor. */
export type ChunkKeying = Pick<AttachmentDescriptor, 'id' | 'key' | 'size' | 'chunkSize'>

/** Number of chunks of an attachment: at least one (an empty file is one empty chunk). */
export function chunkCount (layout: Pick<ChunkLayout, 'size' | 'chunkSize'>): number {
  return layout.size === 0 ? 1 : Math.ceil(layout.size / layout.chunkSize)
}

/** Plaintext length of chunk `index`. */
export function chunkLength (layout: Pick<ChunkLayout, 'size' | 'chunkSize'>, index: number): number {
  const count = chunkCount(layout)
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new AttachmentIntegrityError(`chunk index ${index} is outside 0..${count - 1}`)
  }
  if (index < count - 1) return layout.chunkSize
  return layout.size - index * layout.chunkSize
}

/**
 * Checks that a descriptor describes a chunked attachment this node will
 * handle: id and key lengths, a chunk size in [{@link MIN_CHUNK_SIZE},
 * MAX_CHUNK_SIZE], and a size of at most `maxBytes`
 * (AttachmentTooLargeError).
 */
export function checkChunkLayout (d: ChunkKeying, maxBytes: number = MAX_DIRECT_ATTACHMENT_BYTES): void {
  if (!(d.id instanceof Uint8Array) || d.id.length !== ATTACHMENT_ID_BYTES) throw new InvalidAttachmentError(`attachment id must be ${ATTACHMENT_ID_BYTES} bytes`)
  if (!(d.key instanceof Uint8Array) || d.key.length !== ATTACHMENT_KEY_BYTES) throw new InvalidAttachmentError(`attachment key must be ${ATTACHMENT_KEY_BYTES} bytes`)
  if (!Number.isSafeInteger(d.chunkSize) || d.chunkSize < MIN_CHUNK_SIZE || d.chunkSize > MAX_CHUNK_SIZE) {
    throw new InvalidAttachmentError(`chunk size must be an integer in ${MIN_CHUNK_SIZE}..${MAX_CHUNK_SIZE}, got ${d.chunkSize}`)
  }
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new InvalidAttachmentError(`attachment size must be an integer >= 0, got ${d.size}`)
  if (d.size > maxBytes) throw new AttachmentTooLargeError(`attachment of ${d.size} bytes is over the limit of ${maxBytes}`)
}

/** The 12-byte GCM nonce of chunk `index`. */
export function chunkNonce (index: number): Uint8Array {
  const nonce = new Uint8Array(NONCE_BYTES)
  new DataView(nonce.buffer).setBigUint64(4, BigInt(index))
  return nonce
}

/** The associated data of chunk `index` (see the file comment). */
export function chunkAad (layout: ChunkLayout, index: number): Uint8Array {
  const aad = new Uint8Array(LABEL_BYTES.length + ATTACHMENT_ID_BYTES + 4 + 4 + 8 + 4)
  aad.set(LABEL_BYTES, 0)
  aad.set(layout.id, LABEL_BYTES.length)
  const view = new DataView(aad.buffer, LABEL_BYTES.length + ATTACHMENT_ID_BYTES)
  view.setUint32(0, index)
  view.setUint32(4, chunkCount(layout))
  view.setBigUint64(8, BigInt(layout.size))
  view.setUint32(16, layout.chunkSize)
  return aad
}

/** Seals chunk `index`; `plaintext` must have exactly the chunk's length. */
export async function encryptChunk (crypto: Pick<Crypto, 'aead'>, d: ChunkKeying, index: number, plaintext: Uint8Array): Promise<Uint8Array> {
  const expected = chunkLength(d, index)
  if (plaintext.length !== expected) throw new AttachmentIntegrityError(`chunk ${index} has ${plaintext.length} bytes, expected ${expected}`)
  return await crypto.aead.encrypt(d.key, chunkNonce(index), plaintext, chunkAad(d, index))
}

/** Opens chunk `index`; throws AttachmentIntegrityError unless it authenticates at exactly this place. */
export async function decryptChunk (crypto: Pick<Crypto, 'aead'>, d: ChunkKeying, index: number, ciphertext: Uint8Array): Promise<Uint8Array> {
  const expected = chunkLength(d, index) + CHUNK_TAG_BYTES
  if (ciphertext.length !== expected) throw new AttachmentIntegrityError(`chunk ${index} ciphertext has ${ciphertext.length} bytes, expected ${expected}`)
  try {
    return await crypto.aead.decrypt(d.key, chunkNonce(index), ciphertext, chunkAad(d, index))
  } catch (err) {
    throw new AttachmentIntegrityError(`chunk ${index} does not authenticate`, { cause: err })
  }
}

/** Cuts bytes into chunks of `chunkSize` (views, not copies); an empty input is one empty chunk. */
export function splitChunks (bytes: Uint8Array, chunkSize: number): Uint8Array[] {
  const count = chunkCount({ size: bytes.length, chunkSize })
  const chunks: Uint8Array[] = []
  for (let i = 0; i < count; i++) chunks.push(bytes.subarray(i * chunkSize, Math.min(bytes.length, (i + 1) * chunkSize)))
  return chunks
}

/** Concatenates chunks. */
export function joinChunks (chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

/** What the sender says about a file, besides its bytes. */
export interface AttachmentMeta {
  fileName: string
  mimeType: string
  kind: AttachmentKind
  caption?: string
}

/** Options of {@link encryptAttachment}. */
export interface EncryptAttachmentOptions {
  /** Default {@link CHUNK_SIZE}. */
  chunkSize?: number
  /** Default {@link MAX_DIRECT_ATTACHMENT_BYTES}. */
  maxBytes?: number
  sha256?: Sha256Factory
}

/** An attachment sealed in memory: its descriptor and every chunk's ciphertext, in order. */
export interface EncryptedAttachment {
  descriptor: AttachmentDescriptor
  chunks: Uint8Array[]
}

/**
 * Checks size and type, makes a fresh id and key, and seals every chunk of a
 * file held in memory (relay-sized files; the direct path streams through a
 * blob store instead, see prepareAttachment).
 */
export async function encryptAttachment (crypto: Pick<Crypto, 'aead' | 'randomBytes'>, plaintext: Uint8Array, meta: AttachmentMeta, options: EncryptAttachmentOptions = {}): Promise<EncryptedAttachment> {
  const maxBytes = options.maxBytes ?? MAX_DIRECT_ATTACHMENT_BYTES
  if (plaintext.length > maxBytes) throw new AttachmentTooLargeError(`attachment of ${plaintext.length} bytes is over the limit of ${maxBytes}`)
  checkAttachmentType(meta.kind, meta.mimeType, plaintext)
  const hasher = (options.sha256 ?? nobleSha256)()
  hasher.update(plaintext)
  const descriptor: AttachmentDescriptor = {
    id: crypto.randomBytes(ATTACHMENT_ID_BYTES),
    fileName: meta.fileName,
    mimeType: meta.mimeType,
    kind: meta.kind,
    size: plaintext.length,
    sha256: hasher.digest(),
    key: crypto.randomBytes(ATTACHMENT_KEY_BYTES),
    chunkSize: options.chunkSize ?? CHUNK_SIZE,
    ...(meta.caption !== undefined ? { caption: meta.caption } : {})
  }
  checkChunkLayout(descriptor, maxBytes)
  const chunks: Uint8Array[] = []
  const pieces = splitChunks(plaintext, descriptor.chunkSize)
  for (let i = 0; i < pieces.length; i++) chunks.push(await encryptChunk(crypto, descriptor, i, pieces[i]))
  return { descriptor, chunks }
}

/** Options of {@link decryptAttachment}. */
export interface DecryptAttachmentOptions {
  /** Default {@link MAX_DIRECT_ATTACHMENT_BYTES}. */
  maxBytes?: number
  sha256?: Sha256Factory
}

/**
 * Opens a whole attachment from all its chunk ciphertexts in order: exactly
 * `chunkCount` chunks, each authenticated, the digest and the type checked.
 */
export async function decryptAttachment (crypto: Pick<Crypto, 'aead'>, d: AttachmentDescriptor, chunks: readonly Uint8Array[], options: DecryptAttachmentOptions = {}): Promise<Uint8Array> {
  checkChunkLayout(d, options.maxBytes ?? MAX_DIRECT_ATTACHMENT_BYTES)
  const count = chunkCount(d)
  if (chunks.length !== count) throw new AttachmentIntegrityError(`attachment has ${chunks.length} chunks, expected ${count}`)
  const hasher = (options.sha256 ?? nobleSha256)()
  const plain: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const p = await decryptChunk(crypto, d, i, chunks[i])
    hasher.update(p)
    plain.push(p)
  }
  if (!digestsEqual(hasher.digest(), d.sha256)) throw new AttachmentIntegrityError('attachment SHA-256 does not match its descriptor')
  const out = joinChunks(plain)
  checkAttachmentType(d.kind, d.mimeType, out)
  return out
}
