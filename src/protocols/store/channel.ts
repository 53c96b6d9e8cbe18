/**
 * The client's kept-open store stream to one relay, pipelined: requests are
 * written without waiting for the answers before them, and the relay
 * answers in order (pipeline.ts), so each answer read belongs to the oldest
 * request still waiting. At most {@link MAX_PIPELINED_REQUESTS} requests
 * (each put of a batch counting as one, as the relay counts them) and
 * {@link MAX_REQUEST_FRAME_LENGTH} bytes of them (or a single request of any
 * size) are unanswered at once: what a relay reads from one stream at once,
 * and what its read buffer (two frames) holds while it reads nothing.
 *
 * Batches: puts that wait for their turn (the pipeline is full, or they
 * came in the same tick: writing waits for the microtasks already queued,
 * never for a timer) go out together as one `puts` request, up to
 * {@link MAX_PUT_BATCH} of them and {@link MAX_PUT_BATCH_BYTES} of
 * envelopes; each caller gets its own put's result. A put with nothing
 * beside it goes out alone, as before. A relay that answers a batch with
 * BAD_REQUEST and no results does not know batches (an older relay answers
 * so to a request with no field it knows): the channel stops batching and
 * sends those puts again one by one, in their order. A relay that knows
 * batches takes any of up to {@link MAX_PUT_BATCH} puts, whatever its own
 * bounds (it works through a larger one a part at a time), and refuses a
 * whole batch only as it would refuse each put (rate, a fault).
 *
 * A failure (a write or read error, an undecodable answer, a request's own
 * timeout or abort once written) leaves the stream in an unknown state: the
 * channel aborts the stream and every request on it fails; the caller opens
 * a fresh one. Requests that fail only because another caller gave up on
 * its own fail with {@link StreamAbandonedError} (they may be tried again),
 * and a request given up before it was written just leaves the queue: one
 * caller's signal never costs the others their puts, batched or not.
 */
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { PeerId, Stream } from '@libp2p/interface'
import { MAX_FETCH_LIMIT, MAX_PIPELINED_REQUESTS, MAX_PUT_BATCH, MAX_PUT_BATCH_BYTES, MAX_REQUEST_FRAME_LENGTH } from './constants.js'
import { MAX_RECEIPT_PATH } from './receipt-tree.js'
import { StoreProtocolError, StreamAbandonedError } from './errors.js'
import { StoreRequest, StoreResponse } from './pb/store.js'
import type { PutRequest } from './pb/store.js'
import { fromPutResult } from './responses.js'

/**
 * Bytes a put adds to a request frame, at most: the mailbox and envelope
 * with their tags and lengths, and the put's own tag and length (alone or
 * in a batch).
 */
const PUT_FRAME_OVERHEAD = 16
/** Bytes a batch adds around its puts, at most: its tag and length. */
const BATCH_FRAME_OVERHEAD = 8

interface Pending {
  request: StoreRequest
  /** Its frame, for a fetch or delete (a put is encoded when written: alone or in a batch). */
  frame?: Uint8Array
  /** Bytes of its frame: exact for a fetch or delete, an upper bound for a put. */
  bytes: number
  signal: AbortSignal
  /** Its answer, or what was wrong with the relay's answer to its batch (the stream is still in step). */
  resolve(answer: StoreResponse | StoreProtocolError): void
  reject(err: Error): void
}

/** One frame written: a single request, or a batch of puts. */
interface Written {
  members: Pending[]
  batch: boolean
  bytes: number
}

/** Options of a {@link StoreChannel}. */
export interface StoreChannelInit {
  /** Requests unanswered at once, each put of a batch counting as one (default {@link MAX_PIPELINED_REQUESTS}). */
  maxRequests?: number
  /** Request bytes unanswered at once (default {@link MAX_REQUEST_FRAME_LENGTH}). */
  maxBytes?: number
  /** Whether puts may go out in batches (false for a relay known not to take them). */
  batches?: boolean
  /** Called once when the relay turns out not to take batches. */
  onNoBatches?(): void
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
  private readonly onNoBatches: StoreChannelInit['onNoBatches']
  private batches: boolean
  /** Requests waiting for their turn to be written, oldest first. */
  private queued: Pending[] = []
  /** Frames written and not yet answered, oldest first: the next answer is the first one's. */
  private readonly unanswered: Written[] = []
  /** Requests in `unanswered`, each put of a batch counting as one. */
  private unansweredRequests = 0
  private unansweredBytes = 0
  private reading = false
  private pumpScheduled = false
  private failure: Error | undefined
  private idleWaiters: Array<() => void> = []

