/**
 * The listening side of /starling/dm/1.0.0. Each inbound stream is read as a
 * sequence of Deliver frames; every envelope goes to `onEnvelope` (several at
 * once, started in arrival order, so the messenger can group-commit) and is
 * acknowledged only once that resolves. A peer that sends anything else, or
 * whose envelope `onEnvelope` refuses, loses its stream; everyone else is
 * still served.
 */
import { logger } from '@libp2p/logger'
import type { Connection, Libp2p, PeerId, Startable, Stream, StreamMessageEvent, StreamCloseEvent } from '@libp2p/interface'
import { parseEnvelopeHeader } from '../../crypto/envelope.js'
import {
  DEFAULT_FRAME_TIMEOUT_MS,
  DEFAULT_SERVER_CONCURRENCY,
  DEFAULT_SERVER_IDLE_TIMEOUT_MS,
  DEFAULT_WRITE_TIMEOUT_MS,
  DM_PROTOCOL,
  MAX_ACK_IDS,
  MAX_DELIVER_FRAME_LENGTH,
  MAX_INBOUND_STREAMS,
  MAX_OUTBOUND_STREAMS
} from './constants.js'
import { FrameDecoder, decodeDeliver, encodeAck } from './dm.js'
import { DmNotStartedError, DmProtocolError, DmTimeoutError, isDuplicateEnvelope } from './errors.js'

const log = logger('starling:dm:server')

/**
 * Receives one envelope. Resolve once it is stored durably (the sender is
 * then acknowledged); throw DuplicateEnvelopeError if it was already stored
 * (acknowledged again); throw anything else to drop the sender's stream.
 * `id` is the envelope's readable id (already parsed); `signal` aborts when
 * the stream is gone (the acknowledgement can no longer be sent).
 */
export type OnEnvelope = (envelope: Uint8Array, from: PeerId, connection: Connection, options: OnEnvelopeOptions) => Promise<unknown>

/** What `onEnvelope` gets besides the envelope. */
export interface OnEnvelopeOptions {
  /** The envelope's readable 16-byte id, the key of its acknowledgement. */
  id: Uint8Array
  signal: AbortSignal
}

/** What the server needs of a libp2p node. */
export type DmServerComponents = Pick<Libp2p, 'handle' | 'unhandle'>

/** Server options; timeouts are shortened by tests. */
export interface DmServerInit {
  onEnvelope: OnEnvelope
  /** `onEnvelope` calls at once per stream (default DEFAULT_SERVER_CONCURRENCY). */
  concurrency?: number
  /** A begun frame must be complete within this time. */
  frameTimeoutMs?: number
  /** Acknowledgements blocked this long (peer not reading) abort the stream. */
  writeTimeoutMs?: number
  /** A stream with nothing in flight is closed after this long. */
  idleTimeoutMs?: number
  maxInboundStreams?: number
}

interface SessionOptions {
  onEnvelope: OnEnvelope
  concurrency: number
  frameTimeoutMs: number
  writeTimeoutMs: number
  idleTimeoutMs: number
}

interface Received {
  envelope: Uint8Array
  id: Uint8Array
}

/** One inbound stream: frames in, `onEnvelope`, acknowledgements out. */
class InboundSession {
  private readonly decoder = new FrameDecoder(MAX_DELIVER_FRAME_LENGTH)
  private readonly queue: Received[] = []
  private readonly unsentAcks: Uint8Array[] = []
  private readonly controller = new AbortController()
  private active = 0
  private flushScheduled = false
  private blocked = false
  private remoteDone = false
  private finishing = false
  private closed = false
  private frameTimer?: ReturnType<typeof setTimeout>
  private writeTimer?: ReturnType<typeof setTimeout>
  private idleTimer?: ReturnType<typeof setTimeout>

  constructor (
    private readonly stream: Stream,
    private readonly connection: Connection,
    private readonly options: SessionOptions,
    private readonly onClosed: (session: InboundSession) => void
  ) {
    stream.addEventListener('message', this.onMessage)
    stream.addEventListener('remoteCloseWrite', this.onRemoteCloseWrite)
    stream.addEventListener('drain', this.onDrain)
    stream.addEventListener('close', this.onClose)
    this.updateTimers()
  }

