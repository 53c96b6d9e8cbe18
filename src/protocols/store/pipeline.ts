/**
 * The requests of one store stream, answered several at once and written
 * back in the order they came (pipelining: a sender need not wait for each
 * receipt before handing over the next envelope, and a relay's group commit
 * gathers more envelopes per synced batch).
 *
 * Bounds: at most `maxPipelined` requests of a stream are under way, and at
 * most the {@link SourceSlots} of its source across all its streams; past
 * either, the stream reads nothing more until an answer is written, so the
 * sender's frames wait in its stream (whose read buffer is bounded). An
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
  /** Answers a request (never rejects: refusals are answers). */
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
  /** Requests read and not yet written back. */
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

  /** Requests read and not yet written back. */
  get underWay (): number {
    return this.open
  }

  /** Why writing failed, if it did. */
  get failed (): Error | undefined {
    return this.failure
  }

  /** Resolves once the stream may read another request (fewer than `maxPipelined` under way). */
  async ready (): Promise<void> {
    while (this.open >= this.init.maxPipelined && this.failure === undefined) {
      await new Promise<void>(resolve => { this.wake = resolve })
    }
  }

  /**
   * Takes a slot of the source (waiting for one; if the server cancels the
   * wait, this rejects and nothing is taken), then starts answering
   * `request` in its turn.
   */
  async submit (request: StoreRequest): Promise<void> {
    const read = performance.now()
    await this.init.slots.take(this.init.source)
    if (this.init.accepting?.() === false) {
      this.init.slots.give(this.init.source)
      throw new Error('the server is stopping')
    }
    this.open++
    const single = request.put == null
    const after = single ? this.answered : this.barrier
    const answer = after.then(async () => await this.init.answer(request))
    this.answered = Promise.all([this.answered, answer])
    if (single) this.barrier = answer
    const done = this.written.then(async () => {
      const response = await answer
      if (this.failure !== undefined) return
      await this.init.write(response)
      this.init.onWritten?.(request, response, performance.now() - read)
    }).catch((err: unknown) => {
      this.failure ??= err instanceof Error ? err : new Error(String(err))
    }).finally(() => {
      this.open--
      this.init.slots.give(this.init.source)
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
