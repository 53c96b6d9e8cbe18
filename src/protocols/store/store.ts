/**
 * The relay side of `/starling/store/3.0.0`: one loop per stream reads
 * length-prefixed requests and answers each in order on the same stream
 * (put → custody receipt, fetch → a page, delete → a count). Policy lives
 * here (sizes, owner signatures, rate limits per source: an address, not a
 * peer id, since peer ids cost nothing); keeping the envelopes, and the
 * storage budgets per source, is the {@link StoreBackend}'s job.
 *
 * A frame that is too long or does not decode costs the sender its stream;
 * a well-formed request that is refused gets a status and the stream stays.
 *
 * A batch of puts (`puts`) is answered as its puts would be one by one:
 * each takes its own rate token and goes through the same checks and the
 * same group commit, and counts as one request against the bounds per
 * stream and per source (pipeline.ts; a relay with lower bounds than a
 * batch works through it a part at a time); the answer, one result per put
 * in order, is written once every put is stored durably or refused.
 */
import { logger } from '@libp2p/logger'
import { sha256 } from '@noble/hashes/sha2.js'
import { lpStream } from '@libp2p/utils'
import type { Uint8ArrayList } from 'uint8arraylist'
import type { Connection, Startable, Stream } from '@libp2p/interface'
import { InvalidMessageError } from '../../crypto/errors.js'
import { parseEnvelopeHeader } from '../../crypto/envelope.js'
import {
  AUTH_FRESHNESS_MS, DEFAULT_FETCH_LIMIT, IDLE_TIMEOUT_MS, MAX_DELETE_REFS, MAX_FETCH_LIMIT, MAX_INBOUND_STREAMS, MAX_IN_FLIGHT_PER_SOURCE,
  MAX_OUTBOUND_STREAMS, MAX_PIPELINED_REQUESTS, MAX_PAGE_BYTES, MAX_PUT_BATCH, MAX_REQUEST_FRAME_LENGTH, MAX_STORED_ENVELOPE_LENGTH, STORE_PROTOCOL, WRITE_TIMEOUT_MS
} from './constants.js'
import { connectionSource } from '../../net/source.js'
import { DeletedByOwnerError, EnvelopeTooLargeError, InvalidStoreRequestError, QuotaExceededError, UnauthorizedError } from './errors.js'
import { checkMailbox } from './mailbox.js'
import { StoreRequest, StoreResponse } from './pb/store.js'
import type { DeleteRequest, FetchRequest, OwnerAuth, PutBatch, PutRequest } from './pb/store.js'
import type { StoreBackend } from './backend.js'
import { wire } from './wire.js'
import { QUOTA_ON_WIRE, isStored, ok, opOf, putResult, refusal } from './responses.js'
import { PeerRateLimiter } from './rate-limit.js'
import { SourceSlots } from './in-flight.js'
import { StreamPipeline } from './pipeline.js'
import { AuthOp, ReceiptSigner, deleteBody, fetchBody, verifyOwnerAuth } from './signing.js'
import type { ReceiptItem } from './signing.js'

const log = logger('starling:store:server')

export type { EnvelopeRef, MailboxPage, PutOutcome, PutSource, SignedDelete, StoreBackend, StoredEnvelopeEntry } from './backend.js'

import type { StoreOp, StoreServerComponents, StoreServerInit, StoreServerMetrics } from './server-options.js'
export type { StoreOp, StoreServerComponents, StoreServerInit, StoreServerMetrics } from './server-options.js'

/** Serves `/starling/store/3.0.0`. */
export class StoreServer implements Startable {
  readonly protocol = STORE_PROTOCOL
  readonly metrics: StoreServerMetrics = {
    requests: { put: 0, fetch: 0, delete: 0 },
    batches: 0,
    batchedPuts: 0,
    rejected: { badRequest: 0, tooLarge: 0, quota: 0, rateLimited: 0, unauthorized: 0, internal: 0 },
    droppedStreams: 0
  }

  private readonly components: StoreServerComponents
  private readonly backend: StoreBackend
  private readonly now: () => number
  private readonly authFreshnessMs: number
  private readonly idleTimeoutMs: number
  private readonly maxInboundStreams: number
  private readonly maxOutboundStreams: number
  private readonly limiter: PeerRateLimiter
  private readonly onRequest: StoreServerInit['onRequest']
  private readonly signer: ReceiptSigner
  /** Requests read and not yet answered on the wire: a drain waits for them. */
  private readonly inFlight = new Set<Promise<unknown>>()
  /** The reads of streams waiting for their next request: a drain aborts them. */
  private readonly waiting = new Set<AbortController>()
  private readonly slots: SourceSlots
  private readonly maxPipelined: number
  /**
   * Most puts of one batch under way at once here: no more than one stream
   * or one source may have. A batch of up to {@link MAX_PUT_BATCH} is
   * worked through this many at a time, so a relay with lower bounds still
   * takes what every client sends.
   */
  private readonly maxAtOnce: number
  private draining = false
  private started = false

