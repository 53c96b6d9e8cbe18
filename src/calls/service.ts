/**
 * The call service: serves `/starling/call/1.0.0` (relayed connections
 * included), places calls, and keeps the calls of this device. It decides
 * who may ring (a verified device record, a contact or a request, budgets
 * per device and for all strangers together), answers "busy" when a call is
 * already under way, and refuses replays (a call id, or a DTLS fingerprint,
 * of an earlier call). The host supplies the `RTCPeerConnection` factory and
 * ICE servers (only from its own relays).
 *
 * @example
 * ```ts
 * const calls = new CallService({ registrar: node, dialer: node }, { crypto, callers, createPeerConnection })
 * await calls.start()
 * calls.on(event => { if (event.type === 'incoming') void event.call.accept() })
 * const call = await calls.place([{ peerId, addrs }], { account, handle, video: false })
 * call.mute(true); call.hangUp()
 * ```
 */
import { logger } from '@libp2p/logger'
import { toHex } from '../crypto/bytes.js'
import type { Connection, Libp2p, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Crypto } from '../crypto/index.js'
import { setNewest } from '../bounded.js'
import {
  CALL_BUDGET_WINDOW_MS, CALL_ID_BYTES, CALL_PROTOCOL, CALLS_PER_PEER, DIAL_TIMEOUT_MS, FRAME_TIMEOUT_MS, MAX_BUDGET_PEERS,
  MAX_INBOUND_STREAMS, MAX_OUTBOUND_STREAMS, MAX_REMEMBERED_CALLS, MAX_REMEMBERED_FINGERPRINTS, RING_ANNOUNCE_WAIT_MS, STRANGER_CALLS,
  STREAM_TRY_TIMEOUT_MS
} from './constants.js'
import { CallBindingError, CallBudgetError, CallProtocolError, CallStateError, CallUnreachableError, NoTurnServerError } from './errors.js'
import { settledOrAfter } from './connection.js'
import { openCallStream } from './open-stream.js'
import type { StreamDialer } from './open-stream.js'
import { CallBudget } from './budget.js'
import { Listeners } from './listeners.js'
import { RingGroup } from './ring-group.js'
import { SignalChannel } from './channel.js'
import { PendingChannel } from './pending-channel.js'
import { identifyCaller } from './binding.js'
import type { CallerDirectory } from './binding.js'
import { CallSession } from './session.js'
import { mark } from './trace.js'
import type { CallEndReason, RemoteParty } from './session.js'
import type { CallRtcConfiguration, MediaAttacher, PeerConnectionFactory } from './peer-connection.js'
import type { CallMessage } from './wire.js'

const log = logger('starling:calls')

/** What the service tells its host. */
export type CallServiceEvent =
  | { type: 'incoming', call: CallSession }
  | { type: 'outgoing', call: CallSession }
  | { type: 'ended', call: CallSession, reason: CallEndReason, durationMs: number }

/** What the service needs of a libp2p node. */
export interface CallServiceComponents {
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
  /** `getConnections`, when given, lets a call use a connection already open to the device (relayed ones too). */
  dialer: StreamDialer
}

/** Options of a {@link CallService}. */
export interface CallServiceInit {
  crypto: Crypto
  /** Who a caller is (contacts, device records). */
  callers: CallerDirectory
  createPeerConnection: PeerConnectionFactory
  /** With it, a contact's call gets its connection while it rings: no media, nothing sent (session.ts). */
  attachMedia?: MediaAttacher
  /** ICE servers of our own relays (TURN with short-lived credentials); none when absent. */
  iceServers?: () => Promise<CallRtcConfiguration['iceServers']>
  /** Hide my IP: every call's media through TURN (DESIGN.md, Calls). */
  hideMyIp?: () => boolean
  /** Calls from someone who is not a contact: ring as a request (default) or not at all. */
  strangers?: () => 'request' | 'refuse'
  /** Our device record, carried by every ring so the callee need not ask the DHT. */
  deviceRecord?: () => Uint8Array | undefined
  /** The name we call ourselves (the callee derives the tag from our account). */
  name?: string
  /** Everything on one machine: only loopback ICE candidates are used. */
  loopbackOnly?: boolean
  now?: () => number
  ringTimeoutMs?: number
  /** From the accept to connected (default CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number
  callsPerPeer?: number
  strangerCalls?: number
  budgetWindowMs?: number
  /** Time one try at a call stream on an open connection may take before another is tried (default STREAM_TRY_TIMEOUT_MS). */
  streamTryTimeoutMs?: number
  /** Longest an incoming contact's call waits for its connection to start before it is announced (default RING_ANNOUNCE_WAIT_MS). */
  ringAnnounceWaitMs?: number
}

