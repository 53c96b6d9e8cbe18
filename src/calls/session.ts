/**
 * One call's state machine (issue 12, DESIGN.md Calls), driven over a
 * {@link SignalChannel} with an `RTCPeerConnection` the host supplies.
 *
 *   caller: calling ──accept──> connecting ──DTLS ok──> connected <──> reconnecting
 *   callee: ringing ──accept()─> connecting ...
 *   any:    ──> ended (hang-up, decline, busy, missed, failed, fingerprint, protocol)
 *
 * What leaks before the callee accepts: nothing about addresses. The
 * caller's offer goes out with its candidates and connection addresses
 * stripped, its candidates wait in a buffer until the accept arrives
 * (candidates.ts), and the callee sends nothing but "ringing" until its
 * user accepts. A contact's call, when the host can add media later, gets
 * its connection while it rings (the offer set and, where the connection
 * shows its transceivers, the answer made and set: candidates gathered and
 * held; no microphone or camera; nothing sent), so that the accept waits
 * only for media; a stranger's request makes none until accepted. An SDP is
 * taken only on this call's stream (the device the call was placed with or
 * came from) and only with this call's id; its DTLS fingerprints must not be
 * ones of an earlier call (a replay), and once connected the remote
 * certificate must be one it named.
 */
import { logger } from '@libp2p/logger'
import { toHex } from '../crypto/bytes.js'
import { CallTimers } from './timers.js'
import { CallBindingError, CallStateError } from './errors.js'
import type { CallDataChannel, CallPeerConnection, IceCandidate } from './peer-connection.js'
import { stripAddresses } from './sdp.js'
import { CandidateGate } from './candidates.js'
import { answerAtAccept, closeConnection, connectionForOffer, enableTracks, makeCallConnection, sendInbandHangup, settledOrAfter } from './connection.js'
import { CANDIDATES_WAIT_FOR_MEDIA_MS } from './constants.js'
import type { EarlyConnection } from './connection.js'
import { Listeners } from './listeners.js'
import { remoteHangupEnd, streamClosedEnd } from './endings.js'
import { checkFrame } from './frames.js'
import { SdpBinding } from './sdp-binding.js'
import { IceRecovery } from './ice-recovery.js'
import { parseInbandHangup } from './wire.js'
import type { CallMessage, HangupReasonName, Signal } from './wire.js'
import type { CallEndReason, CallSessionEvent, CallSessionInit, CallState, RemoteParty } from './types.js'
import { callStats } from './stats.js'
import type { CallStats } from './stats.js'
import { mark } from './trace.js'

const log = logger('starling:calls:session')

export type { CallEndReason, CallSessionEvent, CallSessionInit, CallState, RemoteParty } from './types.js'

