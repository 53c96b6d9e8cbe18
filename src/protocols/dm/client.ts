/**
 * The sending side of /starling/dm/1.0.0: one long-lived stream per peer,
 * many envelopes in flight on it (a bounded window), each send resolving on
 * its own acknowledgement. A broken stream fails what was in flight (the
 * messenger retries from its outbox); the next send opens a new stream over
 * whatever connection libp2p has or can make, relayed ones included.
 */
import type { Libp2p, PeerId, Startable } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { parseEnvelopeHeader } from '../../crypto/envelope.js'
import {
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_CLIENT_IDLE_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_WINDOW,
  DEFAULT_WINDOW_BYTES,
  DM_PROTOCOL
} from './constants.js'
import { DmAbortedError, DmInvalidEnvelopeError, DmNotStartedError, DmTimeoutError, DmUnreachableError } from './errors.js'
import { deferred } from './dm.js'
import { OutboundStream, raceSignal } from './outbound-stream.js'

/** What the client needs of a libp2p node. */
export type DmClientComponents = Pick<Libp2p, 'dialProtocol' | 'peerStore' | 'getConnections'>

/** Client options. */
export interface DmClientInit {
  /** Unacknowledged envelopes per peer (default DEFAULT_WINDOW). */
  window?: number
  /** Unacknowledged bytes per peer (default DEFAULT_WINDOW_BYTES; one envelope always fits). */
  windowBytes?: number
  /** Dialling and opening a stream (default DEFAULT_DIAL_TIMEOUT_MS). */
  dialTimeoutMs?: number
  /** From queueing an envelope on the stream to its acknowledgement (default DEFAULT_ACK_TIMEOUT_MS). */
  ackTimeoutMs?: number
  /** An idle stream is closed after this long (default DEFAULT_CLIENT_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number
}

/** Options of one send. */
export interface DmSendOptions {
  signal?: AbortSignal
  /** Addresses of the peer (e.g. from its device record), added to the peer store before dialling. */
  addrs?: Multiaddr[]
}

interface Waiter {
  bytes: number
  granted: boolean
  resolve: () => void
  reject: (err: Error) => void
}

interface ClientOptions {
  window: number
  windowBytes: number
  dialTimeoutMs: number
  ackTimeoutMs: number
  idleTimeoutMs: number
}

/** Everything the client keeps about one peer: its window and its stream. */
class PeerChannel {
  private inFlight = 0
  private inFlightBytes = 0
  private readonly waiters: Waiter[] = []
  private stream?: OutboundStream
  /** Streams moved off (relayed ones), closing once drained. */
  private readonly retired = new Set<OutboundStream>()
  private opening?: Promise<OutboundStream>
  /** Addresses to add to the peer store before the next dial (only a dial needs them). */
  addrs?: Multiaddr[]

  constructor (
    private readonly peerId: PeerId,
    private readonly components: DmClientComponents,
    private readonly options: ClientOptions,
    private readonly stopSignal: AbortSignal,
    private readonly onEmpty: (channel: PeerChannel) => void
  ) {}

  get empty (): boolean {
    return this.inFlight === 0 && this.waiters.length === 0 && this.stream == null && this.opening == null
  }

  /** Waits for room in the window for an envelope of `bytes`. */
  async acquire (bytes: number, signal?: AbortSignal): Promise<void> {
    if (this.waiters.length === 0 && this.fits(bytes)) {
      this.take(bytes)
      return
    }
    const { promise, resolve, reject } = deferred<void>()
    const waiter: Waiter = { bytes, granted: false, resolve, reject }
    this.waiters.push(waiter)
    try {
      await raceSignal(promise, signal)
    } catch (err) {
      if (waiter.granted) {
        // Granted at the same moment the caller gave up: hand the room on.
        this.release(bytes)
      } else {
        const index = this.waiters.indexOf(waiter)
        if (index >= 0) this.waiters.splice(index, 1)
      }
      throw err
    }
  }

  release (bytes: number): void {
    this.inFlight--
    this.inFlightBytes -= bytes
    while (this.waiters.length > 0 && this.fits(this.waiters[0].bytes)) {
      const next = this.waiters.shift() as Waiter
      this.take(next.bytes)
      next.granted = true
      next.resolve()
    }
    if (this.empty) this.onEmpty(this)
  }

  /** The current stream, or a new one (one dial shared by every waiting sender). */
  async getStream (): Promise<OutboundStream> {
    if (this.stream?.usable === true) {
      if (!this.stream.limited || !this.hasUnlimitedConnection()) return this.stream
      // A direct (e.g. WebRTC) connection replaced the relayed one: move new
      // envelopes to it; the relayed stream closes once drained.
      this.stream.retire()
      this.retired.add(this.stream)
    }
    this.opening ??= this.open().finally(() => { this.opening = undefined })
    return this.opening
  }

  /** Fails everything (client stopping). */
  close (err: Error): void {
    for (const waiter of this.waiters.splice(0)) waiter.reject(err)
    this.stream?.abort(err)
    for (const stream of this.retired) stream.abort(err)
  }

  private hasUnlimitedConnection (): boolean {
    return this.components.getConnections(this.peerId).some(c => c.status === 'open' && c.limits == null)
  }