  /** Drops the stream (server stopping, protocol violation, refusal). */
  abort (err: Error): void {
    if (this.closed) return
    log('dropping dm stream from %p: %s', this.connection.remotePeer, err.message)
    this.stream.abort(err)
  }

  private readonly onMessage = (evt: StreamMessageEvent): void => {
    if (this.closed || this.finishing) return
    let frames = 0
    try {
      for (const body of this.decoder.decode(evt.data)) {
        this.accept(body)
        frames++
      }
    } catch (err) {
      this.abort(err as Error)
      return
    }
    this.armFrameTimer(frames > 0)
    this.pump()
  }

  private accept (body: Parameters<typeof decodeDeliver>[0]): void {
    const envelope = decodeDeliver(body)
    let id: Uint8Array
    try {
      id = parseEnvelopeHeader(envelope).id
    } catch (err) {
      throw new DmProtocolError('not a sealed envelope', { cause: err })
    }
    this.queue.push({ envelope, id })
  }

  private pump (): void {
    while (!this.closed && this.active < this.options.concurrency && this.queue.length > 0) {
      this.run(this.queue.shift() as Received)
    }
    if (this.closed) return
    // Stop reading while the backlog is as deep as the concurrency: yamux then
    // stops granting window, and a peer ignoring that overflows the stream's
    // read buffer and is aborted by libp2p.
    const backlog = this.queue.length + this.unsentAcks.length
    if (backlog >= this.options.concurrency && this.stream.readStatus === 'readable') {
      this.stream.pause()
    } else if (backlog < this.options.concurrency && this.stream.readStatus === 'paused') {
      this.stream.resume()
    }
    this.updateTimers()
    this.maybeFinish()
  }

  private run (item: Received): void {
    this.active++
    let result: Promise<unknown>
    try {
      result = this.options.onEnvelope(item.envelope, this.connection.remotePeer, this.connection, { id: item.id, signal: this.controller.signal })
    } catch (err) {
      result = Promise.reject(err)
    }
    Promise.resolve(result).then(
      () => { this.queueAck(item.id) },
      (err: unknown) => {
        if (isDuplicateEnvelope(err)) {
          this.queueAck(item.id)
        } else {
          this.abort(new DmProtocolError('envelope refused', { cause: err }))
        }
      }
    ).finally(() => {
      this.active--
      this.pump()
    }).catch((err: unknown) => { log.error('dm session failed: %e', err) })
  }

  private queueAck (id: Uint8Array): void {
    if (this.closed) return
    this.unsentAcks.push(id)
    // Acknowledgements completed in the same turn (one group commit) share a frame.
    if (!this.flushScheduled) {
      this.flushScheduled = true
      queueMicrotask(this.flush)
    }
  }

  private readonly flush = (): void => {
    this.flushScheduled = false
    if (this.closed) return
    try {
      while (!this.blocked && this.unsentAcks.length > 0) {
        const batch = this.unsentAcks.splice(0, MAX_ACK_IDS)
        if (!this.stream.send(encodeAck(batch))) {
          this.blocked = true
          this.writeTimer = setTimeout(() => { this.abort(new DmTimeoutError('peer stopped reading acknowledgements')) }, this.options.writeTimeoutMs)
        }
      }
    } catch (err) {
      this.abort(err as Error)
      return
    }
    this.pump()
  }

  private readonly onDrain = (): void => {
    this.blocked = false
    clearTimeout(this.writeTimer)
    this.flush()
  }

  private readonly onRemoteCloseWrite = (): void => {
    if (this.decoder.buffered > 0) {
      this.abort(new DmProtocolError(`stream ended inside a frame (${this.decoder.buffered} bytes)`))
      return
    }
    this.remoteDone = true
    this.maybeFinish()
  }

  private readonly onClose = (evt: StreamCloseEvent): void => {
    this.closed = true
    clearTimeout(this.frameTimer)
    clearTimeout(this.writeTimer)
    clearTimeout(this.idleTimer)
    this.controller.abort(evt.error ?? new DmNotStartedError('stream closed'))
    this.onClosed(this)
  }

