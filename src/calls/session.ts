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
 * stripped, its candidates wait in a buffer until the accept arrives, and
 * the callee makes no connection at all until its user accepts. An SDP is
 * taken only on this call's stream (the device the call was placed with or
 * came from) and only with this call's id; its DTLS fingerprints must not be
 * ones of an earlier call (a replay), and once connected the remote
 * certificate must be one it named.
 */
import { logger } from '@libp2p/logger'
import {
  CONNECT_TIMEOUT_MS, MAX_CANDIDATES_PER_CALL, RING_TIMEOUT_MS
} from './constants.js'
import { CallBindingError, CallBudgetError, CallProtocolError, CallStateError } from './errors.js'
import type { CallDataChannel, CallPeerConnection, IceCandidate } from './peer-connection.js'
import { isLoopbackCandidate, isRelayCandidate, stripAddresses } from './sdp.js'
import { SdpBinding } from './sdp-binding.js'
import { IceRecovery } from './ice-recovery.js'
import { inbandHangup, parseInbandHangup } from './wire.js'
import type { CallMessage, HangupReasonName, Signal } from './wire.js'
import type { CallEndReason, CallSessionEvent, CallSessionInit, CallState, RemoteParty } from './types.js'
import { callStats } from './stats.js'
import type { CallStats } from './stats.js'

const log = logger('starling:calls:session')

export type { CallEndReason, CallSessionEvent, CallSessionInit, CallState, RemoteParty } from './types.js'

/** The call's negotiated data channel: the in-band hang-up (the signalling stream may be slower, or gone). */
const DATA_CHANNEL_LABEL = 'starling-call'
const DATA_CHANNEL_ID = 0
/** How long the connection stays open after an in-band hang-up was sent on it. */
const CLOSE_GRACE_MS = 100

