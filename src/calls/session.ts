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
import type { PeerId } from '@libp2p/interface'
import {
  CONNECT_TIMEOUT_MS, DISCONNECTED_RESTART_MS, MAX_CANDIDATES_PER_CALL, MAX_RENEGOTIATIONS_PER_CALL, RECONNECT_TIMEOUT_MS, RING_TIMEOUT_MS
} from './constants.js'
import { CallBindingError, CallBudgetError, CallProtocolError, CallStateError, FingerprintMismatchError } from './errors.js'
import { remoteFingerprints } from './peer-connection.js'
import type { CallDataChannel, CallPeerConnection, CallRtcConfiguration, IceCandidate, PeerConnectionFactory } from './peer-connection.js'
import { isLoopback, parseCandidate, sdpFingerprints, stripAddresses } from './sdp.js'
import type { SignalChannel } from './channel.js'
import type { CallMessage, HangupReasonName, Signal } from './wire.js'
import { callStats } from './stats.js'
import type { CallStats } from './stats.js'

const log = logger('starling:calls:session')

/** Where a call stands. */
export type CallState = 'calling' | 'ringing' | 'connecting' | 'connected' | 'reconnecting' | 'ended'

/**
 * Why a call ended: `hangup` (this side), `remote-hangup`, `declined`,
 * `busy`, `missed` (nobody answered in time, or the caller gave up while it
 * rang), `failed` (no media path, or it did not recover), `fingerprint` (the
 * remote certificate is not the one the SDP named), `protocol` (the other
 * side broke the protocol or a budget), `unreachable` (the callee's device
 * could not be reached).
 */
export type CallEndReason = 'hangup' | 'remote-hangup' | 'declined' | 'busy' | 'missed' | 'failed' | 'fingerprint' | 'protocol' | 'unreachable'

/** Who is on the other end, as the verified device record and the contacts say. */
export interface RemoteParty {
  /** The device (its peer id is the stream's authenticated one). */
  device: PeerId
  /** The account key, hex. */
  account: string
  /** The `name~tag`, when known. */
  handle?: string
  /** A contact (else the call is a request). */
  contact: boolean
}

/** A call's events, one union on `type`. */
export type CallSessionEvent =
  | { type: 'state', state: CallState }
  | { type: 'ringing', request: boolean }
  | { type: 'remote-media', audio: boolean, video: boolean }
  | { type: 'warning', message: string }
  | { type: 'ended', reason: CallEndReason, durationMs: number, message?: string }

/** What a session is made with. */
export interface CallSessionInit {
  callId: Uint8Array
  direction: 'outgoing' | 'incoming'
  remote: RemoteParty
  video: boolean
  channel: SignalChannel
  createPeerConnection: PeerConnectionFactory
  /** ICE servers and policy, read when the connection is made (TURN credentials are short-lived). */
  rtcConfiguration(request: { stranger: boolean }): Promise<CallRtcConfiguration>
  /** True when an SDP names a fingerprint of an earlier call (a replay). */
  seenFingerprint(fingerprint: string): boolean
  /** Only loopback candidates are sent and taken (everything on one machine: tests, benchmarks). */
  loopbackOnly?: boolean
  now(): number
  ringTimeoutMs?: number
}

