/**
 * The signalling channel of a call placed before its stream is open
 * (issue 12: the caller makes its connection and offer while the stream to
 * the callee opens, up to ~15-30 ms of press-to-ring). Nothing can leave
 * before the stream exists: a frame sent before then is dropped (the only
 * one a caller sends so early is a hang-up, with nobody to tell), and the
 * ring waits for {@link PendingChannel.opened}. A stream that opens after
 * the call ended is closed at once; none opening ends the call (the session
 * hears `onClose` with why), so that the host's media for it is let go as
 * for any other end.
 */
import type { ChannelHandlers, SignalChannel } from './channel.js'
import type { Signal } from './wire.js'

/** What a call needs of its signalling channel. */
export type CallChannel = Pick<SignalChannel, 'attach' | 'send' | 'close'> & {
  /** Resolves when frames can be sent (at once for an open stream); rejects when none will open. */
  readonly opened?: Promise<void>
}

/** A channel whose stream is still opening. */
export class PendingChannel implements CallChannel {
  readonly opened: Promise<void>
  private channel?: SignalChannel
  private handlers?: ChannelHandlers
  private closed = false
  private failed?: Error
  private settle!: { resolve: () => void, reject: (err: Error) => void }

  constructor () {
    this.opened = new Promise<void>((resolve, reject) => { this.settle = { resolve, reject } })
    // Whoever awaits it gets the rejection; this keeps an unawaited one from being reported as unhandled.
    this.opened.catch(() => {})
  }

  /** The stream opened: frames go on it from now on (closed at once if the call is already over). */
  open (channel: SignalChannel): void {
    if (this.channel != null || this.failed != null) {
      channel.close()
      return
    }
    this.channel = channel
    if (this.closed) {
      channel.close()
    } else if (this.handlers != null) {
      channel.attach(this.handlers)
    }
    this.settle.resolve()
  }

  /** No stream will open: the call hears it as its stream gone, with `err`. */
  fail (err: Error): void {
    if (this.channel != null || this.failed != null) return
    this.failed = err
    this.settle.reject(err)
    if (!this.closed) this.handlers?.onClose(err)
  }

  attach (handlers: ChannelHandlers): void {
    this.handlers = handlers
    if (this.channel != null) this.channel.attach(handlers)
    else if (this.failed != null) handlers.onClose(this.failed)
  }

  send (callId: Uint8Array, signal: Signal): boolean {
    return this.channel?.send(callId, signal) ?? false
  }

  close (): void {
    this.closed = true
    this.channel?.close()
  }
}
