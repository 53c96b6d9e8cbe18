/**
 * The receiver's side of `/starling/attachment/1.0.0`: asks a sender for
 * ranges of chunks and hands each ciphertext, in index order, to a callback
 * that verifies and stores it. Credit goes back to the sender only after the
 * callback resolves, so at most `window` chunks are ever buffered here,
 * whatever the transport's own flow control does.
 */
import { lpStream } from '@libp2p/utils'
import type { DialProtocolOptions, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  CHUNK_FRAME_OVERHEAD_BYTES, DEFAULT_WINDOW, FRAME_TIMEOUT_MS, MAX_CHUNK_CIPHERTEXT_BYTES, MAX_WINDOW, PROTOCOL,
  RUN_ON_LIMITED_CONNECTION
} from './constants.js'
import { AttachmentNotFoundError, AttachmentProtocolError } from './errors.js'
import { ClientFrame, EndStatus, ServerFrame } from './pb/attachment.js'
import { checkRanges, rangeIndices } from './ranges.js'
import type { ChunkRange } from './ranges.js'

/** Opens protocol streams: a libp2p node fits. */
export interface AttachmentDialer {
  dialProtocol(peer: PeerId | Multiaddr | Multiaddr[], protocols: string | string[], options?: DialProtocolOptions): Promise<Stream>
}

/** Options of {@link fetchChunks}. */
export interface FetchChunksOptions {
  /** Aborts the whole fetch (what arrived before stays stored). */
  signal?: AbortSignal
  /** Largest chunk ciphertext accepted (chunk size + tag); at most {@link MAX_CHUNK_CIPHERTEXT_BYTES}. */
  maxCiphertextBytes: number
  /** Called for each chunk in order; the next credit waits for it. Throwing ends the fetch. */
  onChunk(index: number, ciphertext: Uint8Array): Promise<void>
  /** Chunks in flight (default {@link DEFAULT_WINDOW}, at most {@link MAX_WINDOW}). */
  window?: number
  /** Longest wait for one frame (default {@link FRAME_TIMEOUT_MS}). */
  frameTimeoutMs?: number
  /** Default false: never through a relay. */
  runOnLimitedConnection?: boolean
}

/**
 * Fetches the chunks of `ranges` of an attachment from `peer`. Resolves when
 * the sender has sent every one of them; throws AttachmentNotFoundError when
 * the sender refuses or lacks a chunk, AttachmentProtocolError on any frame
 * out of place, a TimeoutError when a frame takes longer than
 * `frameTimeoutMs`, and the abort reason when `signal` aborts. The stream is
 * aborted on every error.
 */
export async function fetchChunks (dialer: AttachmentDialer, peer: PeerId | Multiaddr | Multiaddr[], attachmentId: Uint8Array, ranges: ChunkRange[], options: FetchChunksOptions): Promise<void> {
  checkRanges(ranges)
  const maxCiphertextBytes = Math.min(options.maxCiphertextBytes, MAX_CHUNK_CIPHERTEXT_BYTES)
  const window = Math.max(1, Math.min(MAX_WINDOW, Math.floor(options.window ?? DEFAULT_WINDOW)))
  const frameTimeoutMs = options.frameTimeoutMs ?? FRAME_TIMEOUT_MS
  const outer = options.signal ?? new AbortController().signal
  const op = (): AbortSignal => AbortSignal.any([outer, AbortSignal.timeout(frameTimeoutMs)])
  const maxFrame = maxCiphertextBytes + CHUNK_FRAME_OVERHEAD_BYTES

  const stream = await dialer.dialProtocol(peer, PROTOCOL, {
    signal: op(),
    runOnLimitedConnection: options.runOnLimitedConnection ?? RUN_ON_LIMITED_CONNECTION
  })
  try {
    // The sender keeps at most `window` chunks in flight, so this never overflows.
    const lp = lpStream(stream, { maxDataLength: maxFrame, maxBufferSize: (window + 2) * (maxFrame + 8) })
    await lp.write(ClientFrame.encode({ request: { attachmentId: attachmentId as Uint8Array<ArrayBuffer>, ranges, window } }), { signal: op() })
    const expected = rangeIndices(ranges)
    let next = expected.next()
    let unacknowledged = 0
    const creditBatch = Math.max(1, Math.floor(window / 4))
    while (true) {
      const frame = ServerFrame.decode(await lp.read({ signal: op() }))
      if (frame.chunk != null) {
        const { index, ciphertext } = frame.chunk
        if (next.done === true || index !== next.value) throw new AttachmentProtocolError(`chunk ${index} out of order (expected ${next.done === true ? 'none' : next.value})`)
        await options.onChunk(index, ciphertext)
        next = expected.next()
        unacknowledged++
        if (unacknowledged >= creditBatch && next.done !== true) {
          await lp.write(ClientFrame.encode({ credit: { chunks: unacknowledged } }), { signal: op() })
          unacknowledged = 0
        }
        continue
      }
      if (frame.end == null) throw new AttachmentProtocolError('empty frame')
      checkEnd(frame.end.status, next)
      break
    }
    await stream.close({ signal: op() })
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

function checkEnd (status: EndStatus, next: IteratorResult<number>): void {
  switch (status) {
    case EndStatus.END_STATUS_OK:
      if (next.done !== true) throw new AttachmentProtocolError(`sender ended before chunk ${next.value}`)
      return
    case EndStatus.END_STATUS_NOT_FOUND:
      throw new AttachmentNotFoundError('the sender does not have this attachment for this peer')
    case EndStatus.END_STATUS_UNAVAILABLE:
      throw new AttachmentNotFoundError(`the sender lacks chunk ${next.done === true ? '?' : next.value}`)
    default:
      throw new AttachmentProtocolError(`unknown end status ${String(status)}`)
  }
}