/** The in-band hang-up on the call's data channel (the signalling stream may be slower, or gone). */
const DATA_CHANNEL_LABEL = 'starling-call'
const DATA_CHANNEL_ID = 0
const MAX_DATA_CHANNEL_MESSAGE = 256
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
  startedAt: number
  connectedAt?: number
  endedAt?: number
  endReason?: CallEndReason
  pc?: CallPeerConnection
  private readonly init: CallSessionInit
  private readonly listeners = new Set<(event: CallSessionEvent) => void>()
  private dataChannel?: CallDataChannel
  private offerSdp?: string
  private expectedFingerprints?: string[]
  private accepted = false
  private readonly localCandidates: IceCandidate[] = []
  private remoteCandidates = 0
  private renegotiations = 0
  private ringTimer?: ReturnType<typeof setTimeout>
  private connectTimer?: ReturnType<typeof setTimeout>
  private restartTimer?: ReturnType<typeof setTimeout>
  private failTimer?: ReturnType<typeof setTimeout>

  constructor (init: CallSessionInit) {
    this.init = init
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
    this.checkSdp(offerSdp)
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
    if (this.state === 'connected' || this.state === 'reconnecting') this.restartIce()
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
    this.directToStranger = request.stranger && config.iceTransportPolicy !== 'relay'
    if (this.directToStranger) this.emit({ type: 'warning', message: 'our relays offer no TURN server: this call with someone who is not a contact is direct, and they will see your address' })
    const pc = await this.init.createPeerConnection(config, { callId: this.id, direction: this.direction, video: this.video })
    if (this.state === 'ended') {
      pc.close()
      return pc
    }
    this.pc = pc
    pc.addEventListener('icecandidate', (event) => { this.onLocalCandidate(event.candidate) })
    pc.addEventListener('connectionstatechange', () => { this.onConnectionState() })
    const channel = pc.createDataChannel(DATA_CHANNEL_LABEL, { negotiated: true, id: DATA_CHANNEL_ID })
    channel.addEventListener('message', (event) => { this.onDataChannelMessage(event.data) })
    this.dataChannel = channel
    return pc
  }

  private onLocalCandidate (candidate: IceCandidate | null): void {
    if (candidate == null || candidate.candidate === '' || this.state === 'ended') return
    if (this.init.loopbackOnly === true && !this.loopback(candidate.candidate)) return
    // Nothing about our addresses leaves before the callee accepts.
    if (!this.accepted) {
      if (this.localCandidates.length < MAX_CANDIDATES_PER_CALL) this.localCandidates.push(candidate)
      return
    }
    this.send({ kind: 'candidate', candidate })
  }

  private loopback (candidate: string): boolean {
    try {
      return isLoopback(parseCandidate(candidate).address)
    } catch {
      return false
    }
  }

  private flushCandidates (): void {
    for (const candidate of this.localCandidates.splice(0)) this.send({ kind: 'candidate', candidate })
  }

  /** An SDP of this call: its fingerprints named, none of an earlier call; once known, the same ones. */
  private checkSdp (sdp: string): void {
    const fingerprints = sdpFingerprints(sdp)
    if (this.expectedFingerprints == null) {
      for (const f of fingerprints) {
        if (this.init.seenFingerprint(f)) throw new CallBindingError('the SDP names the DTLS certificate of an earlier call: a replay')
      }
      this.expectedFingerprints = fingerprints
      return
    }
    // A renegotiation may not swap the certificate the call was bound to.
    if (fingerprints.some(f => !(this.expectedFingerprints ?? []).includes(f))) throw new CallBindingError('a renegotiation names another DTLS certificate')
  }

  /** The fingerprints the remote SDP named (for the service to remember after the call). */
  get fingerprints (): string[] {
    return this.expectedFingerprints ?? []
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
        this.onRenegotiate(signal.sdp, signal.answer)
        return
      case 'media':
        this.remoteMedia = { audio: signal.audio, video: signal.video }
        this.emit({ type: 'remote-media', audio: signal.audio, video: signal.video })
        return
      case 'restart':
        this.expectDirection('outgoing', signal.kind)
        if (this.accepted) this.restartIce()
    }
  }

  private expectDirection (direction: 'outgoing' | 'incoming', kind: string): void {
    if (this.direction !== direction) throw new CallProtocolError(`a ${kind} frame sent to the ${this.direction === 'outgoing' ? 'caller' : 'callee'}`)
  }

  private onAccept (sdp: string, video: boolean): void {
    this.checkSdp(sdp)
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
    const info = parseCandidate(candidate.candidate)
    if (this.init.loopbackOnly === true && !isLoopback(info.address)) return
    this.pc?.addIceCandidate(candidate).catch((err: Error) => { log('candidate refused: %s', err.message) })
  }

  private onRenegotiate (sdp: string, answer: boolean): void {
    if (!this.accepted || this.pc == null) throw new CallProtocolError('a renegotiation before the call was accepted')
    if (++this.renegotiations > MAX_RENEGOTIATIONS_PER_CALL) throw new CallBudgetError(`more than ${MAX_RENEGOTIATIONS_PER_CALL} renegotiations on one call`)
    // The caller makes every offer, so the two sides never cross (no glare).
    if (answer !== (this.direction === 'outgoing')) throw new CallProtocolError(answer ? 'an answer to an offer never made' : 'an offer from the callee')
    this.checkSdp(sdp)
    const pc = this.pc
    const run = answer
      ? pc.setRemoteDescription({ type: 'answer', sdp })
      : (async () => {
          await pc.setRemoteDescription({ type: 'offer', sdp })
          const reply = await pc.createAnswer()
          await pc.setLocalDescription({ type: 'answer', sdp: reply.sdp ?? '' })
          this.send({ kind: 'renegotiate', sdp: stripAddresses(reply.sdp ?? ''), answer: true })
        })()
    run.catch((err: Error) => { this.end('failed', 'failed', `the ICE restart failed: ${err.message}`) })
  }

  /** ICE restart: the caller makes an `iceRestart` offer; the callee asks the caller to. */
  private restartIce (): void {
    if (this.pc == null || this.state === 'ended') return
    this.setState('reconnecting')
    this.armFailTimer()
    if (this.direction === 'incoming') {
      this.send({ kind: 'restart' })
      return
    }
    const pc = this.pc
    void (async () => {
      const offer = await pc.createOffer({ iceRestart: true })
      await pc.setLocalDescription({ type: 'offer', sdp: offer.sdp ?? '' })
      this.send({ kind: 'renegotiate', sdp: stripAddresses(offer.sdp ?? ''), answer: false })
    })().catch((err: Error) => { this.end('failed', 'failed', `the ICE restart failed: ${err.message}`) })
  }

  private onConnectionState (): void {
    const pc = this.pc
    if (pc == null || this.state === 'ended') return
    switch (pc.connectionState) {
      case 'connected':
        clearTimeout(this.restartTimer)
        this.restartTimer = undefined
        this.verifyFingerprint(pc).catch((err: Error) => {
          this.end('fingerprint', 'fingerprint', err.message)
        })
        return
      case 'disconnected':
        // Often a moment's loss; restart ICE if it lasts.
        if (this.restartTimer == null && this.state === 'connected') {
          this.restartTimer = setTimeout(() => {
            this.restartTimer = undefined
            if (this.pc?.connectionState !== 'connected') this.restartIce()
          }, DISCONNECTED_RESTART_MS)
        }
        return
      case 'failed':
        if (this.state === 'connected' || this.state === 'reconnecting') {
          this.restartIce()
        } else {
          this.end('failed', 'failed', 'no media path could be found')
        }
    }
  }

  /** After DTLS: the remote certificate must be one the SDP named, or the call ends with a warning. */
  private async verifyFingerprint (pc: CallPeerConnection): Promise<void> {
    const seen = await remoteFingerprints(pc)
    if (this.state === 'ended') return
    const expected = this.expectedFingerprints ?? []
    if (seen.length === 0 || !seen.every(f => expected.includes(f))) {
      throw new FingerprintMismatchError(`the remote DTLS certificate (${seen[0] ?? 'none reported'}) is not the one its SDP named: the call was ended, it may have been tampered with`)
    }
    clearTimeout(this.connectTimer)
    clearTimeout(this.failTimer)
    if (this.connectedAt == null) {
      this.connectedAt = this.init.now()
      this.sendMedia()
    }
    this.setState('connected')
  }

  private onDataChannelMessage (data: unknown): void {
    if (typeof data !== 'string' || data.length > MAX_DATA_CHANNEL_MESSAGE) return
    let parsed: unknown
    try {
      parsed = JSON.parse(data)
    } catch {
      return
    }
    const reason = typeof parsed === 'object' && parsed != null ? (parsed as { hangup?: unknown }).hangup : undefined
    if (reason === 'normal' || reason === 'timeout' || reason === 'failed' || reason === 'fingerprint' || reason === 'protocol') this.onRemoteHangup(reason)
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

  private armFailTimer (): void {
    if (this.failTimer != null) return
    this.failTimer = setTimeout(() => {
      this.failTimer = undefined
      if (this.state === 'reconnecting') this.end('failed', 'failed', 'the connection did not come back')
    }, RECONNECT_TIMEOUT_MS)
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
      if (this.dataChannel?.readyState === 'open') this.dataChannel.send(JSON.stringify({ hangup: wire }))
    } catch {
      // The signalling stream says it too.
    }
    this.send({ kind: 'hangup', reason: wire })
    this.finish(reason, message)
  }

  /** Ends the call here without telling the other side (it told us, or it is gone). */
  finish (reason: CallEndReason, message?: string): void {
    if (this.state === 'ended') return
    for (const timer of [this.ringTimer, this.connectTimer, this.restartTimer, this.failTimer]) clearTimeout(timer)
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