function hex (bytes: Uint8Array): string {
  let out = ''
  for (const b of bytes) out += b.toString(16).padStart(2, '0')
  return out
}

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
  readonly received: { sdps: string[], candidates: string[] } = { sdps: [], candidates: [] }
  startedAt: number
  connectedAt?: number
  endedAt?: number
  endReason?: CallEndReason
  pc?: CallPeerConnection
  private readonly init: CallSessionInit
  private readonly listeners = new Set<(event: CallSessionEvent) => void>()
  private dataChannel?: CallDataChannel
  private offerSdp?: string
  private readonly binding: SdpBinding
  private accepted = false
  private readonly localCandidates: IceCandidate[] = []
  private remoteCandidates = 0
  private relayOnly = false
  private ringTimer?: ReturnType<typeof setTimeout>
  private connectTimer?: ReturnType<typeof setTimeout>
  private readonly recovery: IceRecovery

  constructor (init: CallSessionInit) {
    this.init = init
    this.binding = new SdpBinding(init.seenFingerprint)
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
    this.id = hex(init.callId)
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
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
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
    const offer = await pc.createOffer()
    await pc.setLocalDescription({ type: 'offer', sdp: offer.sdp ?? '' })
    if (this.over) return
    this.send({ kind: 'ring', video: this.video, sdp: stripAddresses(offer.sdp ?? ''), deviceRecord, name })
    this.armRingTimer()
  }

  /** Takes an incoming ring (callee side): checks the offer, answers "ringing", starts the ring timer. */
  ring (offerSdp: string): void {
    this.binding.take(offerSdp)
    this.received.sdps.push(offerSdp)
    this.offerSdp = offerSdp
    this.send({ kind: 'ringing', request: this.request })
    this.armRingTimer()
  }

  /**
   * Accepts an incoming call: only now is a connection made (a stranger's
   * through TURN when our relays offer it) and the answer sent.
   */
  async accept (options: { video?: boolean } = {}): Promise<void> {
    if (this.direction !== 'incoming' || this.state !== 'ringing' || this.offerSdp == null) throw new CallStateError(`cannot accept a call that is ${this.state}`)
    clearTimeout(this.ringTimer)
    this.accepted = true
    this.localMedia.video = options.video ?? this.video
    this.setState('connecting')
    try {
      const pc = await this.makeConnection({ stranger: this.request })
      if (this.over) return
      await pc.setRemoteDescription({ type: 'offer', sdp: this.offerSdp })
      const answer = await pc.createAnswer()
      await pc.setLocalDescription({ type: 'answer', sdp: answer.sdp ?? '' })
      if (this.over) return
      this.send({ kind: 'accept', sdp: stripAddresses(answer.sdp ?? ''), video: this.localMedia.video })
      this.flushCandidates()
      this.armConnectTimer()
    } catch (err) {
      this.end('failed', 'failed', `the connection could not be made: ${(err as Error).message}`)
      throw err
    }
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
    this.setTracks('audio', !muted)
    this.sendMedia()
  }

  /** Turns our camera on or off. */
  camera (on: boolean): void {
    this.localMedia.video = on
    this.setTracks('video', on)
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
    for (const listener of [...this.listeners]) {
      try {
        listener(event)
      } catch (err) {
        log.error('call listener failed: %e', err)
      }
    }
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

  private setTracks (kind: 'audio' | 'video', enabled: boolean): void {
    for (const sender of this.pc?.getSenders?.() ?? []) {
      if (sender.track?.kind === kind) sender.track.enabled = enabled
    }
  }

  private async makeConnection (request: { stranger: boolean }): Promise<CallPeerConnection> {
    const config = await this.init.rtcConfiguration(request)
    this.relayOnly = config.iceTransportPolicy === 'relay'
    this.directToStranger = request.stranger && !this.relayOnly
    if (this.directToStranger) this.emit({ type: 'warning', message: 'our relays offer no TURN server: this call with someone who is not a contact is direct, and they will see your address' })
    const pc = await this.init.createPeerConnection(config, { callId: this.id, direction: this.direction, video: this.video })
    if (this.state === 'ended') {
      pc.close()
      return pc
    }
    this.pc = pc
    pc.addEventListener('icecandidate', (event) => { this.onLocalCandidate(event.candidate) })
    pc.addEventListener('connectionstatechange', () => { this.recovery.onConnectionState() })
    const channel = pc.createDataChannel(DATA_CHANNEL_LABEL, { negotiated: true, id: DATA_CHANNEL_ID })
    channel.addEventListener('message', (event) => { this.onDataChannelMessage(event.data) })
    this.dataChannel = channel
    return pc
  }

  private onLocalCandidate (candidate: IceCandidate | null): void {
    if (candidate == null || candidate.candidate === '' || this.state === 'ended') return
    if (this.init.loopbackOnly === true && !isLoopbackCandidate(candidate.candidate)) return
    // Relay only (hide my IP, a stranger's call) is the stack's to enforce; one that gathers other candidates anyway must not hand them over.
    if (this.relayOnly && !isRelayCandidate(candidate.candidate)) {
      log('a %s candidate gathered under relay-only was not sent', candidate.candidate.split(' ')[7] ?? 'malformed')
      return
    }
    // Nothing about our addresses leaves before the callee accepts.
    if (!this.accepted) {
      if (this.localCandidates.length < MAX_CANDIDATES_PER_CALL) this.localCandidates.push(candidate)
      return
    }
    this.send({ kind: 'candidate', candidate })
  }

  private flushCandidates (): void {
    for (const candidate of this.localCandidates.splice(0)) this.send({ kind: 'candidate', candidate })
  }

  /** The fingerprints the remote SDP named (for the service to remember after the call). */
  get fingerprints (): string[] {
    return this.binding.fingerprints
  }

  /** A frame on this call's stream. Throwing drops the stream (and ends the call). */
  private receive (message: CallMessage): void {
    if (hex(message.callId) !== this.id) throw new CallBindingError('a frame names another call than its stream carries')
    if (this.state === 'ended') return
    const signal = message.signal
    switch (signal.kind) {
      case 'ring': throw new CallProtocolError('a second ring on one call')
      case 'ringing':
        this.expectDirection('outgoing', signal.kind)
        this.emit({ type: 'ringing', request: signal.request })
        return
      case 'accept':
        this.expectDirection('outgoing', signal.kind)
        if (this.state !== 'calling') throw new CallProtocolError(`accept while ${this.state}`)
        this.onAccept(signal.sdp, signal.video)
        return
      case 'decline':
        this.expectDirection('outgoing', signal.kind)
        this.finish(this.state === 'calling' ? 'declined' : 'remote-hangup')
        return
      case 'busy':
        this.expectDirection('outgoing', signal.kind)
        this.finish('busy')
        return
      case 'hangup':
        this.onRemoteHangup(signal.reason)
        return
      case 'candidate':
        this.onRemoteCandidate(signal.candidate)
        return
      case 'renegotiate':
        if (!this.accepted) throw new CallProtocolError('a renegotiation before the call was accepted')
        this.recovery.onRenegotiate(signal.sdp, signal.answer)
        return
      case 'media':
        this.remoteMedia = { audio: signal.audio, video: signal.video }
        this.emit({ type: 'remote-media', audio: signal.audio, video: signal.video })
        return
      case 'restart':
        this.expectDirection('outgoing', signal.kind)
        if (this.accepted) this.recovery.onRestartRequest()
    }
  }

  private expectDirection (direction: 'outgoing' | 'incoming', kind: string): void {
    if (this.direction !== direction) throw new CallProtocolError(`a ${kind} frame sent to the ${this.direction === 'outgoing' ? 'caller' : 'callee'}`)
  }

  private onAccept (sdp: string, video: boolean): void {
    this.binding.take(sdp)
    this.received.sdps.push(sdp)
    clearTimeout(this.ringTimer)
    this.accepted = true
    this.remoteMedia = { audio: true, video }
    this.setState('connecting')
    const pc = this.pc
    if (pc == null) throw new CallStateError('accepted before the connection was made')
    pc.setRemoteDescription({ type: 'answer', sdp }).then(
      () => {
        this.flushCandidates()
        this.armConnectTimer()
      },
      (err: Error) => { this.end('protocol', 'protocol', `the answer was refused: ${err.message}`) }
    )
  }

  private onRemoteHangup (reason: HangupReasonName): void {
    if (this.state === 'ringing') {
      // The caller gave up (or its ring timed out) before we answered.
      this.finish('missed')
      return
    }
    if (reason === 'fingerprint') {
      this.finish('fingerprint', 'the other side found a DTLS certificate it did not expect: the call may have been tampered with')
      return
    }
    if (reason === 'protocol') {
      this.finish('protocol', 'the other side ended the call: it says this side broke the protocol')
      return
    }
    // While we call, the callee hangs up only when its ring timed out (declining is its own frame).
    this.finish(this.state === 'calling' ? (reason === 'timeout' ? 'missed' : 'declined') : 'remote-hangup')
  }

  private onRemoteCandidate (candidate: IceCandidate): void {
    // Candidates only once the call is accepted by this side (callee) or the other (caller).
    if (!this.accepted) throw new CallProtocolError('an ICE candidate before the call was accepted')
    if (++this.remoteCandidates > MAX_CANDIDATES_PER_CALL) throw new CallBudgetError(`more than ${MAX_CANDIDATES_PER_CALL} ICE candidates on one call`)
    if (candidate.candidate === '') return
    this.received.candidates.push(candidate.candidate)
    // Parsed whatever the setting: a line that is no candidate is a protocol error.
    const loopback = isLoopbackCandidate(candidate.candidate, { strict: true })
    if (this.init.loopbackOnly === true && !loopback) return
    this.pc?.addIceCandidate(candidate).catch((err: Error) => { log('candidate refused: %s', err.message) })
  }

  /** After DTLS: the remote certificate must be one the SDP named, or the call ends with a warning. */
  private async verifyFingerprint (pc: CallPeerConnection): Promise<void> {
    await this.binding.verify(pc)
    if (this.over) return
    clearTimeout(this.connectTimer)
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

  private armRingTimer (): void {
    clearTimeout(this.ringTimer)
    this.ringTimer = setTimeout(() => { this.end('missed', 'timeout') }, this.init.ringTimeoutMs ?? RING_TIMEOUT_MS)
  }

  private armConnectTimer (): void {
    clearTimeout(this.connectTimer)
    this.connectTimer = setTimeout(() => {
      if (this.state === 'connecting') this.end('failed', 'failed', 'the call did not connect in time')
    }, CONNECT_TIMEOUT_MS)
  }

  private onChannelClosed (err?: Error): void {
    if (this.state === 'ended') return
    const protocol = err instanceof CallProtocolError || err instanceof CallBindingError || err instanceof CallBudgetError
    // The other side broke the protocol: the call ends, whatever its state (and it hears why on the data channel).
    if (protocol) {
      this.end('protocol', 'protocol', err.message)
      return
    }
    // A connected call outlives its signalling stream (the data channel carries the hang-up);
    // before that, the stream is the call.
    if (this.state === 'connected' || this.state === 'reconnecting') return
    if (err != null) {
      // A caller whose ring is dropped cannot tell a refusal from a device gone: unreachable.
      this.finish(this.state === 'ringing' ? 'missed' : this.state === 'calling' ? 'unreachable' : 'failed', err.message)
      return
    }
    this.finish(this.state === 'ringing' ? 'missed' : this.state === 'calling' ? 'unreachable' : 'failed')
  }

  /** Ends the call and tells the other side why (signalling and data channel). */
  end (reason: CallEndReason, wire: HangupReasonName, message?: string): void {
    if (this.state === 'ended') return
    if (reason === 'fingerprint' && message != null) this.emit({ type: 'warning', message })
    try {
      if (this.dataChannel?.readyState === 'open') this.dataChannel.send(inbandHangup(wire))
    } catch {
      // The signalling stream says it too.
    }
    this.send({ kind: 'hangup', reason: wire })
    this.finish(reason, message)
  }

  /** Ends the call here without telling the other side (it told us, or it is gone). */
  finish (reason: CallEndReason, message?: string): void {
    if (this.state === 'ended') return
    for (const timer of [this.ringTimer, this.connectTimer]) clearTimeout(timer)
    this.recovery.stop()
    this.endedAt = this.init.now()
    this.endReason = reason
    this.state = 'ended'
    // A moment for the in-band hang-up to leave before the connection closes.
    const { dataChannel, pc } = this
    setTimeout(() => {
      try {
        dataChannel?.close()
        pc?.close()
      } catch (err) {
        log('closing the connection failed: %s', (err as Error).message)
      }
    }, dataChannel?.readyState === 'open' ? CLOSE_GRACE_MS : 0)
    this.init.channel.close()
    this.emit({ type: 'state', state: 'ended' })
    this.emit({ type: 'ended', reason, durationMs: this.durationMs, message })
  }
}