/** A device to ring: its peer id and where to dial it. */
export interface CallTarget {
  peerId: PeerId
  addrs: Multiaddr[]
}

function randomCallId (): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(CALL_ID_BYTES))
}

/** Calls of one device. */
export class CallService implements Startable {
  private readonly components: CallServiceComponents
  private readonly init: CallServiceInit
  private readonly now: () => number
  private readonly budget: CallBudget
  private readonly listeners = new Listeners<CallServiceEvent>()
  private readonly calls = new Map<string, CallSession>()
  private readonly endedCalls = new Map<string, true>()
  private readonly endedFingerprints = new Map<string, true>()
  private started = false

  constructor (components: CallServiceComponents, init: CallServiceInit) {
    this.components = components
    this.init = init
    this.now = init.now ?? Date.now
    this.budget = new CallBudget({
      perPeer: init.callsPerPeer ?? CALLS_PER_PEER,
      strangers: init.strangerCalls ?? STRANGER_CALLS,
      windowMs: init.budgetWindowMs ?? CALL_BUDGET_WINDOW_MS,
      maxPeers: MAX_BUDGET_PEERS,
      now: this.now
    })
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.components.registrar.handle(CALL_PROTOCOL, this.handleStream, {
      maxInboundStreams: MAX_INBOUND_STREAMS,
      maxOutboundStreams: MAX_OUTBOUND_STREAMS,
      runOnLimitedConnection: true
    })
    this.started = true
  }

