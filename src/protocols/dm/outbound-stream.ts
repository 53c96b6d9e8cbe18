/**
 * One outbound /starling/dm/1.0.0 stream: writes Deliver frames as they come
 * (respecting back-pressure), matches Ack frames to pending envelopes by id
 * (acks may arrive in any order), and fails everything still pending when
 * the stream breaks, so the caller can retry on a new stream.
 */
import { logger } from '@libp2p/logger'
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { MAX_ACK_FRAME_LENGTH } from './constants.js'
import { FrameDecoder, decodeAck, deferred, encodeDeliver, idKey } from './dm.js'
import { DmAbortedError, DmStreamClosedError, DmTimeoutError } from './errors.js'

const log = logger('starling:dm:client')

interface Pending {
  promise: Promise<void>
  resolve: () => void
  reject: (err: Error) => void
  timer: ReturnType<typeof setTimeout>
  /** Ack frames received on the stream when this envelope was written. */
  receivedAtSend: number
}

/** Timeouts of one outbound stream. */
export interface OutboundStreamOptions {
  ackTimeoutMs: number
  idleTimeoutMs: number
}

/** Resolves or rejects like `promise`, or rejects with DmAbortedError when `signal` aborts first. */
export async function raceSignal<T> (promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal == null) return promise
  if (signal.aborted) throw new DmAbortedError('send aborted', { cause: signal.reason })
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(new DmAbortedError('send aborted', { cause: signal.reason })) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    signal.removeEventListener('abort', onAbort as () => void)
  }
}

/** A dm stream from this node to one peer. */
export class OutboundStream {
  private readonly pending = new Map<string, Pending>()
  private readonly decoder = new FrameDecoder(MAX_ACK_FRAME_LENGTH)
  private readonly writeQueue: Uint8ArrayList[] = []
  private blocked = false
  private ended = false
  private failure?: Error
  private framesReceived = 0
  private idleTimer?: ReturnType<typeof setTimeout>
  private retiring = false

  constructor (
    readonly stream: Stream,
    /** True when the stream runs on a relayed (limited) connection. */
    readonly limited: boolean,
    private readonly options: OutboundStreamOptions,
    private readonly onGone: (s: OutboundStream) => void
  ) {
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('drain', this.onDrain)
    stream.addEventListener('remoteCloseWrite', this.onRemoteCloseWrite)
    stream.addEventListener('close', this.onClose)
    this.armIdle()
  }

  /** False once the stream is closing or broken: new sends need a new stream. */
  get usable (): boolean {
    return !this.ended && this.stream.status === 'open' && this.stream.writeStatus === 'writable'
  }

  /** Envelopes written and not yet acknowledged. */
  get inFlight (): number {
    return this.pending.size
  }

  /**
   * Writes `envelope` (whose id is `id`) and resolves on its acknowledgement.
   * An envelope with the same id already in flight is not written twice: both
   * callers wait for the one acknowledgement.
   */
  async deliver (id: Uint8Array, envelope: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (!this.usable) throw new DmStreamClosedError('dm stream closed', { cause: this.failure })
    const key = idKey(id)
    let entry = this.pending.get(key)
    if (entry == null) {
      entry = this.track(key)
      this.write(encodeDeliver(envelope))
    }
    return raceSignal(entry.promise, signal)
  }

  /**
   * Takes no new envelopes and closes once everything in flight is
   * acknowledged (a better connection to the peer has appeared).
   */
  retire (): void {
    this.retiring = true
    this.ended = true
    if (this.pending.size === 0) this.closeWrite()
  }

  /** Drops the stream; everything pending rejects with `err`. */
  abort (err: Error): void {
    this.fail(err)
    this.stream.abort(err)
  }

  private track (key: string): Pending {
    clearTimeout(this.idleTimer)
    const { promise, resolve, reject } = deferred<void>()
    // Callers that gave up (signal) leave the promise unobserved.
    promise.catch(() => {})
    const entry: Pending = {
      promise,
      resolve,
      reject,
      receivedAtSend: this.framesReceived,
      timer: setTimeout(() => { this.onAckTimeout(key, entry) }, this.options.ackTimeoutMs)
    }
    this.pending.set(key, entry)
    return entry
  }

  private write (frame: Uint8ArrayList): void {
    if (this.blocked) {
      this.writeQueue.push(frame)
      return
    }
    try {
      this.blocked = !this.stream.send(frame)
    } catch (err) {
      this.abort(new DmStreamClosedError('dm stream write failed', { cause: err }))
    }
  }

  private readonly onDrain = (): void => {
    this.blocked = false
    try {
      while (!this.blocked && this.writeQueue.length > 0) {
        this.blocked = !this.stream.send(this.writeQueue.shift() as Uint8ArrayList)
      }
    } catch (err) {
      this.abort(new DmStreamClosedError('dm stream write failed', { cause: err }))
    }
  }

  private readonly onMessage = (evt: StreamMessageEvent): void => {
    try {
      for (const body of this.decoder.decode(evt.data)) {
        this.framesReceived++
        for (const id of decodeAck(body)) this.settle(idKey(id))
      }
    } catch (err) {
      log('dropping dm stream to %s: %s', this.stream.id, (err as Error).message)
      this.abort(err as Error)
    }
  }

  private settle (key: string): void {
    const entry = this.pending.get(key)
    // Unknown ids: acknowledgements that arrive after a timeout, or repeated ones.
    if (entry == null) return
    clearTimeout(entry.timer)
    this.pending.delete(key)
    entry.resolve()
    if (this.pending.size === 0) this.whenDrained()
  }

  private whenDrained (): void {
    if (this.retiring) this.closeWrite()
    else this.armIdle()
  }

  private closeWrite (): void {
    clearTimeout(this.idleTimer)
    this.stream.close().catch((err: unknown) => { this.stream.abort(err as Error) })
  }

  private onAckTimeout (key: string, entry: Pending): void {
    if (this.pending.get(key) !== entry) return
    this.pending.delete(key)
    entry.reject(new DmTimeoutError(`no acknowledgement within ${this.options.ackTimeoutMs} ms`))
    // Nothing at all came back since this envelope was written: the peer or
    // the path is stalled, so the next send should try a new stream.
    if (this.framesReceived === entry.receivedAtSend) {
      this.abort(new DmStreamClosedError('dm stream stalled', { cause: new DmTimeoutError('no acknowledgement') }))
    } else if (this.pending.size === 0) {
      this.whenDrained()
    }
  }

  private readonly onRemoteCloseWrite = (): void => {
    // The receiver closes only when it has nothing more to acknowledge.
    this.fail(new DmStreamClosedError('receiver closed the dm stream'))
    this.stream.close().catch((err: unknown) => { this.stream.abort(err as Error) })
  }

  private readonly onClose = (evt: StreamCloseEvent): void => {
    this.fail(new DmStreamClosedError('dm stream closed', { cause: evt.error }))
    clearTimeout(this.idleTimer)
    this.onGone(this)
  }

  private fail (err: Error): void {
    this.ended = true
    this.failure ??= err
    clearTimeout(this.idleTimer)
    this.writeQueue.length = 0
    for (const entry of this.pending.values()) {
      clearTimeout(entry.timer)
      entry.reject(err)
    }
    this.pending.clear()
  }

  private armIdle (): void {
    clearTimeout(this.idleTimer)
    this.idleTimer = setTimeout(() => {
      if (this.pending.size > 0 || this.ended) return
      this.ended = true
      this.closeWrite()
    }, this.options.idleTimeoutMs)
  }
}
