/**
 * One call's signalling stream: frames in (decoded, bounded, each begun
 * frame complete in time), frames out. A malformed frame aborts the stream
 * and reports why; the node goes on.
 */
import { logger } from '@libp2p/logger'
import { StreamResetError } from '@libp2p/interface'
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface'
import { FRAME_TIMEOUT_MS, MAX_FRAMES_PER_CALL } from './constants.js'
import { CallBudgetError, CallProtocolError } from './errors.js'
import { CallFrameDecoder, encodeCallFrame } from './wire.js'
import type { CallMessage, Signal } from './wire.js'

const log = logger('starling:calls:channel')

/** Stream states after which no event comes. */
const GONE = new Set<string>(['closed', 'aborted', 'reset'])

/** What a channel tells its owner. */
export interface ChannelHandlers {
  /** A decoded frame; throwing aborts the stream with that error. */
  onMessage(message: CallMessage): void
  /** The stream is gone; `err` is why, when it was not a clean close. */
  onClose(err?: Error): void
}

/** A signalling stream of one call. */
export class SignalChannel {
  private readonly decoder = new CallFrameDecoder()
  private handlers?: ChannelHandlers
  private pending: CallMessage[] = []
  private frames = 0
  private frameTimer?: ReturnType<typeof setTimeout>
  private closed = false
  private abortedWith?: Error

  constructor (private readonly stream: Stream, private readonly frameTimeoutMs = FRAME_TIMEOUT_MS) {
    stream.addEventListener('message', this.onData)
    stream.addEventListener('close', this.onStreamClose)
    stream.addEventListener('remoteCloseWrite', this.onRemoteCloseWrite)
    // Gone before we listened (the callee reset or closed it as it opened, read in the batch that opened it): its
    // events are past, and the call would ring out. Checked after the frames that arrived before (libp2p hands
    // them to the message listener in a microtask queued above), so that what was said is heard first.
    queueMicrotask(() => {
      if (GONE.has(stream.status)) this.closedWith(stream.status === 'reset' ? new StreamResetError('the call stream was reset as it opened') : undefined)
      else if (stream.remoteWriteStatus === 'closed') this.onRemoteCloseWrite()
    })
  }

  /** Where frames go from now on; frames that arrived before are handed over first. */
  attach (handlers: ChannelHandlers): void {
    this.handlers = handlers
    const pending = this.pending
    this.pending = []
    for (const message of pending) this.deliver(message)
    if (this.closed) handlers.onClose(this.abortedWith)
  }

  /** Frames wait in order until the next {@link attach} (while the service checks who rings). */
  hold (): void {
    this.handlers = undefined
  }

  /** Writes one frame; false when the stream is gone. */
  send (callId: Uint8Array, signal: Signal): boolean {
    if (this.closed || this.stream.writeStatus !== 'writable') return false
    try {
      // Frames are few and small (bounded per call); the stream buffers them.
      this.stream.send(encodeCallFrame(callId, signal))
      return true
    } catch (err) {
      log('send failed: %s', (err as Error).message)
      return false
    }
  }

  /** Closes the stream once what was written is out. */
  close (): void {
    if (this.closed) return
    this.stream.close({ signal: AbortSignal.timeout(this.frameTimeoutMs) }).catch((err: unknown) => { this.abort(err as Error) })
  }

  /** Drops the stream at once. */
  abort (err: Error): void {
    if (this.closed) return
    log('dropping call stream: %s', err.message)
    this.abortedWith = err
    this.stream.abort(err)
  }

  private readonly onData = (evt: StreamMessageEvent): void => {
    if (this.closed) return
    let progress = false
    try {
      for (const message of this.decoder.decode(evt.data)) {
        progress = true
        if (++this.frames > MAX_FRAMES_PER_CALL) throw new CallBudgetError(`more than ${MAX_FRAMES_PER_CALL} frames on one call`)
        if (this.handlers == null) {
          this.pending.push(message)
        } else {
          this.deliver(message)
        }
        if (this.closed) return
      }
    } catch (err) {
      this.abort(err instanceof Error ? err : new CallProtocolError(String(err)))
      return
    }
    this.armFrameTimer(progress)
  }

  private deliver (message: CallMessage): void {
    try {
      this.handlers?.onMessage(message)
    } catch (err) {
      this.abort(err as Error)
    }
  }

  /** A begun frame must complete in time; whole frames restart the clock, single bytes do not. */
  private armFrameTimer (progress: boolean): void {
    if (this.decoder.buffered === 0) {
      clearTimeout(this.frameTimer)
      this.frameTimer = undefined
      return
    }
    if (this.frameTimer != null && !progress) return
    clearTimeout(this.frameTimer)
    this.frameTimer = setTimeout(() => { this.abort(new CallProtocolError('incomplete frame')) }, this.frameTimeoutMs)
  }

  private readonly onRemoteCloseWrite = (): void => {
    if (this.decoder.buffered > 0) {
      this.abort(new CallProtocolError('stream ended inside a frame'))
      return
    }
    // The other side is done with this call: so are we.
    this.close()
  }

  private readonly onStreamClose = (evt: StreamCloseEvent): void => {
    this.closedWith(evt.error)
  }

  private closedWith (err?: Error): void {
    if (this.closed) return
    this.closed = true
    clearTimeout(this.frameTimer)
    this.handlers?.onClose(this.abortedWith ?? err)
  }
}