  private fits (bytes: number): boolean {
    if (this.inFlight >= this.options.window) return false
    return this.inFlight === 0 || this.inFlightBytes + bytes <= this.options.windowBytes
  }

  private take (bytes: number): void {
    this.inFlight++
    this.inFlightBytes += bytes
  }

  private async open (): Promise<OutboundStream> {
    const timeout = AbortSignal.timeout(this.options.dialTimeoutMs)
    const signal = AbortSignal.any([timeout, this.stopSignal])
    let raw
    try {
      const addrs = this.addrs
      this.addrs = undefined
      if (addrs != null) await this.components.peerStore.merge(this.peerId, { multiaddrs: addrs })
      raw = await this.components.dialProtocol(this.peerId, DM_PROTOCOL, { signal, runOnLimitedConnection: true })
    } catch (err) {
      if (this.stopSignal.aborted) throw new DmNotStartedError('dm client stopped')
      if (timeout.aborted) throw new DmTimeoutError(`no dm stream to ${this.peerId.toString()} within ${this.options.dialTimeoutMs} ms`, { cause: err })
      throw new DmUnreachableError(`cannot open a dm stream to ${this.peerId.toString()}: ${(err as Error).message}`, { cause: err })
    }
    if (this.stopSignal.aborted) {
      raw.abort(new DmNotStartedError('dm client stopped'))
      throw new DmNotStartedError('dm client stopped')
    }
    const connection = this.components.getConnections(this.peerId).find(c => c.streams.includes(raw))
    const stream = new OutboundStream(raw, connection?.limits != null, this.options, (gone) => {
      this.retired.delete(gone)
      if (this.stream !== gone) return
      this.stream = undefined
      if (this.empty) this.onEmpty(this)
    })
    this.stream = stream
    return stream
  }
}

/**
 * Sends sealed envelopes to peers on /starling/dm/1.0.0.
 *
 * @example
 * ```ts
 * const client = new DmClient(node)
 * client.start()
 * await client.send(peerId, envelope) // resolves once the peer has stored it
 * ```
 */
export class DmClient implements Startable {
  private readonly components: DmClientComponents
  private readonly options: ClientOptions
  private readonly channels = new Map<string, PeerChannel>()
  private controller?: AbortController

  constructor (components: DmClientComponents, init: DmClientInit = {}) {
    this.components = components
    this.options = {
      window: init.window ?? DEFAULT_WINDOW,
      windowBytes: init.windowBytes ?? DEFAULT_WINDOW_BYTES,
      dialTimeoutMs: init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS,
      ackTimeoutMs: init.ackTimeoutMs ?? DEFAULT_ACK_TIMEOUT_MS,
      idleTimeoutMs: init.idleTimeoutMs ?? DEFAULT_CLIENT_IDLE_TIMEOUT_MS
    }
  }

  isStarted (): boolean {
    return this.controller != null
  }

  start (): void {
    this.controller ??= new AbortController()
  }

  /** Closes every stream; pending sends reject with DmNotStartedError. */
  stop (): void {
    if (this.controller == null) return
    const err = new DmNotStartedError('dm client stopped')
    this.controller.abort(err)
    this.controller = undefined
    for (const channel of this.channels.values()) channel.close(err)
    this.channels.clear()
  }

  /**
   * Sends one sealed envelope to `peerId` and resolves once the peer has
   * stored it (or had already). Rejects with DmInvalidEnvelopeError (not
   * worth retrying), or DmUnreachableError, DmTimeoutError,
   * DmStreamClosedError (the peer may or may not have stored it),
   * DmProtocolError (the peer answered garbage), DmAbortedError or
   * DmNotStartedError: keep the envelope in the outbox and retry, here or
   * through relays. Sends to one peer are written in call order (while
   * their stream stays up).
   */
  async send (peerId: PeerId, envelope: Uint8Array, options: DmSendOptions = {}): Promise<void> {
    const controller = this.controller
    if (controller == null) throw new DmNotStartedError('dm client not started')
    let id: Uint8Array
    try {
      id = parseEnvelopeHeader(envelope).id
    } catch (err) {
      throw new DmInvalidEnvelopeError((err as Error).message, { cause: err })
    }
    if (options.signal?.aborted === true) throw new DmAbortedError('send aborted', { cause: options.signal.reason })
    const channel = this.channelFor(peerId, controller.signal)
    if (options.addrs != null && options.addrs.length > 0) channel.addrs = options.addrs
    await channel.acquire(envelope.byteLength, options.signal)
    try {
      const stream = await raceSignal(channel.getStream(), options.signal)
      await stream.deliver(id, envelope, options.signal)
    } finally {
      channel.release(envelope.byteLength)
    }
  }

  private channelFor (peerId: PeerId, stopSignal: AbortSignal): PeerChannel {
    const key = peerId.toString()
    let channel = this.channels.get(key)
    if (channel == null) {
      channel = new PeerChannel(peerId, this.components, this.options, stopSignal, (c) => {
        if (this.channels.get(key) === c) this.channels.delete(key)
      })
      this.channels.set(key, channel)
    }
    return channel
  }
}
