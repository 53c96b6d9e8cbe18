/**
 * The initiator's end of a `/starling/relay-sync/1.0.0` stream: one
 * request at a time, each answer read within a deadline, size-limited and
 * decoded with limits on every list, and counted (requests, bytes) for the
 * exchange's budget.
 */
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import {
  MAX_EXPAND_PATHS, MAX_FETCH_KEYS, MAX_LIST_ITEMS, MAX_RESPONSE_FRAME_LENGTH, REQUEST_TIMEOUT_MS, SHARDS
} from './constants.js'
import { SyncProtocolError, SyncRefusedError } from './errors.js'
import { SyncRequest, SyncResponse } from './pb/relay-sync.js'

/** What a channel carried so far. */
export interface ChannelStats {
  requests: number
  bytesIn: number
  bytesOut: number
}

/** Requests and their answers, one at a time. */
export interface SyncChannel {
  /**
   * Sends a request and resolves to its OK answer.
   *
   * @throws {SyncRefusedError} when the responder answered BUSY (try later)
   * @throws {SyncProtocolError} for any other status, a frame too long or undecodable
   */
  request(request: SyncRequest): Promise<SyncResponse>
  readonly stats: ChannelStats
}

/** Decode limits of an answer: nothing longer than a request may ask for. */
export const RESPONSE_LIMITS = {
  roots: SHARDS,
  expansions: MAX_EXPAND_PATHS,
  expansions$: { children: 16 },
  items: MAX_LIST_ITEMS,
  envelopes: MAX_FETCH_KEYS,
  deletes: MAX_FETCH_KEYS
}

/**
 * An AbortSignal that fires after `ms` (on setTimeout, so fake timers
 * drive it) or when `parent` does; `clear` stops the timer.
 */
export function deadline (ms: number, parent?: AbortSignal): { signal: AbortSignal, clear(): void } {
  const controller = new AbortController()
  const timer = setTimeout(() => { controller.abort(new DOMException(`no answer within ${ms} ms`, 'TimeoutError')) }, ms)
  const signal = parent == null ? controller.signal : AbortSignal.any([parent, controller.signal])
  return { signal, clear: () => { clearTimeout(timer) } }
}

/** Options of a {@link StreamChannel}. */
export interface StreamChannelInit {
  /** Each answer must arrive within this (default {@link REQUEST_TIMEOUT_MS}). */
  requestTimeoutMs?: number
  /** Aborts a request in flight (the exchange's deadline, the relay stopping). */
  signal?: AbortSignal
}

/** A {@link SyncChannel} over a libp2p stream. */
export class StreamChannel implements SyncChannel {
  readonly stats: ChannelStats = { requests: 0, bytesIn: 0, bytesOut: 0 }
  private readonly lp
  private readonly requestTimeoutMs: number
  private readonly signal?: AbortSignal

  constructor (stream: Stream, init: StreamChannelInit = {}) {
    this.lp = lpStream(stream, { maxDataLength: MAX_RESPONSE_FRAME_LENGTH })
    this.requestTimeoutMs = init.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
    this.signal = init.signal
  }

  async request (request: SyncRequest): Promise<SyncResponse> {
    const bytes = SyncRequest.encode(request)
    const timer = deadline(this.requestTimeoutMs, this.signal)
    let frame
    try {
      await this.lp.write(bytes, { signal: timer.signal })
      this.stats.requests++
      this.stats.bytesOut += bytes.length
      frame = await this.lp.read({ signal: timer.signal })
    } catch (err) {
      if (['InvalidDataLengthError', 'InvalidMessageLengthError'].includes((err as Error).name)) throw new SyncProtocolError(`an answer over ${MAX_RESPONSE_FRAME_LENGTH} bytes`)
      throw err
    } finally {
      timer.clear()
    }
    this.stats.bytesIn += frame.byteLength
    let response: SyncResponse
    try {
      response = SyncResponse.decode(frame, { limits: RESPONSE_LIMITS })
    } catch (err) {
      throw new SyncProtocolError(`an answer that does not decode: ${(err as Error).message}`)
    }
    if (response.status === SyncResponse.Status.BUSY) throw new SyncRefusedError(`the relay is busy: ${response.message}`)
    if (response.status !== SyncResponse.Status.OK) throw new SyncProtocolError(`the relay refused (${response.status}): ${response.message}`)
    return response
  }
}