/** One call, as its UI drives it: state, mute(), camera(), hangUp(), stats(). */
export class CallSession {
  readonly id: string
  readonly callId: Uint8Array
  readonly direction: 'outgoing' | 'incoming'
  readonly remote: RemoteParty
  readonly video: boolean
  state: CallState
  /** An incoming call from someone who is not a contact (accept it knowingly). */
  readonly request: boolean
  /** Set when the media path may be direct for a stranger (no TURN offered by our relays): tell the user. */
  directToStranger = false
  /** What the other side said about its microphone and camera. */
  remoteMedia = { audio: true, video: false }
  /** Ours. */
  localMedia = { audio: true, video: false }
  /** What the other side sent of its addresses: SDPs and candidate lines as received (bounded by the call's budgets; diagnostics and tests). */
  readonly received: { sdps: string[], candidates: string[] }
  startedAt: number
  connectedAt?: number
  endedAt?: number
  endReason?: CallEndReason
  pc?: CallPeerConnection
  /** The ring the caller's screen follows instead of this one (several devices rung: ring-group.ts). */
  continuedBy?: CallSession
  private readonly init: CallSessionInit
  private readonly listeners = new Listeners<CallSessionEvent>()
  private dataChannel?: CallDataChannel
  private offerSdp?: string
  private readonly binding: SdpBinding
  private readonly candidates: CandidateGate
  /** The callee's connection, made while it rings (undefined when it could not be: the accept makes it). */
  private early?: Promise<EarlyConnection | undefined>
  /**
   * Resolves once the connection made while it rings has its answer made (or
   * could not be made or answered), at once when none is made: the service
   * tells its host of the call then (service.ts, at most
   * RING_ANNOUNCE_WAIT_MS later), so that the host's screen and ring tone
   * run after the WebRTC steps that need the page's thread (making the
   * connection, setting the offer, making the answer), while the answer is
   * set on WebRTC's own threads. An accept by then sends the answer at once
   * (the caller applies it while we set it), and our candidates as they are
   * gathered. (Waiting also for the answer set and a first candidate, so
   * that they left together, came out 0-10 ms later at the caller's first
   * sound, in A/B runs of the call benchmark.)
   */
  ringReady: Promise<void> = Promise.resolve()
  /** The caller's offer being set on its connection (the ring leaves before: place()), undefined once set; a failure ends the call. */
  private offerSet?: Promise<void>
  /** The callee's answer made while it rang, once made (it may still be being set). */
  private earlyAnswer?: string
  /** The callee's accept has left. */
  private acceptSent = false
  /**
   * What the other side's candidates wait for before they are added: the
   * caller's answer being applied; the callee's microphone and camera being
   * put on its connection (the camera's track starts the first frame, and
   * each `addIceCandidate` and `replaceTrack` waits for WebRTC's signalling
   * thread, holding the page's: CPU profiles of the call benchmark; the
   * caller's checks reach us meanwhile, and ours answer them).
   */
  private candidatesAfter?: Promise<void>
  private readonly timers: CallTimers
  private readonly recovery: IceRecovery

  constructor (init: CallSessionInit) {
    this.init = init
    this.binding = new SdpBinding(init.seenFingerprint)
    this.timers = new CallTimers({
      ringMs: init.ringTimeoutMs,
      connectMs: init.connectTimeoutMs,
      ring: () => { this.end('missed', 'timeout') },
      connect: () => { if (this.state === 'connecting') this.end('failed', 'failed', 'the call did not connect in time') }
    })
    this.candidates = new CandidateGate((candidate) => { this.send({ kind: 'candidate', candidate }) }, init.loopbackOnly === true, () => init.hidesAddress?.() === true)
    this.received = { sdps: this.binding.received, candidates: this.candidates.received }
    this.recovery = new IceRecovery({
      direction: init.direction,
      pc: () => this.pc,
      state: () => this.state,
      reconnecting: () => { this.setState('reconnecting') },
      connected: (pc) => {
        this.verifyFingerprint(pc).catch((err: Error) => { this.end('fingerprint', 'fingerprint', err.message) })
      },
      takeSdp: (sdp) => { this.binding.take(sdp) },
      send: (signal) => { this.send(signal) },
      fail: (message) => { this.end('failed', 'failed', message) }
    })
    this.callId = init.callId
    this.id = toHex(init.callId)
    this.direction = init.direction
    this.remote = init.remote
    this.video = init.video
    this.request = init.direction === 'incoming' && !init.remote.contact
    this.state = init.direction === 'outgoing' ? 'calling' : 'ringing'
    this.localMedia.video = init.video
    this.startedAt = init.now()
    init.channel.attach({
      onMessage: (message) => { this.receive(message) },
      onClose: (err) => { this.onChannelClosed(err) }
    })
  }

  /** Listens for this call's events; returns the function that stops listening. */
  on (listener: (event: CallSessionEvent) => void): () => void {
    return this.listeners.add(listener)
  }

  /** Ended (read through a getter: the state changes while this side awaits). */
  get over (): boolean {
    return this.state === 'ended'
  }

  /** How long the call has been connected (0 if it never was). */
  get durationMs (): number {
    if (this.connectedAt == null) return 0
    return (this.endedAt ?? this.init.now()) - this.connectedAt
  }

