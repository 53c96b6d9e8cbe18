/**
 * The client's kept-open store stream to one relay, pipelined: requests are
 * written without waiting for the answers before them, and the relay
 * answers in order (pipeline.ts), so each answer read belongs to the oldest
 * request still waiting. At most {@link MAX_PIPELINED_REQUESTS} requests and
 * {@link MAX_REQUEST_FRAME_LENGTH} bytes of them (or a single request of any
 * size) are unanswered at once: what a relay reads from one stream at once,
 * and what its read buffer (two frames) holds while it reads nothing.
 *
 * A failure (a write or read error, a request's own timeout or abort)
 * leaves the stream in an unknown state: the channel aborts the stream and
 * every request on it fails; the caller opens a fresh one.
 */
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { MAX_PIPELINED_REQUESTS, MAX_REQUEST_FRAME_LENGTH } from './constants.js'
import { StoreProtocolError } from './errors.js'

interface Pending {
  request: Uint8Array
  signal: AbortSignal
  resolve(frame: Uint8ArrayList): void
  reject(err: Error): void
}

/** A pipelined request/answer stream (see the file comment). */
export class StoreChannel {
  readonly relay: PeerId
  readonly stream: Stream
  /** A request was sent on it already (a failure then may be a stale stream: worth one retry). */
  used = false
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly maxRequests: number
  private readonly maxBytes: number
  /** Requests waiting for their turn to be written, oldest first. */
  private readonly queued: Pending[] = []
  /** Requests written and not yet answered, oldest first: the next answer is the first one's. */
  private readonly unanswered: Pending[] = []
  private unansweredBytes = 0
  private reading = false
  private failure: Error | undefined
  private idleWaiters: Array<() => void> = []

  constructor (relay: PeerId, stream: Stream, lp: LengthPrefixedStream<Stream>, init: { maxRequests?: number, maxBytes?: number } = {}) {
    this.relay = relay
    this.stream = stream
    this.lp = lp
    this.maxRequests = init.maxRequests ?? MAX_PIPELINED_REQUESTS
    this.maxBytes = init.maxBytes ?? MAX_REQUEST_FRAME_LENGTH
  }

  /** True while the stream can carry requests. */
  get usable (): boolean {
    return this.failure === undefined && this.stream.status === 'open'
  }

  /**
   * Writes `request` in its turn and resolves to its answer frame.
   *
   * @throws the stream's failure, or `signal`'s reason (the stream is then aborted)
   */
  async exchange (request: Uint8Array, signal: AbortSignal): Promise<Uint8ArrayList> {
    if (this.failure !== undefined) throw this.failure
    if (this.stream.status !== 'open') throw new StoreProtocolError(`the stream is ${this.stream.status}`)
    this.used = true
    const answer = new Promise<Uint8ArrayList>((resolve, reject) => {
      this.queued.push({ request, signal, resolve, reject })
    })
    this.pump()
    try {
      return await raceAbort(answer, signal)
    } catch (err) {
      this.fail(err instanceof Error ? err : new Error(String(err)))
      throw err
    }
  }

  /** Resolves once no request is queued or unanswered. */
  async idle (): Promise<void> {
    if (this.unanswered.length === 0 && this.queued.length === 0) return
    await new Promise<void>(resolve => { this.idleWaiters.push(resolve) })
  }

  /** Aborts the stream; every request on it fails with `err`. */
  fail (err: Error): void {
    if (this.failure !== undefined) return
    this.failure = err
    for (const pending of [...this.unanswered.splice(0), ...this.queued.splice(0)]) pending.reject(err)
    this.unansweredBytes = 0
    this.stream.abort(err)
    this.settleIdle()
  }

  /**
   * Writes queued requests while they fit, oldest first. Writes happen only
   * here, each handed to the stream synchronously, so the order written is
   * the order of `unanswered`.
   */
  private pump (): void {
    while (this.failure === undefined && this.queued.length > 0 && this.fits(this.queued[0].request.length)) {
      const next = this.queued.shift() as Pending
      this.unanswered.push(next)
      this.unansweredBytes += next.request.length
      this.lp.write(next.request, { signal: next.signal }).catch((err: unknown) => {
        this.fail(err instanceof Error ? err : new Error(String(err)))
      })
      this.readAnswers()
    }
  }

  private fits (bytes: number): boolean {
    if (this.unanswered.length === 0) return true
    return this.unanswered.length < this.maxRequests && this.unansweredBytes + bytes <= this.maxBytes
  }

  /** Reads answers while any request waits for one; each goes to the oldest. */
  private readAnswers (): void {
    if (this.reading) return
    this.reading = true
    void (async () => {
      try {
        while (this.unanswered.length > 0 && this.failure === undefined) {
          const frame = await this.lp.read()
          const oldest = this.unanswered.shift()
          if (oldest === undefined) break
          this.unansweredBytes -= oldest.request.length
          oldest.resolve(frame)
          this.pump()
        }
      } catch (err) {
        this.fail(err instanceof Error ? err : new Error(String(err)))
      } finally {
        this.reading = false
        this.settleIdle()
      }
    })()
  }

  private settleIdle (): void {
    if (this.unanswered.length > 0 || this.queued.length > 0) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}

async function raceAbort<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw signal.reason
  let onAbort: (() => void) | undefined
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => {
      onAbort = () => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
    })])
  } finally {
    if (onAbort !== undefined) signal.removeEventListener('abort', onAbort)
  }
}
