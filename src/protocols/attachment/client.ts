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
  CHUNK_FRAME_OVERHEAD_BYTES, DEFAULT_CONCURRENCY, DEFAULT_WINDOW_BYTES, FRAME_TIMEOUT_MS, MAX_CHUNK_CIPHERTEXT_BYTES, MAX_WINDOW, PROTOCOL,
  RUN_ON_LIMITED_CONNECTION
} from './constants.js'
import { AttachmentNotFoundError, AttachmentProtocolError } from './errors.js'
import { InactivityTimer } from './inactivity.js'
import { ClientFrame, EndStatus, ServerFrame } from './pb/attachment.js'
import { checkRanges, rangeIndices, rangeSize } from './ranges.js'
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
  /**
   * Called for each chunk, started in index order, up to `concurrency` at
   * once; credit for a chunk goes back when its call resolves. The first
   * throw ends the fetch (after the calls already started have settled).
   */
  onChunk(index: number, ciphertext: Uint8Array): Promise<void>
  /** Chunks in flight (default: {@link DEFAULT_WINDOW_BYTES} worth, at most {@link MAX_WINDOW}). */
  window?: number
  /** Chunks handed to `onChunk` at once (default {@link DEFAULT_CONCURRENCY}); each gets credit back when it finishes. */
  concurrency?: number
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
  const window = Math.max(1, Math.min(MAX_WINDOW, Math.floor(options.window ?? DEFAULT_WINDOW_BYTES / maxCiphertextBytes)))
  const maxFrame = maxCiphertextBytes + CHUNK_FRAME_OVERHEAD_BYTES
  // A failing onChunk aborts everything at once, even a read waiting for a frame.
  const failed = new AbortController()
  const timer = new InactivityTimer(options.frameTimeoutMs ?? FRAME_TIMEOUT_MS, options.signal === undefined ? failed.signal : AbortSignal.any([options.signal, failed.signal]))
  const signal = timer.signal
  let stream: Stream
  try {
    stream = await dialer.dialProtocol(peer, PROTOCOL, {
      signal,
      runOnLimitedConnection: options.runOnLimitedConnection ?? RUN_ON_LIMITED_CONNECTION
    })
  } catch (err) {
    timer.clear()
    throw err
  }
  // The sender keeps at most `window` chunks in flight, so this never overflows.
  const lp = lpStream(stream, { maxDataLength: maxFrame, maxBufferSize: (window + 2) * (maxFrame + 8) })
  const sink = new ChunkSink({
    onChunk: options.onChunk,
    concurrency: Math.min(window, options.concurrency ?? DEFAULT_CONCURRENCY),
    creditBatch: Math.max(1, Math.floor(window / 4)),
    remaining: rangeSize(ranges),
    grant: async chunks => { await lp.write(ClientFrame.encode({ credit: { chunks } }), { signal }) },
    fail: err => { failed.abort(err) }
  })
  try {
    await lp.write(ClientFrame.encode({ request: { attachmentId: attachmentId as Uint8Array<ArrayBuffer>, ranges, window } }), { signal })
    const expected = rangeIndices(ranges)
    let next = expected.next()
    while (true) {
      const frame = ServerFrame.decode(await lp.read({ signal }))
      timer.touch()
      if (frame.chunk != null) {
        const { index, ciphertext } = frame.chunk
        if (next.done === true || index !== next.value) throw new AttachmentProtocolError(`chunk ${index} out of order (expected ${next.done === true ? 'none' : next.value})`)
        await sink.push(index, ciphertext)
        next = expected.next()
        continue
      }
      if (frame.end == null) throw new AttachmentProtocolError('empty frame')
      await sink.drain()
      checkEnd(frame.end.status, next)
      break
    }
    await stream.close({ signal })
  } catch (err) {
    // Nothing of this fetch runs on after it returns: callers read the store next.
    await sink.settle()
    const cause = sink.failure ?? err
    stream.abort(cause as Error)
    throw cause
  } finally {
    timer.clear()
  }
}

interface ChunkSinkInit {
  onChunk(index: number, ciphertext: Uint8Array): Promise<void>
  concurrency: number
  creditBatch: number
  /** Chunks still to arrive (no credit is sent once none are). */
  remaining: number
  grant(chunks: number): Promise<void>
  fail(err: unknown): void
}

/**
 * Runs `onChunk` for up to `concurrency` chunks at once (a file store's
 * fsyncs overlap), and gives credit back as each one finishes.
 */
class ChunkSink {
  failure?: unknown
  private readonly init: ChunkSinkInit
  private readonly running = new Set<Promise<void>>()
  private remaining: number
  private finished = 0

  constructor (init: ChunkSinkInit) {
    this.init = init
    this.remaining = init.remaining
  }

  /** Starts `onChunk`, first waiting for a free slot; throws the first failure. */
  async push (index: number, ciphertext: Uint8Array): Promise<void> {
    while (this.running.size >= this.init.concurrency) await Promise.race(this.running)
    this.check()
    this.remaining--
    const task: Promise<void> = this.init.onChunk(index, ciphertext)
      .then(async () => { await this.done() })
      .catch(err => { this.setFailure(err) })
      .finally(() => { this.running.delete(task) })
    this.running.add(task)
  }

  /** Waits for every started chunk; throws the first failure. */
  async drain (): Promise<void> {
    await this.settle()
    this.check()
  }

  /** Waits for every started chunk, whatever happens. */
  async settle (): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running])
  }

  private async done (): Promise<void> {
    this.finished++
    if (this.finished < this.init.creditBatch || this.remaining === 0) return
    const chunks = this.finished
    this.finished = 0
    await this.init.grant(chunks)
  }

  private setFailure (err: unknown): void {
    if (this.failure !== undefined) return
    this.failure = err
    this.init.fail(err)
  }

  private check (): void {
    if (this.failure !== undefined) throw this.failure
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
