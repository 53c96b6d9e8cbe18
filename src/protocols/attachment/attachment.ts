/**
 * The sender's side of `/starling/attachment/1.0.0`: serves encrypted chunks
 * of attachments to the peers they were sent to. The receiver writes a
 * Request (attachment id, the ranges of chunks it still needs, a window),
 * then Credit frames as it stores chunks; this side writes Chunk frames in
 * index order, never more than the credit allows, then End. A peer that is
 * not authorised, or asks for an unknown attachment, gets End NOT_FOUND and
 * nothing else (the two are not told apart).
 */
import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import type { LengthPrefixedStream } from '@libp2p/utils'
import type { Connection, PeerId, Startable, Stream, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import {
  FRAME_TIMEOUT_MS, MAX_CLIENT_FRAME_BYTES, MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS, MAX_RANGES, MAX_WINDOW,
  PROTOCOL, RUN_ON_LIMITED_CONNECTION
} from './constants.js'
import { CreditGate } from './credit.js'
import { InactivityTimer } from './inactivity.js'
import { AttachmentProtocolError } from './errors.js'
import { ClientFrame, EndStatus, ServerFrame } from './pb/attachment.js'
import { checkRanges, rangeIndices } from './ranges.js'
import type { ChunkRange } from './ranges.js'

const log = logger('starling:attachment')

/** Length of an attachment id on the wire. */
const ATTACHMENT_ID_BYTES = 16

/** Where the sender's chunk ciphertexts come from. */
export interface AttachmentChunkSource {
  /** Ciphertext of chunk `index`, or undefined when this node does not have it. */
  read(attachmentId: Uint8Array, index: number, options: { signal: AbortSignal }): Promise<Uint8Array | undefined>
}

/** Whether `remotePeer` may fetch the attachment (it was sent to them); false for unknown ids too. */
export type AuthoriseAttachment = (attachmentId: Uint8Array, remotePeer: PeerId) => boolean | Promise<boolean>

/** Options of {@link attachmentProtocol}. */
export interface AttachmentProtocolInit {
  authorise: AuthoriseAttachment
  source: AttachmentChunkSource
  /** Default {@link FRAME_TIMEOUT_MS}. */
  frameTimeoutMs?: number
  /** Default {@link MAX_WINDOW}. */
  maxWindow?: number
  maxInboundStreams?: number
  maxOutboundStreams?: number
  /** Default false ({@link RUN_ON_LIMITED_CONNECTION}): attachments do not cross relays this way. */
  runOnLimitedConnection?: boolean
}

/** What the service needs from libp2p. */
export interface AttachmentProtocolComponents {
  registrar: {
    handle(protocol: string, handler: StreamHandler, options?: StreamHandlerOptions): Promise<void>
    unhandle(protocol: string): Promise<void>
  }
}

/** Events a test or a metrics collector may watch. */
export interface AttachmentServeEvents {
  /** A request was accepted: peer, id, ranges. */
  onRequest?(remotePeer: PeerId, attachmentId: Uint8Array, ranges: readonly ChunkRange[]): void
}

/** The attachment service on a node. */
export class AttachmentProtocol implements Startable {
  readonly protocol = PROTOCOL
  private readonly components: AttachmentProtocolComponents
  private readonly init: AttachmentProtocolInit & AttachmentServeEvents
  private readonly frameTimeoutMs: number
  private readonly maxWindow: number
  private readonly runOnLimitedConnection: boolean
  private started = false

  constructor (components: AttachmentProtocolComponents, init: AttachmentProtocolInit & AttachmentServeEvents) {
    this.components = components
    this.init = init
    this.frameTimeoutMs = init.frameTimeoutMs ?? FRAME_TIMEOUT_MS
    this.maxWindow = init.maxWindow ?? MAX_WINDOW
    this.runOnLimitedConnection = init.runOnLimitedConnection ?? RUN_ON_LIMITED_CONNECTION
    this.handle = this.handle.bind(this)
  }

  readonly [Symbol.toStringTag] = '@starling/attachment'

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, this.handle, {
      maxInboundStreams: this.init.maxInboundStreams ?? MAX_INBOUND_STREAMS,
      maxOutboundStreams: this.init.maxOutboundStreams ?? MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: this.runOnLimitedConnection
    })
    this.started = true
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(this.protocol)
    this.started = false
  }

  isStarted (): boolean {
    return this.started
  }

  /** Serves one stream; never throws (a misbehaving peer loses its stream). */
  async handle (stream: Stream, connection: Connection): Promise<void> {
    const done = new AbortController()
    const timer = new InactivityTimer(this.frameTimeoutMs, done.signal)
    try {
      await this.serve(stream, connection.remotePeer, timer)
    } catch (err) {
      log('stream from %p aborted: %s', connection.remotePeer, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      done.abort()
      timer.clear()
    }
  }

  private async serve (stream: Stream, remotePeer: PeerId, timer: InactivityTimer): Promise<void> {
    const signal = timer.signal
    const lp = lpStream(stream, { maxDataLength: MAX_CLIENT_FRAME_BYTES })
    const first = ClientFrame.decode(await lp.read({ signal }), { limits: { request: { ranges: MAX_RANGES } } })
    timer.touch()
    const request = first.request
    if (request == null) throw new AttachmentProtocolError('first frame is not a request')
    if (request.attachmentId.length !== ATTACHMENT_ID_BYTES) throw new AttachmentProtocolError('bad attachment id')
    checkRanges(request.ranges)
    if (!(await this.init.authorise(request.attachmentId, remotePeer))) {
      log('refused %p', remotePeer)
      await this.end(lp, stream, EndStatus.END_STATUS_NOT_FOUND, signal)
      return
    }
    this.init.onRequest?.(remotePeer, request.attachmentId, request.ranges)
    const credit = new CreditGate(Math.max(1, request.window), this.maxWindow)
    void this.readCredits(lp, credit, timer)
    let status = EndStatus.END_STATUS_OK
    for (const index of rangeIndices(request.ranges)) {
      await credit.take(signal)
      const ciphertext = await this.init.source.read(request.attachmentId, index, { signal })
      if (ciphertext === undefined) {
        status = EndStatus.END_STATUS_UNAVAILABLE
        break
      }
      await lp.write(ServerFrame.encode({ chunk: { index, ciphertext: ciphertext as Uint8Array<ArrayBuffer> } }), { signal })
      timer.touch()
    }
    await this.end(lp, stream, status, signal)
  }

  private async end (lp: LengthPrefixedStream, stream: Stream, status: EndStatus, signal: AbortSignal): Promise<void> {
    await lp.write(ServerFrame.encode({ end: { status } }), { signal })
    await stream.close({ signal })
  }

  /** Reads Credit frames until the stream ends; a broken frame fails the gate. */
  private async readCredits (lp: LengthPrefixedStream, credit: CreditGate, timer: InactivityTimer): Promise<void> {
    try {
      while (true) {
        const frame = ClientFrame.decode(await lp.read({ signal: timer.signal }), { limits: { request: { ranges: 0 } } })
        if (frame.credit == null) throw new AttachmentProtocolError('expected a credit frame')
        timer.touch()
        credit.add(frame.credit.chunks)
      }
    } catch (err) {
      credit.fail(err as Error)
    }
  }
}

/**
 * The attachment service, for `services` of a libp2p node.
 *
 * @example
 * ```ts
 * services: { attachment: attachmentProtocol({ authorise: (id, peer) => sentTo(id, peer), source: blobStoreSource(crypto, store, lookup) }) }
 * ```
 */
export function attachmentProtocol (init: AttachmentProtocolInit & AttachmentServeEvents): (components: AttachmentProtocolComponents) => AttachmentProtocol {
  return (components) => new AttachmentProtocol(components, init)
}