  constructor (relay: PeerId, stream: Stream, lp: LengthPrefixedStream<Stream>, init: StoreChannelInit = {}) {
    this.relay = relay
    this.stream = stream
    this.lp = lp
    this.maxRequests = init.maxRequests ?? MAX_PIPELINED_REQUESTS
    this.maxBytes = init.maxBytes ?? MAX_REQUEST_FRAME_LENGTH
    this.batches = init.batches ?? true
    this.onNoBatches = init.onNoBatches
  }

  /** True while the stream can carry requests. */
  get usable (): boolean {
    return this.failure === undefined && this.stream.status === 'open'
  }

  /** Whether puts still go out in batches on this stream. */
  get batching (): boolean {
    return this.batches
  }

  /**
   * Writes `request` in its turn (a put perhaps in a batch with others) and
   * resolves to its answer: for a put of a batch, the answer a single put
   * would have got.
   *
   * @throws the stream's failure, or `signal`'s reason (the stream is then
   * aborted); a {@link StoreProtocolError} with the stream still usable when
   * the relay answered this put's batch with results that do not match it
   */
  async exchange (request: StoreRequest, signal: AbortSignal): Promise<StoreResponse> {
    if (this.failure !== undefined) throw this.failure
    if (this.stream.status !== 'open') throw new StoreProtocolError(`the stream is ${this.stream.status}`)
    // Given up already (while the stream was opened, or the request built): nothing goes on the stream.
    signal.throwIfAborted()
    this.used = true
    const frame = request.put != null ? undefined : StoreRequest.encode(request)
    const bytes = request.put != null ? putBytes(request.put) : (frame as Uint8Array).length
    let entry!: Pending
    const pending = new Promise<StoreResponse | StoreProtocolError>((resolve, reject) => {
      entry = { request, frame, bytes, signal, resolve, reject }
      this.queued.push(entry)
    })
    // Its caller learns its fate through raceAbort; once that gave up, a later rejection (the stream failing) must not go unhandled (that ends a Node process).
    pending.catch(() => {})
    this.schedulePump()
    let answer: StoreResponse | StoreProtocolError
    try {
      answer = await raceAbort(pending, signal)
    } catch (err) {
      const error = err instanceof Error ? err : new Error(String(err))
      if (this.failure === undefined && signal.aborted) this.abandon(entry, error)
      else this.fail(error)
      throw err
    }
    if (answer instanceof StoreProtocolError) throw answer
    return answer
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
    const pending = [...this.unanswered.splice(0).flatMap(w => w.members), ...this.queued.splice(0)]
    for (const p of pending) p.reject(err)
    this.unansweredRequests = 0
    this.unansweredBytes = 0
    this.stream.abort(err)
    this.settleIdle()
  }

  /**
   * `entry`'s caller gave up with `reason`. Not yet written: it leaves the
   * queue and the stream stays in step. Written (alone or in a batch): its
   * answer may never come, so the stream goes, but the requests of other
   * callers fail with {@link StreamAbandonedError}, not with this caller's
   * reason: they were not given up, and may be tried again.
   */
  private abandon (entry: Pending, reason: Error): void {
    const at = this.queued.indexOf(entry)
    if (at >= 0) {
      this.queued.splice(at, 1)
      this.schedulePump()
      this.settleIdle()
      return
    }
    // Answered already (its answer and the abort came together): nothing of it is left on the stream.
    if (!this.unanswered.some(w => w.members.includes(entry))) return
    this.fail(new StreamAbandonedError(`another request on the stream was given up: ${reason.message}`))
  }

  /** Writes once the microtasks already queued have run: puts made in the same tick meet in one batch. */
  private schedulePump (): void {
    if (this.pumpScheduled) return
    this.pumpScheduled = true
    queueMicrotask(() => {
      this.pumpScheduled = false
      this.pump()
    })
  }

  /**
   * Writes queued requests while they fit, oldest first. Writes happen only
   * here, each handed to the stream synchronously, so the order written is
   * the order of `unanswered`.
   */
  private pump (): void {
    while (this.failure === undefined && this.queued.length > 0) {
      const next = this.nextFrame()
      if (next === undefined) return
      this.unanswered.push(next.written)
      this.unansweredRequests += next.written.members.length
      this.unansweredBytes += next.written.bytes
      // Not bound to one caller's signal (a batch has several): a caller that gives up fails the channel, which aborts the stream and this write.
      this.lp.write(next.frame).catch((err: unknown) => {
        this.fail(err instanceof Error ? err : new Error(String(err)))
      })
      this.readAnswers()
    }
  }