  /** Hangs up every call and stops serving. */
  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const call of [...this.calls.values()]) call.hangUp()
    await this.components.registrar.unhandle(CALL_PROTOCOL)
  }

  /** Listens for incoming, outgoing and ended calls; returns the function that stops listening. */
  on (listener: (event: CallServiceEvent) => void): () => void {
    return this.listeners.add(listener)
  }

  /** Calls under way (ringing, connecting, connected). */
  get active (): CallSession[] {
    return [...this.calls.values()]
  }

  /** A call under way by its id (hex). */
  get (id: string): CallSession | undefined {
    return this.calls.get(id)
  }

  /**
   * Rings every device of `targets` (a contact's devices, from their
   * verified records) that takes a stream, at once (ring-group.ts): the
   * call returned is the first reached; the first device to accept gets
   * the call (the service then emits `outgoing` for that ring, if it is
   * another), and the others stop ringing.
   *
   * @throws {CallStateError} when a call is already under way
   * @throws {CallUnreachableError} when no device could be reached
   */
  async place (targets: CallTarget[], remote: Omit<RemoteParty, 'device'>, options: { video?: boolean, signal?: AbortSignal } = {}): Promise<CallSession> {
    if (!this.started) throw new CallStateError('the call service is not running')
    if (this.calls.size > 0) throw new CallStateError('a call is already under way')
    if (targets.length === 0) throw new CallUnreachableError('no device to ring')
    mark('caller:service-place')
    const video = options.video === true
    const group = new RingGroup((call) => { this.emit({ type: 'outgoing', call }) })
    const opened = targets.map(async (target) => await this.openStream(target, options.signal))
    // The first ring's connection and offer are made while the streams open; its ring waits for the first
    // stream open (nothing leaves before: pending-channel.ts). Its device is the one that stream reaches.
    const pending = new PendingChannel()
    // The host hears of the call once its ring has left (below), or as it ends when that is sooner (its stream
    // dropped while the connection was made: then before its end, as when it was announced at the stream's
    // opening), never for a call over, nor once another ring took the screen (ring-group.ts); nor when place()
    // throws (the host hears the error and the end).
    let announced = false
    let thrown = false
    const announce = (): void => {
      if (announced || thrown || call.continuedBy != null) return
      announced = true
      this.emit({ type: 'outgoing', call })
    }
    const call: CallSession = this.session(pending, randomCallId(), 'outgoing', { ...remote, device: targets[0].peerId }, video, announce)
    group.add(call)
    const placing = call.place(this.init.deviceRecord?.(), this.init.name).then(() => undefined, (err: Error) => {
      thrown = true
      call.finish('failed', err.message)
      return err
    })
    let first: { stream: Stream, target: CallTarget } | undefined
    try {
      first = await Promise.any(opened)
    } catch (err) {
      const last = (err as AggregateError).errors?.at(-1) as Error | undefined
      const unreachable = new CallUnreachableError(`no device could be reached${last != null ? `: ${last.message}` : ''}`)
      // The call ends as unreachable: its connection closed, and the host lets its media go on the end event.
      thrown = true
      pending.fail(unreachable)
      throw unreachable
    }
    // The others join as they are reached, while it still rings.
    for (const other of opened) {
      other.then(async ({ stream, target }) => {
        if (stream === first?.stream) return
        if (!group.open) {
          stream.abort(new CallStateError('the call was taken or ended'))
          return
        }
        const ring = this.session(stream, randomCallId(), 'outgoing', { ...remote, device: target.peerId }, video)
        group.add(ring)
        await ring.place(this.init.deviceRecord?.(), this.init.name).catch((err: Error) => { ring.finish('failed', err.message) })
      }, () => {})
    }
    mark('caller:stream-open')
    call.remote.device = first.target.peerId
    pending.open(new SignalChannel(first.stream))
    const failed = await placing
    if (failed != null) throw failed
    // The host hears of the call once its ring has left: its screen's render (10 ms of a tab's thread) came
    // between the offer being set and the ring (traces of the call benchmark); it now overlaps the ring's way.
    announce()
    return call
  }

  /** A call stream to one device (an open connection to it is used as it is, relayed too; one more try on another: open-stream.ts). */
  private async openStream (target: CallTarget, abort?: AbortSignal): Promise<{ stream: Stream, target: CallTarget }> {
    const signal = abort == null ? AbortSignal.timeout(DIAL_TIMEOUT_MS) : AbortSignal.any([abort, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
    try {
      const stream = await openCallStream(this.components.dialer, target.peerId, target.addrs, { signal, tryTimeoutMs: this.init.streamTryTimeoutMs ?? STREAM_TRY_TIMEOUT_MS })
      return { stream, target }
    } catch (err) {
      log('device %p not reachable for a call: %s', target.peerId, (err as Error).message)
      throw err
    }
  }

  /** The libp2p stream handler; public so tests can hand it in-memory streams. */
  readonly handleStream = (stream: Stream, connection: Connection): void => {
    if (!this.started) {
      stream.abort(new CallStateError('the call service is not running'))
      return
    }
    mark('callee:stream-in')
    const peer = connection.remotePeer
    if (!this.budget.takePeer(peer.toString())) {
      stream.abort(new CallBudgetError(`${peer.toString()} made too many call attempts`))
      return
    }
    const channel = new SignalChannel(stream)
    const timer = setTimeout(() => { channel.abort(new CallProtocolError('no ring in time')) }, FRAME_TIMEOUT_MS)
    let first = true
    channel.attach({
      onMessage: (message) => {
        if (!first) return
        first = false
        clearTimeout(timer)
        channel.hold()
        this.onRing(channel, peer, message).catch((err: Error) => { channel.abort(err) })
      },
      onClose: () => { clearTimeout(timer) }
    })
  }

  private async onRing (channel: SignalChannel, peer: PeerId, message: CallMessage): Promise<void> {
    mark('callee:ring-recv')
    const { signal } = message
    if (signal.kind !== 'ring') throw new CallProtocolError(`a call stream must open with a ring, not ${signal.kind}`)
    const id = toHex(message.callId)
    if (this.endedCalls.has(id) || this.calls.has(id)) throw new CallBindingError('a ring for a call id already used: a replay')
    const known = await this.init.callers.isContactDevice(peer)
    const refuseStrangers = this.init.strangers?.() === 'refuse'
    if (!known) {
      if (refuseStrangers) throw new CallBindingError('calls from people who are not contacts are refused (a setting)')
      // Shared by every unknown device: fresh peer ids buy no fresh attempts.
      if (!this.budget.takeStranger()) throw new CallBudgetError('too many calls from people who are not contacts')
    }
    const remote = await identifyCaller(this.init.crypto, this.init.callers, peer, signal.deviceRecord, { now: this.now(), name: signal.name })
    if (!remote.contact && refuseStrangers) throw new CallBindingError('calls from people who are not contacts are refused (a setting)')
    // A contact's devices together (each ring makes a connection while it rings, and may allocate on our TURN servers).
    if (remote.contact && !this.budget.takeAccount(remote.account)) throw new CallBudgetError('a contact\'s devices made too many call attempts')
    // A stranger's request that still rings does not keep a contact out (else one ring a minute from anyone
    // who knows the handle makes its owner "busy" for everyone): the contact rings, the request is missed.
    if (remote.contact && this.calls.size > 0 && [...this.calls.values()].every(c => c.request && c.state === 'ringing')) {
      for (const c of [...this.calls.values()]) c.end('missed', 'timeout', 'a contact called while this request rang')
    }
    if (this.calls.size > 0 || !this.started) {
      channel.send(message.callId, { kind: 'busy' })
      channel.close()
      setNewest(this.endedCalls, id, true, MAX_REMEMBERED_CALLS)
      log('busy: a call from %p while another is under way', peer)
      return
    }
    mark('callee:identified')
    const call = this.session(channel, message.callId, 'incoming', remote, signal.video)
    // Its stream went while the caller was identified: the host hears only its end.
    if (call.over) return
    try {
      call.ring(signal.sdp)
    } catch (err) {
      call.finish('protocol', (err as Error).message)
      throw err
    }
    // A contact's call makes its connection and answer first: the host's screen and ring tone (10-25 ms of a
    // tab's thread) then run after the WebRTC steps that come back to that thread, not in their way, while
    // the answer is set; an accept sends the answer at once (session.ts, ringReady).
    await settledOrAfter(call.ringReady, this.init.ringAnnounceWaitMs ?? RING_ANNOUNCE_WAIT_MS)
    // Hung up meanwhile: the host hears only its end.
    if (call.over) return
    mark('callee:incoming-emitted')
    this.emit({ type: 'incoming', call })
  }

  /** A call of this service; `ending` runs as it ends, before its state changes. */
  private session (streamOrChannel: Stream | SignalChannel | PendingChannel, callId: Uint8Array, direction: 'outgoing' | 'incoming', remote: RemoteParty, video: boolean, ending?: () => void): CallSession {
    const channel = streamOrChannel instanceof SignalChannel || streamOrChannel instanceof PendingChannel ? streamOrChannel : new SignalChannel(streamOrChannel)
    const call = new CallSession({
      callId,
      direction,
      remote,
      video,
      channel,
      createPeerConnection: this.init.createPeerConnection,
      attachMedia: this.init.attachMedia,
      rtcConfiguration: async (request) => await this.rtcConfiguration(request.stranger),
      hidesAddress: () => this.init.hideMyIp?.() === true,
      seenFingerprint: (f) => this.endedFingerprints.has(f),
      loopbackOnly: this.init.loopbackOnly,
      now: this.now,
      ringTimeoutMs: this.init.ringTimeoutMs,
      connectTimeoutMs: this.init.connectTimeoutMs,
      ending
    })
    const ended = (reason: CallEndReason, durationMs: number): void => {
      this.calls.delete(call.id)
      setNewest(this.endedCalls, call.id, true, MAX_REMEMBERED_CALLS)
      for (const f of call.fingerprints) setNewest(this.endedFingerprints, f, true, MAX_REMEMBERED_FINGERPRINTS)
      this.emit({ type: 'ended', call, reason, durationMs })
    }
    // Its stream gone before it was made (a ring's caller that left while it was identified): it ended as it was
    // made, before this listened. Kept as under way, it would make every later call "busy".
    if (call.over) {
      ended(call.endReason ?? 'failed', call.durationMs)
      return call
    }
    this.calls.set(call.id, call)
    call.on((event) => { if (event.type === 'ended') ended(event.reason, event.durationMs) })
    return call
  }

  /**
   * ICE servers only from our own relays; media through TURN for everyone
   * with hide-my-IP, and for a stranger's call when our relays offer TURN
   * (else the session warns that it is direct).
   */
  private async rtcConfiguration (stranger: boolean): Promise<CallRtcConfiguration> {
    let iceServers: CallRtcConfiguration['iceServers'] = []
    try {
      iceServers = await this.init.iceServers?.() ?? []
    } catch (err) {
      log('no ICE servers from our relays: %s', (err as Error).message)
    }
    const turn = iceServers.some(s => s.urls.some(u => u.startsWith('turn:') || u.startsWith('turns:')))
    const hide = this.init.hideMyIp?.() === true
    // Relay-only with no TURN server gathers no candidate: say why now, not after the connect timeout.
    if (hide && !turn) throw new NoTurnServerError('hide my IP is on and our relays offer no TURN server: the call cannot be made without showing your address')
    const relay = hide || (stranger && turn)
    return { iceServers, iceTransportPolicy: relay ? 'relay' : 'all' }
  }

  private emit (event: CallServiceEvent): void {
    this.listeners.emit(event)
  }
}