  /**
   * Places the call (caller side): makes the connection, sends the ring
   * with an offer that carries no address, and starts the ring timer.
   */
  async place (deviceRecord?: Uint8Array, name?: string): Promise<void> {
    const pc = await this.makeConnection({ stranger: false })
    if (this.over) return
    const offer = (await pc.createOffer()).sdp ?? ''
    mark('caller:offer-made')
    // The ring leaves with the offer while it is set here (4-8 ms of WebRTC's threads in a tab): the callee
    // applies it meanwhile. Our candidates, gathered once it is set, wait for the accept (the gate).
    const applied = pc.setLocalDescription({ type: 'offer', sdp: offer })
    let failed: Error | undefined
    this.offerSet = applied.then(() => {
      mark('caller:offer-set')
      this.offerSet = undefined
    }, (err: Error) => { failed = err })
    // Made while the stream opened (service.place): the ring waits for it; none opening ended the call.
    await this.init.channel.opened?.catch(() => {})
    if (this.over) return
    // Failed already: no ring for a call that cannot be made (the service ends it as place() throws).
    if (failed != null) throw failed
    mark('caller:ring-sent')
    this.send({ kind: 'ring', video: this.video, sdp: stripAddresses(offer), deviceRecord, name })
    this.timers.ring()
    // Until the offer is set, or the call is over meanwhile (hung up, rung out: a stack that never sets it must
    // not keep place() from returning the call, nor the thread from hearing of it).
    let stop = (): void => {}
    const over = new Promise<void>(resolve => { stop = this.on((event) => { if (event.type === 'ended') resolve() }) })
    try {
      await Promise.race([applied, over])
    } catch (err) {
      // The callee already rings: it hears the end; the service ends the call here as place() throws (its host
      // hears the error and the end, not an outgoing call).
      if (!this.over) this.send({ kind: 'hangup', reason: 'failed' })
      throw err
    } finally {
      stop()
    }
  }

  /**
   * Takes an incoming ring (callee side): checks the offer, answers
   * "ringing", starts the ring timer, and, for a contact when the host can
   * add media later, makes the connection now (nothing is sent).
   */
  ring (offerSdp: string): void {
    this.binding.take(offerSdp)
    // The caller's addresses, if its offer names any (an honest one does not): the answer set while ringing
    // would have our stack check them, from our addresses, before the accept. Its candidates come after it.
    const offer = stripAddresses(offerSdp)
    this.offerSdp = offer
    this.send({ kind: 'ringing', request: this.request })
    this.timers.ring()
    if (this.init.attachMedia != null && !this.request) {
      let answered!: () => void
      const made = new Promise<void>(resolve => { answered = resolve })
      this.early = this.prepare(offer, answered)
      this.ringReady = Promise.race([made, this.early.then(() => {}, () => {})])
    }
  }

  /** The callee's connection while it rings: the offer set, the answer made where it can be (connection.ts); no media, nothing sent. */
  private async prepare (offerSdp: string, made: () => void): Promise<EarlyConnection | undefined> {
    const early = await connectionForOffer(async () => await this.makeConnection({ stranger: false }, { media: false }), offerSdp, () => this.over, {
      // Accepted already: the answer leaves now, while it is set here (the caller applies it meanwhile).
      answered: (answer) => {
        this.earlyAnswer = answer
        if (this.state === 'connecting' && !this.rehides()) this.sendAccept(answer)
        made()
      }
    })
    // Else the accept makes the connection (and reports what fails); an answer made but not set is not sent at it.
    if (early?.answer == null) this.earlyAnswer = undefined
    if (early == null) this.pc = undefined
    else if (early.answer != null) mark('callee:answer-ready')
    return early
  }

