/**
 * The sender's side: a file becomes a descriptor plus plaintext chunks in a
 * blob store, streamed (a 100 MB file is never held whole in memory). The
 * chunks are sealed when they are served (see source.ts), deterministically,
 * so a resumed transfer resends identical ciphertexts.
 */
import type { Crypto } from '../../crypto/index.js'
import { ATTACHMENT_ID_BYTES, ATTACHMENT_KEY_BYTES } from '../model/constants.js'
import type { AttachmentDescriptor } from '../model/types.js'
import type { BlobStore } from './blob-store.js'
import { CHUNK_SIZE, MAX_DIRECT_ATTACHMENT_BYTES } from './constants.js'
import { checkChunkLayout } from './crypto.js'
import type { AttachmentMeta } from './crypto.js'
import { nobleSha256 } from './digest.js'
import type { Sha256Factory } from './digest.js'
import { AttachmentTooLargeError } from './errors.js'
import { checkAttachmentType } from './sniff.js'

/** Options of {@link prepareAttachment}. */
export interface PrepareAttachmentOptions {
  /** Default {@link CHUNK_SIZE}. */
  chunkSize?: number
  /** Default {@link MAX_DIRECT_ATTACHMENT_BYTES}; pass MAX_RELAY_ATTACHMENT_BYTES for a recipient only reachable through relays. */
  maxBytes?: number
  sha256?: Sha256Factory
  signal?: AbortSignal
}

/** File contents: whole, or as pieces of any size. */
export type AttachmentInput = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>

async function * pieces (input: AttachmentInput): AsyncGenerator<Uint8Array> {
  if (input instanceof Uint8Array) {
    yield input
    return
  }
  yield * input
}

/**
 * Reads a file into `store` as plaintext chunks under a fresh attachment id
 * and key, checks its size (AttachmentTooLargeError) and type
 * (AttachmentTypeError), marks it complete and returns its descriptor. On any
 * error nothing of it stays in the store.
 */
export async function prepareAttachment (crypto: Pick<Crypto, 'randomBytes'>, input: AttachmentInput, meta: AttachmentMeta, store: BlobStore, options: PrepareAttachmentOptions = {}): Promise<AttachmentDescriptor> {
  const chunkSize = options.chunkSize ?? CHUNK_SIZE
  const maxBytes = options.maxBytes ?? MAX_DIRECT_ATTACHMENT_BYTES
  const id = crypto.randomBytes(ATTACHMENT_ID_BYTES)
  const key = crypto.randomBytes(ATTACHMENT_KEY_BYTES)
  checkChunkLayout({ id, key, size: 0, chunkSize }, maxBytes)
  const hasher = (options.sha256 ?? nobleSha256)()
  let buffer = new Uint8Array(chunkSize)
  let fill = 0
  let index = 0
  let size = 0
  const flush = async (): Promise<void> => {
    const chunk = buffer.subarray(0, fill)
    if (index === 0) checkAttachmentType(meta.kind, meta.mimeType, chunk)
    hasher.update(chunk)
    await store.putChunk(id, index, chunk, { signal: options.signal })
    index++
    fill = 0
    buffer = new Uint8Array(chunkSize)
  }
  try {
    for await (const piece of pieces(input)) {
      options.signal?.throwIfAborted()
      size += piece.length
      if (size > maxBytes) throw new AttachmentTooLargeError(`attachment is over the limit of ${maxBytes} bytes`)
      let offset = 0
      while (offset < piece.length) {
        const n = Math.min(chunkSize - fill, piece.length - offset)
        buffer.set(piece.subarray(offset, offset + n), fill)
        fill += n
        offset += n
        if (fill === chunkSize) await flush()
      }
    }
    if (fill > 0 || index === 0) await flush()
    const descriptor: AttachmentDescriptor = {
      id,
      fileName: meta.fileName,
      mimeType: meta.mimeType,
      kind: meta.kind,
      size,
      sha256: hasher.digest(),
      key,
      chunkSize,
      ...(meta.caption !== undefined ? { caption: meta.caption } : {})
    }
    await store.markComplete(id, descriptor, { signal: options.signal })
    return descriptor
  } catch (err) {
    await store.delete(id)
    throw err
  }
}
