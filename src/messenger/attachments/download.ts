/**
 * Downloading an attachment over a direct connection with
 * `/starling/attachment/1.0.0`: asks the sender only for the chunks the blob
 * store lacks, so an interrupted download resumes where it stopped.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Crypto } from '../../crypto/index.js'
import { fetchChunks, MAX_RANGES, toRanges } from '../../protocols/attachment/index.js'
import type { AttachmentDialer } from '../../protocols/attachment/index.js'
import type { AttachmentDescriptor } from '../model/types.js'
import type { BlobStore } from './blob-store.js'
import { CHUNK_TAG_BYTES, MAX_DIRECT_ATTACHMENT_BYTES } from './constants.js'
import { checkChunkLayout, chunkCount, chunkLength } from './crypto.js'
import { AttachmentIncompleteError } from './errors.js'
import { finishAttachment, missingChunks, receiveChunk } from './receive.js'

const log = logger('starling:attachment')

/** Where a download stands. */
export interface DownloadProgress {
  receivedChunks: number
  totalChunks: number
  /** Plaintext bytes stored so far (including those from earlier sessions). */
  receivedBytes: number
  totalBytes: number
}

/** Options of {@link downloadAttachment}. */
export interface DownloadAttachmentOptions {
  crypto: Pick<Crypto, 'aead'>
  /** Aborts the download; what was stored stays for the next attempt. */
  signal?: AbortSignal
  /** Called after each stored chunk (chunks are stored a few at a time, so not always in index order). */
  onProgress?(progress: DownloadProgress): void
  /** Default {@link MAX_DIRECT_ATTACHMENT_BYTES}. */
  maxBytes?: number
  /** Chunks in flight (see fetchChunks). */
  window?: number
  /** Chunks verified and stored at once (see fetchChunks). */
  concurrency?: number
  frameTimeoutMs?: number
}

/**
 * Downloads the chunks of `d` that `store` lacks from `peer`, verifying each
 * (AEAD) before storing it, then checks the SHA-256 and type and marks the
 * attachment complete. Returns at once for a complete attachment. Throws
 * AttachmentTooLargeError before any network traffic for a descriptor over
 * `maxBytes`; AttachmentIntegrityError for a chunk that does not
 * authenticate (nothing of it is stored) or a wrong digest;
 * AttachmentNotFoundError / AttachmentProtocolError from the protocol.
 */
export async function downloadAttachment (node: AttachmentDialer, peer: PeerId | Multiaddr | Multiaddr[], d: AttachmentDescriptor, store: BlobStore, options: DownloadAttachmentOptions): Promise<void> {
  checkChunkLayout(d, options.maxBytes ?? MAX_DIRECT_ATTACHMENT_BYTES)
  if (await store.isComplete(d.id)) return
  const totalChunks = chunkCount(d)
  let missing = await missingChunks(d, store)
  const progress: DownloadProgress = {
    receivedChunks: totalChunks - missing.length,
    totalChunks,
    receivedBytes: d.size - missing.reduce((n, i) => n + chunkLength(d, i), 0),
    totalBytes: d.size
  }
  while (missing.length > 0) {
    // One request holds at most MAX_RANGES ranges; a very scattered remainder takes several.
    const ranges = toRanges(missing).slice(0, MAX_RANGES)
    log('fetching %d of %d chunks in %d ranges', missing.length, totalChunks, ranges.length)
    await fetchChunks(node, peer, d.id, ranges, {
      signal: options.signal,
      maxCiphertextBytes: d.chunkSize + CHUNK_TAG_BYTES,
      window: options.window,
      concurrency: options.concurrency,
      frameTimeoutMs: options.frameTimeoutMs,
      onChunk: async (index, ciphertext) => {
        const stored = await receiveChunk(options.crypto, d, store, index, ciphertext, { signal: options.signal })
        progress.receivedBytes += stored
        progress.receivedChunks++
        options.onProgress?.({ ...progress })
      }
    })
    const before = missing.length
    missing = await missingChunks(d, store)
    if (missing.length >= before) throw new AttachmentIncompleteError('the blob store did not keep the chunks it was given')
  }
  await finishAttachment(d, store, { signal: options.signal })
}