  /**
   * Accepts an incoming call: media goes on the connection made while it
   * rang, or one is made now (a stranger's through TURN when our relays
   * offer it); then the answer, and our candidates, are sent.
   */
  async accept (options: { video?: boolean } = {}): Promise<void> {
    if (this.direction !== 'incoming' || this.state !== 'ringing' || this.offerSdp == null) throw new CallStateError(`cannot accept a call that is ${this.state}`)
    mark('callee:accept')
    this.timers.answered()
    // From now, not once the answer is made: a stack that never makes or sets it leaves no other clock.
    this.timers.connecting()
    this.localMedia.video = options.video ?? this.video
    this.setState('connecting')
    try {
      // Made while it rang (perhaps not set yet): it leaves now; else once made (prepare).
      if (this.earlyAnswer != null && !this.rehides()) this.sendAccept(this.earlyAnswer)
      let early = await this.early
      // Hide my IP turned on since the ring: the connection made then gathered every candidate (held, not sent: dropped).
      if (early != null && this.rehides()) {
        if (this.acceptSent) throw new Error('hide my IP was turned on as the call was accepted: call again to hide your address')
        closeConnection(undefined, early.pc)
        this.candidates.discardWaiting()
        this.pc = early = undefined
      }
      if (this.over) return
      if (this.acceptSent && early?.answer == null) throw new Error('the answer sent could not be set')
      // Made now, with the microphone (and camera) opened for it: the connect time runs from when they are, not
      // through a permission prompt (the caller rings on its own clock until our accept, which leaves after).
      if (early == null) this.timers.hold()
      const pc = early?.pc ?? await this.makeConnection({ stranger: this.request })
      if (this.over) return
      if (early == null) this.timers.connecting()
      const attach = early != null ? async () => { await this.init.attachMedia?.(this.id, { video: this.localMedia.video }) } : undefined
      if (early?.answer != null) {
        // Made while it rang: the answer leaves now, and the microphone and camera go on its senders meanwhile
        // (replaceTrack, well before DTLS is up: nothing is lost); a failure to open them ends the call.
        this.sendAccept(early.answer)
        const attached = attach?.()
        this.candidatesAfter = attached == null ? undefined : settledOrAfter(attached, CANDIDATES_WAIT_FOR_MEDIA_MS)
        await attached
        mark('callee:media-attached')
        // A mute or camera change made while they were being opened applies to them too.
        enableTracks(this.pc, 'audio', this.localMedia.audio)
        enableTracks(this.pc, 'video', this.localMedia.video)
        return
      }
      const answer = await answerAtAccept(pc, { offerSdp: this.offerSdp, early, attach })
      if (this.over) return
      this.sendAccept(answer)
    } catch (err) {
      this.end('failed', 'failed', `the connection could not be made: ${(err as Error).message}`)
      throw err
    }
  }

  /** Whether hide my IP was turned on since the connection made while it rang (which gathered every candidate). */
  private rehides (): boolean {
    return !this.candidates.relayOnly && this.init.hidesAddress?.() === true
  }

  /** Sends the accept with our answer (once), then our candidates held until now. */
  private sendAccept (answer: string): void {
    if (this.over || this.acceptSent) return
    this.acceptSent = true
    mark('callee:accept-sent')
    this.send({ kind: 'accept', sdp: stripAddresses(answer), video: this.localMedia.video })
    this.candidates.accept()
  }

  /** Declines an incoming call that rings. */
  decline (): void {
    if (this.direction !== 'incoming' || this.state !== 'ringing') throw new CallStateError(`cannot decline a call that is ${this.state}`)
    this.send({ kind: 'decline' })
    this.finish('declined')
  }

  /** Ends the call (or cancels it while it rings), telling the other side on both paths. */
  hangUp (): void {
    if (this.state === 'ended') return
    if (this.state === 'ringing' && this.direction === 'incoming') {
      this.decline()
      return
    }
    const reason: CallEndReason = this.state === 'calling' ? 'missed' : 'hangup'
    this.end(reason, 'normal')
  }

  /** Mutes or unmutes our microphone (the track is disabled, and the other side told: a muted track still sends packets). */
  mute (muted: boolean): void {
    this.localMedia.audio = !muted
    enableTracks(this.pc, 'audio', !muted)
    this.sendMedia()
  }

  /** Turns our camera on or off. */
  camera (on: boolean): void {
    this.localMedia.video = on
    enableTracks(this.pc, 'video', on)
    this.sendMedia()
  }

  /** Call quality from `getStats()` (round-trip time, loss, jitter, an estimated MOS, the candidate types). */
  async stats (): Promise<CallStats | undefined> {
    if (this.pc == null) return undefined
    return await callStats(this.pc)
  }