  /** The next frame to write, taken off the queue, or undefined when the oldest request does not fit yet. */
  private nextFrame (): { frame: Uint8Array, written: Written } | undefined {
    const first = this.queued[0]
    const empty = this.unanswered.length === 0
    const freeRequests = this.maxRequests - this.unansweredRequests
    const freeBytes = this.maxBytes - this.unansweredBytes
    if (!empty && (freeRequests < 1 || first.bytes > freeBytes)) return undefined
    const members = [first]
    let bytes = first.bytes
    let envelopeBytes = first.request.put?.envelope.length ?? 0
    if (this.batches && first.request.put != null) {
      for (let i = 1; i < this.queued.length && members.length < Math.min(MAX_PUT_BATCH, freeRequests); i++) {
        const put = this.queued[i].request.put
        if (put == null) break
        if (envelopeBytes + put.envelope.length > MAX_PUT_BATCH_BYTES) break
        if (bytes + this.queued[i].bytes + BATCH_FRAME_OVERHEAD > (empty ? this.maxBytes : freeBytes)) break
        members.push(this.queued[i])
        bytes += this.queued[i].bytes
        envelopeBytes += put.envelope.length
      }
    }
    this.queued = this.queued.slice(members.length)
    if (members.length === 1) return { frame: first.frame ?? StoreRequest.encode(first.request), written: { members, batch: false, bytes } }
    const puts = members.map(m => m.request.put as PutRequest)
    return { frame: StoreRequest.encode({ puts: { puts, treeReceipts: true } }), written: { members, batch: true, bytes: bytes + BATCH_FRAME_OVERHEAD } }
  }

  /** Reads answers while any frame waits for one; each goes to the oldest. */
  private readAnswers (): void {
    if (this.reading) return
    this.reading = true
    void (async () => {
      try {
        while (this.unanswered.length > 0 && this.failure === undefined) {
          const frame = await this.lp.read()
          const oldest = this.unanswered.shift()
          if (oldest === undefined) break
          this.unansweredRequests -= oldest.members.length
          this.unansweredBytes -= oldest.bytes
          let response: StoreResponse
          try {
            response = StoreResponse.decode(frame, { limits: { envelopes: MAX_FETCH_LIMIT, receipt: { path: MAX_RECEIPT_PATH }, results: MAX_PUT_BATCH, results$: { receipt: { path: MAX_RECEIPT_PATH } } } })
          } catch (err) {
            throw new StoreProtocolError(`undecodable response: ${(err as Error).message}`)
          }
          if (oldest.batch) this.answerBatch(oldest.members, response)
          else oldest.members[0].resolve(response)
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

  /**
   * Hands each put of a batch its own result, or sends them again one by
   * one to a relay that takes no batches: only BAD_REQUEST with no results
   * says that (what a relay answers to a request with no field it knows).
   * Any other refusal of the whole batch (rate, a fault of the relay) is
   * each put's answer, as it would have been for the put alone.
   */
  private answerBatch (members: Pending[], response: StoreResponse): void {
    if (response.status === StoreResponse.Status.BAD_REQUEST && response.results.length === 0) {
      if (this.batches) {
        this.batches = false
        this.onNoBatches?.()
      }
      this.queued = [...members, ...this.queued]
      return
    }
    if (response.status !== StoreResponse.Status.OK && response.results.length === 0) {
      for (const m of members) m.resolve(response)
      return
    }
    if (response.status !== StoreResponse.Status.OK || response.results.length !== members.length) {
      // Every answer so far came in its frame: the stream is in step, only these puts fail.
      const err = new StoreProtocolError(`the relay answered a batch of ${members.length} puts with ${response.results.length} results (status ${String(response.status)})`)
      for (const m of members) m.resolve(err)
      return
    }
    for (const [i, m] of members.entries()) m.resolve(fromPutResult(response.results[i]))
  }

  private settleIdle (): void {
    if (this.unanswered.length > 0 || this.queued.length > 0) return
    const waiters = this.idleWaiters
    this.idleWaiters = []
    for (const resolve of waiters) resolve()
  }
}

/** Bytes a put adds to a frame, at most (see {@link PUT_FRAME_OVERHEAD}). */
function putBytes (put: PutRequest): number {
  return put.mailbox.length + put.envelope.length + PUT_FRAME_OVERHEAD
}

/** `promise`, or `signal`'s reason if it aborts first (`promise` goes on, unobserved). */
export async function raceAbort<T> (promise: Promise<T>, signal: AbortSignal): Promise<T> {
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
