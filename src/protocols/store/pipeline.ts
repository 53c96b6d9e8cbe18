/**
 * The requests of one store stream, answered several at once and written
 * back in the order they came (pipelining: a sender need not wait for each
 * receipt before handing over the next envelope, and a relay's group commit
 * gathers more envelopes per synced batch).
 *
 * Bounds: at most `maxPipelined` requests of a stream are under way, and at
 * most the {@link SourceSlots} of its source across all its streams; past
 * either, the stream reads nothing more until an answer is written, so the
 * sender's frames wait in its stream (whose read buffer is bounded). A
 * batch of puts counts as one request per envelope against both bounds:
 * batching saves per-request work, never buys more under way. An
 * answer counts as under way until it is written: a sender that never reads
 * its answers holds its slots and gets nothing more answered.
 *
 * Order: puts run concurrently (each stands alone: the store serialises
 * what touches one mailbox); a fetch or a delete starts only once every
 * request before it on the stream is answered, and the requests after it
 * wait for it, so a stream behaves as if it answered one at a time.
 */
import type { SourceSlots } from './in-flight.js'
import type { StoreRequest, StoreResponse } from './pb/store.js'

/** What a {@link StreamPipeline} needs from its server and stream. */
export interface StreamPipelineInit {
  /** Requests of this stream under way at once. */
  maxPipelined: number
  /** The server's slots per source, and this stream's source. */
  slots: SourceSlots
  source: string
  /** Answers a request (refusals are answers; a rejection is a fault: the stream is dropped, the process never). */
  answer(request: StoreRequest): Promise<StoreResponse>
  /** Writes an answer on the stream. */
  write(response: StoreResponse): Promise<void>
  /** Called once an answer is written, with the time since its request was read (ms). */
  onWritten?(request: StoreRequest, response: StoreResponse, ms: number): void
  /** Keeps each request's promise until it settles (a server's drain waits for them). */
  track(done: Promise<void>): void
  /** Whether the server still takes requests: one that got its slot after a drain began is not taken (never answered). */
  accepting?(): boolean
}

/** One stream's requests under way (see the file comment). */
export class StreamPipeline {
  private readonly init: StreamPipelineInit
  /** Requests read and not yet written back (a batch counts its puts). */
  private open = 0
  /** Settles once every request so far is answered (not necessarily written). */
  private answered: Promise<unknown> = Promise.resolve()
  /** Settles once the last fetch or delete is answered: when later requests may start. */
  private barrier: Promise<unknown> = Promise.resolve()
  /** Settles once every answer so far is written. */
  private written: Promise<void> = Promise.resolve()
  private wake: (() => void) | undefined
  /** Why writing failed: nothing more is written on the stream. */
  private failure: Error | undefined

  constructor (init: StreamPipelineInit) {
    if (!Number.isSafeInteger(init.maxPipelined) || init.maxPipelined < 1) throw new RangeError(`requests per stream must be a positive integer, got ${init.maxPipelined}`)
    this.init = init
  }

  /** Requests read and not yet written back (a batch counts its puts). */
  get underWay (): number {
    return this.open
  }

  /** Why writing failed, if it did. */
  get failed (): Error | undefined {
    return this.failure
  }

  /** Resolves once `count` more requests fit on the stream (default 1: the stream may read another one). */
  async ready (count = 1): Promise<void> {
    while (this.open + count > this.init.maxPipelined && this.failure === undefined) {
      await new Promise<void>(resolve => { this.wake = resolve })
    }
  }

  /**
   * Waits until `weight` more requests fit on the stream, takes as many
   * slots of the source (waiting for them; if the server cancels the wait,
   * this rejects and nothing is taken), then starts answering `request` in
   * its turn. `weight` is the number of puts of a batch (1 for any other
   * request), at most `maxPipelined` and the source's bound.
   *
   * @throws {RangeError} for a weight no stream or source could carry
   */
  async submit (request: StoreRequest, weight = 1): Promise<void> {
    const read = performance.now()
    if (!Number.isSafeInteger(weight) || weight < 1 || weight > this.init.maxPipelined) throw new RangeError(`a request counts as 1 to ${this.init.maxPipelined} requests, got ${weight}`)
    await this.ready(weight)
    if (this.failure !== undefined) throw this.failure
    await this.init.slots.take(this.init.source, weight)
    if (this.init.accepting?.() === false) {
      this.init.slots.give(this.init.source, weight)
      throw new Error('the server is stopping')
    }
    this.open += weight
    // Puts, single or batched, stand alone; a fetch or a delete waits for what came before it.
    const barrier = request.put == null && request.puts == null
    const after = barrier ? this.answered : this.barrier
    const answer = after.then(async () => await this.init.answer(request))
    this.answered = Promise.all([this.answered, answer])
    // An answer that rejects (a fault, not a refusal) is acted on by `done` below, which drops the stream. The combined
    // promise rejects with it, and nothing may ever wait on it (no fetch or delete comes after): a rejection with nobody
    // listening ends a Node process, so it is marked handled here, where it is made.
    this.answered.catch(() => {})
    if (barrier) this.barrier = answer
    const done = this.written.then(async () => {
      const response = await answer
      if (this.failure !== undefined) return
      await this.init.write(response)
      this.init.onWritten?.(request, response, performance.now() - read)
    }).catch((err: unknown) => {
      this.failure ??= err instanceof Error ? err : new Error(String(err))
    }).finally(() => {
      this.open -= weight
      this.init.slots.give(this.init.source, weight)
      const wake = this.wake
      this.wake = undefined
      wake?.()
    })
    this.written = done
    this.init.track(done)
  }

  /**
   * Resolves once every answer is written.
   *
   * @throws the error that stopped writing, if one did
   */
  async settled (): Promise<void> {
    await this.written
    if (this.failure !== undefined) throw this.failure
  }
}