  constructor (components: StoreServerComponents, init: StoreServerInit) {
    this.components = components
    this.backend = init.backend
    this.now = init.now ?? Date.now
    this.authFreshnessMs = init.authFreshnessMs ?? AUTH_FRESHNESS_MS
    this.idleTimeoutMs = init.idleTimeoutMs ?? IDLE_TIMEOUT_MS
    this.maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
    this.maxOutboundStreams = init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS
    this.limiter = new PeerRateLimiter({ ...init.rateLimit, now: this.now })
    this.onRequest = init.onRequest
    this.signer = new ReceiptSigner(components.privateKey, init.ed25519)
    this.maxPipelined = init.maxPipelined ?? MAX_PIPELINED_REQUESTS
    this.slots = new SourceSlots(init.maxInFlightPerSource ?? MAX_IN_FLIGHT_PER_SOURCE)
    this.maxAtOnce = Math.min(MAX_PUT_BATCH, this.maxPipelined, this.slots.limit)
    this.handleStream = this.handleStream.bind(this)
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, this.handleStream, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: this.maxOutboundStreams,
      runOnLimitedConnection: true
    })
    this.started = true
  }

  async stop (): Promise<void> {
    await this.drain()
  }

  /**
   * Stops taking requests and resolves once every request already read is
   * answered (stored durably, its response written): a graceful shutdown
   * loses no receipt it could still send. Streams waiting for a request are
   * closed. Safe to call more than once.
   */
  async drain (): Promise<void> {
    if (this.started) {
      this.started = false
      this.draining = true
      for (const read of this.waiting) read.abort(new Error('the relay is stopping'))
      // Requests waiting for a slot of their source give up: they were never taken, so never answered.
      this.slots.cancelWaiting(new Error('the relay is stopping'))
      await this.components.registrar.unhandle(this.protocol)
    }
    await Promise.allSettled([...this.inFlight])
  }

  isStarted (): boolean {
    return this.started
  }

  /**
   * The stream loop: reads requests and answers them, several at once and
   * written back in order (pipeline.ts: bounded per stream and per source),
   * until EOF, idle timeout or garbage.
   */
  async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    const source = connectionSource(connection)
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_FRAME_LENGTH, maxBufferSize: 2 * MAX_REQUEST_FRAME_LENGTH })
    const pipeline = new StreamPipeline({
      maxPipelined: this.maxPipelined,
      slots: this.slots,
      source,
      answer: async (request) => await this.answer(request, source),
      write: async (response) => { await lp.write(StoreResponse.encode(response), { signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) }) },
      onWritten: (request, response, ms) => { this.observe(request, response, ms) },
      track: (done) => {
        this.inFlight.add(done)
        void done.finally(() => { this.inFlight.delete(done) })
      },
      accepting: () => this.started
    })
    try {
      while (this.started) {
        await pipeline.ready()
        if (pipeline.failed !== undefined || !this.started) break
        let frame
        try {
          frame = await this.nextFrame(lp, pipeline)
        } catch (err) {
          // EOF, or the server drains while this stream waits between requests: close it cleanly.
          if ((err as Error).name === 'UnexpectedEOFError' || this.draining) break
          throw err
        }
        // A drain began while the frame was read: it is not taken (never answered), or it would be answered after drain() resolved.
        if (!this.started) break
        const request = StoreRequest.decode(frame, { limits: { delete: { refs: MAX_DELETE_REFS }, puts: { puts: MAX_PUT_BATCH } } })
        try {
          await pipeline.submit(request, this.weightOf(request))
        } catch (err) {
          // The server drains while this request waited for a slot of its source (or got it after): it was never taken, so never answered.
          if (this.draining) break
          throw err
        }
      }
      await pipeline.settled()
      await stream.close({ signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) })
    } catch (err) {
      this.metrics.droppedStreams++
      log('dropping store stream from %s: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    }
  }

  /**
   * The next request frame, within the idle timeout (which waits on while
   * the stream's earlier requests are under way); a drain aborts the wait.
   * One controller per read, no AbortSignal.any: a signal that lives as
   * long as the server would collect a dependent per request.
   */
  private async nextFrame (lp: { read(options: { signal: AbortSignal }): Promise<Uint8ArrayList> }, pipeline: Pick<StreamPipeline, 'underWay'>): Promise<Uint8ArrayList> {
    const read = new AbortController()
    const idle = (): ReturnType<typeof setTimeout> => setTimeout(() => {
      if (pipeline.underWay > 0) timer = idle()
      else read.abort(new Error(`no request within ${this.idleTimeoutMs} ms`))
    }, this.idleTimeoutMs)
    let timer = idle()
    this.waiting.add(read)
    try {
      return await lp.read({ signal: read.signal })
    } finally {
      clearTimeout(timer)
      this.waiting.delete(read)
    }
  }

  /** How many requests `request` counts as: a batch the puts it has under way at once (one it will refuse: 1). */
  private weightOf (request: StoreRequest): number {
    const puts = request.puts?.puts.length ?? 0
    return puts >= 1 && puts <= MAX_PUT_BATCH ? Math.min(puts, this.maxAtOnce) : 1
  }

  /** The operator's latency observation: one per put of a batch, each with its own status. */
  private observe (request: StoreRequest, response: StoreResponse, ms: number): void {
    if (response.results.length === 0) this.report(opOf(request), ms, String(response.status))
    for (const result of response.results) this.report('put', ms, String(result.status))
  }

  /** One observation; metrics are not the service: a callback that throws is logged, and the stream goes on. */
  private report (op: StoreOp, ms: number, status: string): void {
    try {
      this.onRequest?.(op, ms, status)
    } catch (err) {
      log.error('the latency callback failed: %s', (err as Error).message)
    }
  }

  /** Answers `request`; never rejects: a fault of the store or of this code is refused as an internal error. */
  private async answer (request: StoreRequest, source: string): Promise<StoreResponse> {
    try {
      return await this.route(request, source)
    } catch (err) {
      return this.refuse(err)
    }
  }

  private async route (request: StoreRequest, source: string): Promise<StoreResponse> {
    const set = [request.put, request.fetch, request.delete, request.puts].filter(r => r != null).length
    if (set !== 1) {
      this.metrics.rejected.badRequest++
      return refusal(StoreResponse.Status.BAD_REQUEST, 'a request sets exactly one of put, fetch, delete, puts')
    }
    if (request.puts != null) return await this.putBatch(request.puts, source)
    if (request.put != null) {
      const outcome = await this.putOne(request.put, source)
      return isStored(outcome) ? ok({ receipt: await this.signer.sign(outcome.subject, outcome.storedAt, outcome.expiresAt) }) : outcome
    }
    if (!this.limiter.take(source)) {
      this.metrics.rejected.rateLimited++
      return refusal(StoreResponse.Status.RATE_LIMITED, 'too many requests')
    }
    try {
      if (request.fetch != null) return await this.fetch(request.fetch)
      return await this.delete(request.delete as DeleteRequest)
    } catch (err) {
      return this.refuse(err)
    }
  }

  /**
   * Answers each put of a batch as if it came alone (its own rate token,
   * taken in order; its own checks and quotas; the same group commit) and
   * resolves once every one is stored durably or refused: the answer is a
   * promise for each envelope it receipts. The frame's length bounds the
   * bytes (a longer frame never decodes), the decoder the count. A relay
   * whose bounds are lower than the batch works through it
   * {@link maxAtOnce} puts at a time (its weight in pipeline.ts): refusing
   * it would leave the client nothing to do but send the puts one by one.
   */
  private async putBatch (batch: PutBatch, source: string): Promise<StoreResponse> {
    const { puts } = batch
    this.metrics.batches++
    this.metrics.batchedPuts += puts.length
    if (puts.length === 0 || puts.length > MAX_PUT_BATCH) {
      this.metrics.rejected.badRequest++
      return refusal(StoreResponse.Status.BAD_REQUEST, `a batch holds 1 to ${MAX_PUT_BATCH} puts, got ${puts.length}`)
    }
    const outcomes: Array<StoreResponse | ReceiptItem> = []
    for (let at = 0; at < puts.length; at += this.maxAtOnce) {
      const part = puts.slice(at, at + this.maxAtOnce)
      outcomes.push(...await Promise.all(part.map(async put => await this.putOne(put, source))))
    }
    const stored = outcomes.filter(isStored)
    // Tree receipts: one signature for the batch; else each receipt its own (what a client that did not ask reads).
    const receipts = batch.treeReceipts && stored.length > 0 ? await this.signer.signTree(stored) : await Promise.all(stored.map(async s => await this.signer.sign(s.subject, s.storedAt, s.expiresAt)))
    let next = 0
    return ok({ results: outcomes.map(o => putResult(isStored(o) ? ok({ receipt: receipts[next++] }) : o)) })
  }

  /** One put, rate token included: what was stored (its receipt not yet signed) or the refusal (never throws). */
  private async putOne (request: PutRequest, source: string): Promise<StoreResponse | ReceiptItem> {
    if (!this.limiter.take(source)) {
      this.metrics.rejected.rateLimited++
      return refusal(StoreResponse.Status.RATE_LIMITED, 'too many requests')
    }
    try {
      return await this.put(request, source)
    } catch (err) {
      return this.refuse(err)
    }
  }

  /** The refusal for `err`, whatever was thrown (a store may reject with no Error at all: reading its message must not throw). */
  private refuse (err: unknown): StoreResponse {
    if (err instanceof QuotaExceededError) {
      this.metrics.rejected.quota++
      return refusal(StoreResponse.Status.QUOTA_EXCEEDED, err.message, QUOTA_ON_WIRE[err.quota])
    }
    if (err instanceof UnauthorizedError) {
      this.metrics.rejected.unauthorized++
      return refusal(StoreResponse.Status.UNAUTHORIZED, err.message)
    }
    if (err instanceof EnvelopeTooLargeError) {
      this.metrics.rejected.tooLarge++
      return refusal(StoreResponse.Status.TOO_LARGE, err.message)
    }
    if (err instanceof InvalidStoreRequestError || err instanceof InvalidMessageError || err instanceof DeletedByOwnerError) {
      this.metrics.rejected.badRequest++
      return refusal(StoreResponse.Status.BAD_REQUEST, err.message)
    }
    this.metrics.rejected.internal++
    log.error('store request failed: %e', err)
    return refusal(StoreResponse.Status.INTERNAL_ERROR, 'the relay could not complete the request')
  }

  private async put (request: PutRequest, source: string): Promise<ReceiptItem> {
    this.metrics.requests.put++
    checkMailbox(request.mailbox)
    if (request.envelope.length > MAX_STORED_ENVELOPE_LENGTH) {
      throw new EnvelopeTooLargeError(`envelope of ${request.envelope.length} bytes is over ${MAX_STORED_ENVELOPE_LENGTH}`)
    }
    const { id } = parseEnvelopeHeader(request.envelope)
    const outcome = await this.backend.put(request.mailbox, id, request.envelope, { source })
    // The receipt names the bytes held: the backend keeps each version of an id under its own hash.
    return { subject: { mailbox: request.mailbox, envelopeId: id, hash: outcome.hash ?? sha256(request.envelope) }, storedAt: outcome.storedAt, expiresAt: outcome.expiresAt }
  }

  private async fetch (request: FetchRequest): Promise<StoreResponse> {
    this.metrics.requests.fetch++
    checkMailbox(request.mailbox)
    await verifyOwnerAuth(request.auth, {
      op: AuthOp.fetch,
      mailbox: request.mailbox,
      relay: this.components.peerId,
      body: fetchBody(request.after, request.limit),
      now: this.now(),
      freshnessMs: this.authFreshnessMs
    })
    const limit = request.limit === 0 ? DEFAULT_FETCH_LIMIT : Math.min(request.limit, MAX_FETCH_LIMIT)
    const after = request.after.length === 0 ? undefined : request.after
    const page = await this.backend.fetch(request.mailbox, after, limit, MAX_PAGE_BYTES)
    return ok({
      envelopes: page.envelopes.map(e => ({ id: wire(e.id), envelope: wire(e.envelope), storedAt: BigInt(e.storedAt) })),
      cursor: wire(page.cursor),
      more: page.more
    })
  }

  private async delete (request: DeleteRequest): Promise<StoreResponse> {
    this.metrics.requests.delete++
    checkMailbox(request.mailbox)
    if (request.refs.length === 0) throw new InvalidStoreRequestError('a delete names at least one envelope')
    // deleteBody checks every id and hash length.
    const body = deleteBody(request.refs)
    await verifyOwnerAuth(request.auth, {
      op: AuthOp.delete,
      mailbox: request.mailbox,
      relay: this.components.peerId,
      body,
      now: this.now(),
      freshnessMs: this.authFreshnessMs
    })
    const deleted = await this.backend.delete({
      mailbox: request.mailbox,
      refs: request.refs,
      auth: request.auth as OwnerAuth,
      relay: this.components.peerId.toMultihash().bytes
    })
    return ok({ deleted })
  }
}