  /** The host saw a network change (new address, lost path): restart ICE now instead of waiting. */
  networkChanged (): void {
    if (this.state === 'connected' || this.state === 'reconnecting') this.recovery.restart()
  }

  private emit (event: CallSessionEvent): void {
    this.listeners.emit(event)
  }

  private setState (state: CallState): void {
    if (this.state === state || this.state === 'ended') return
    this.state = state
    this.emit({ type: 'state', state })
  }

  private send (signal: Signal): void {
    this.init.channel.send(this.callId, signal)
  }

  private sendMedia (): void {
    if (this.state === 'ended') return
    this.send({ kind: 'media', audio: this.localMedia.audio, video: this.localMedia.video })
  }

  private async makeConnection (request: { stranger: boolean }, options: { media?: boolean } = {}): Promise<CallPeerConnection> {
    const config = await this.init.rtcConfiguration(request)
    mark(`${this.direction}:config`)
    this.candidates.relayOnly = config.iceTransportPolicy === 'relay'
    this.directToStranger = request.stranger && !this.candidates.relayOnly
    if (this.directToStranger) this.emit({ type: 'warning', message: 'our relays offer no TURN server: this call with someone who is not a contact is direct, and they will see your address' })
    const made: { pc?: CallPeerConnection } = {}
    const { pc, dataChannel } = await makeCallConnection(this.init.createPeerConnection, config, { callId: this.id, direction: this.direction, video: this.video, ...options }, {
      // Only the call's connection of now: one closed and replaced (hide my IP turned on while ringing) may still gather.
      candidate: (candidate) => { if (!this.over && this.pc === made.pc) this.candidates.local(candidate) },
      connectionState: () => { this.recovery.onConnectionState() },
      dataMessage: (data) => { this.onDataChannelMessage(data) }
    })
    made.pc = pc
    mark(`${this.direction}:pc-factory`)
    if (this.over) {
      pc.close()
      return pc
    }
    this.pc = pc
    this.dataChannel = dataChannel
    return pc
  }

  /** The fingerprints the remote SDP named (for the service to remember after the call). */
  get fingerprints (): string[] {
    return this.binding.fingerprints
  }

  /** A frame on this call's stream. Throwing drops the stream (and ends the call). */
  private receive (message: CallMessage): void {
    if (toHex(message.callId) !== this.id) throw new CallBindingError('a frame names another call than its stream carries')
    if (this.state === 'ended') return
    const signal = message.signal
    checkFrame(signal, { direction: this.direction, state: this.state, accepted: this.candidates.accepted })
    switch (signal.kind) {
      case 'ring': return
      case 'ringing':
        this.emit({ type: 'ringing', request: signal.request })
        return
      case 'accept':
        this.onAccept(signal.sdp, signal.video)
        return
      case 'decline':
        this.finish(this.state === 'calling' ? 'declined' : 'remote-hangup')
        return
      case 'busy':
        this.finish('busy')
        return
      case 'hangup':
        this.onRemoteHangup(signal.reason)
        return
      case 'candidate':
        this.onRemoteCandidate(signal.candidate)
        return
      case 'renegotiate':
        this.recovery.onRenegotiate(signal.sdp, signal.answer)
        return
      case 'media':
        this.remoteMedia = { audio: signal.audio, video: signal.video }
        this.emit({ type: 'remote-media', audio: signal.audio, video: signal.video })
        return
      case 'restart':
        if (this.candidates.accepted) this.recovery.onRestartRequest()
        return
      case 'unknown':
        // A kind added after this version: nothing to do (the channel counts it against the call's frame budget).
        log('ignoring a call frame of a kind this version does not know')
    }
  }