  private get idle (): boolean {
    return this.queue.length === 0 && this.active === 0 && this.unsentAcks.length === 0 && !this.blocked && this.decoder.buffered === 0
  }

  /** Closes gracefully once the peer has finished and everything is acknowledged. */
  private maybeFinish (): void {
    if (this.remoteDone && this.idle) this.finish()
  }

  private finish (): void {
    if (this.finishing || this.closed) return
    this.finishing = true
    clearTimeout(this.idleTimer)
    clearTimeout(this.frameTimer)
    const signal = AbortSignal.timeout(this.options.writeTimeoutMs)
    this.stream.close({ signal }).catch((err: unknown) => { this.abort(err as Error) })
    // After an idle close the sender should close its side too; drop it if not.
    this.idleTimer = setTimeout(() => { this.abort(new DmTimeoutError('peer kept an idle stream half-open')) }, this.options.writeTimeoutMs)
  }

  private updateTimers (): void {
    if (this.closed || this.finishing) return
    this.armFrameTimer(false)
    clearTimeout(this.idleTimer)
    this.idleTimer = undefined
    if (this.idle) {
      this.idleTimer = setTimeout(() => { this.finish() }, this.options.idleTimeoutMs)
    }
  }

  /**
   * A partial frame must complete in time; `progress` (whole frames arrived)
   * restarts the clock for the next one, bytes alone do not (a peer dribbling
   * one byte at a time is dropped).
   */
  private armFrameTimer (progress: boolean): void {
    const waiting = this.decoder.buffered > 0 && this.stream.readStatus === 'readable'
    if (!waiting) {
      clearTimeout(this.frameTimer)
      this.frameTimer = undefined
      return
    }
    if (this.frameTimer != null && !progress) return
    clearTimeout(this.frameTimer)
    this.frameTimer = setTimeout(() => { this.abort(new DmTimeoutError('incomplete frame')) }, this.options.frameTimeoutMs)
  }
}

/**
 * Serves /starling/dm/1.0.0 on a libp2p node (relayed connections included).
 *
 * @example
 * ```ts
 * const server = new DmServer(node, { onEnvelope: async (envelope, from) => { await messenger.receive(envelope, from) } })
 * await server.start()
 * ```
 */
export class DmServer implements Startable {
  private readonly components: DmServerComponents
  private readonly options: SessionOptions
  private readonly maxInboundStreams: number
  private readonly sessions = new Set<InboundSession>()
  private started = false

  constructor (components: DmServerComponents, init: DmServerInit) {
    this.components = components
    this.options = {
      onEnvelope: init.onEnvelope,
      concurrency: init.concurrency ?? DEFAULT_SERVER_CONCURRENCY,
      frameTimeoutMs: init.frameTimeoutMs ?? DEFAULT_FRAME_TIMEOUT_MS,
      writeTimeoutMs: init.writeTimeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS,
      idleTimeoutMs: init.idleTimeoutMs ?? DEFAULT_SERVER_IDLE_TIMEOUT_MS
    }
    this.maxInboundStreams = init.maxInboundStreams ?? MAX_INBOUND_STREAMS
  }

  isStarted (): boolean {
    return this.started
  }

  /** Registers the protocol handler. */
  async start (): Promise<void> {
    if (this.started) return
    await this.components.handle(DM_PROTOCOL, this.handleStream, {
      maxInboundStreams: this.maxInboundStreams,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: true
    })
    this.started = true
  }

  /** Unregisters the handler and drops every open dm stream. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    await this.components.unhandle(DM_PROTOCOL)
    for (const session of [...this.sessions]) session.abort(new DmNotStartedError('dm server stopped'))
    this.sessions.clear()
  }

  /** Open inbound dm streams (for metrics and tests). */
  get streamCount (): number {
    return this.sessions.size
  }

  /** The libp2p stream handler; public so tests can hand it in-memory streams. */
  readonly handleStream = (stream: Stream, connection: Connection): void => {
    if (!this.started) {
      stream.abort(new DmNotStartedError('dm server stopped'))
      return
    }
    const session = new InboundSession(stream, connection, this.options, (s) => { this.sessions.delete(s) })
    if (stream.status === 'open') this.sessions.add(session)
  }
}