  private onAccept (sdp: string, video: boolean): void {
    mark('caller:accept-recv')
    // Hide my IP turned on while it rang: the connection gathered every candidate, and its checks would show them.
    if (!this.candidates.relayOnly && this.init.hidesAddress?.() === true) return this.end('failed', 'normal', 'hide my IP was turned on while the call rang: call again to hide your address')
    this.binding.take(sdp)
    const pc = this.pc
    if (pc == null) throw new CallStateError('accepted before the connection was made')
    // The answer is applied first, then our candidates go (the callee's connection is waiting for them), and
    // only then is the screen told: its render would hold both back (each step here waits for this thread).
    // Its candidates come trickled, through the gate: any left in the answer would skip it.
    // After our offer is set (a browser would queue it so anyway; a Node stack may not): at once when it is.
    const apply = async (): Promise<void> => { await pc.setRemoteDescription({ type: 'answer', sdp: stripAddresses(sdp) }) }
    this.candidatesAfter = (this.offerSet == null ? apply() : this.offerSet.then(apply)).then(
      () => { mark('caller:answer-set') },
      (err: Error) => { this.end('protocol', 'protocol', `the answer was refused: ${err.message}`) }
    )
    this.candidates.accept()
    this.timers.answered()
    // From the accept, not once the answer is applied: a stack that never settles it leaves no other clock.
    this.timers.connecting()
    this.remoteMedia = { audio: true, video }
    this.setState('connecting')
  }

  private onRemoteHangup (wire: HangupReasonName): void {
    const { reason, message } = remoteHangupEnd(this.state, wire)
    this.finish(reason, message)
  }

  private onRemoteCandidate (candidate: IceCandidate): void {
    // Candidates only once the call is accepted by this side (callee) or the other (caller).
    if (!this.candidates.remote(candidate)) return
    mark(`${this.direction}:remote-candidate`)
    const pc = this.pc
    const add = (): void => {
      // A refused answer, or devices that failed to open, ended the call.
      if (this.over) return
      pc?.addIceCandidate(candidate).catch((err: Error) => { log('candidate refused: %s', err.message) })
    }
    // Added, in order, once what they wait for is done (candidatesAfter): a browser's addIceCandidate waits for the
    // WebRTC thread, holding the page's thread meanwhile (11 ms of the caller's, a call in the benchmark's CPU
    // profiles); the caller's checks cannot start before its answer is in anyway.
    if (this.candidatesAfter != null) this.candidatesAfter.then(add, () => {})
    else add()
  }

  /** After DTLS: the remote certificate must be one the SDP named, or the call ends with a warning. */
  private async verifyFingerprint (pc: CallPeerConnection): Promise<void> {
    mark(`${this.direction}:dtls-connected`)
    await this.binding.verify(pc)
    if (this.over) return
    this.timers.connected()
    this.recovery.recovered()
    if (this.connectedAt == null) {
      this.connectedAt = this.init.now()
      this.sendMedia()
    }
    this.setState('connected')
  }

  private onDataChannelMessage (data: unknown): void {
    const reason = parseInbandHangup(data)
    if (reason != null) this.onRemoteHangup(reason)
  }

  private onChannelClosed (err?: Error): void {
    if (this.state === 'ended') return
    const end = streamClosedEnd(this.state, err)
    if (end?.tell === true) this.end(end.reason, 'protocol', err?.message)
    else if (end != null) this.finish(end.reason, err?.message)
  }

  /** Ends the call and tells the other side why (signalling and data channel). */
  end (reason: CallEndReason, wire: HangupReasonName, message?: string): void {
    if (this.state === 'ended') return
    if (reason === 'fingerprint' && message != null) this.emit({ type: 'warning', message })
    sendInbandHangup(this.dataChannel, wire)
    this.send({ kind: 'hangup', reason: wire })
    this.finish(reason, message)
  }

  /** Ends the call here without telling the other side (it told us, or it is gone). */
  finish (reason: CallEndReason, message?: string): void {
    if (this.state === 'ended') return
    this.init.ending?.()
    // Ended from within that (a host that hung up on hearing of the call): the state is read again.
    if (this.over) return
    this.timers.stop()
    this.recovery.stop()
    this.endedAt = this.init.now()
    this.endReason = reason
    this.state = 'ended'
    closeConnection(this.dataChannel, this.pc)
    this.init.channel.close()
    this.emit({ type: 'state', state: 'ended' })
    this.emit({ type: 'ended', reason, durationMs: this.durationMs, message })
  }
}
