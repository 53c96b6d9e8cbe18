/**
 * A tab's media for calls (issue 12): the browser's `RTCPeerConnection`
 * with the microphone and camera (getUserMedia) for src/calls, through the
 * {@link PeerConnectionFactory} the peer is given. Per call it keeps the
 * local and the remote stream, plays the remote audio in an `<audio>`
 * element (Chromium reports no `audioLevel` for a remote track nothing
 * plays), and switches cameras: by facing mode where the camera has one,
 * else to the next camera by device id (fake and most desktop cameras have
 * no facing mode), with `replaceTrack` so that nothing is renegotiated.
 * ICE servers and the transport policy come from src/calls (only the
 * user's relays' TURN; `relay` with hide-my-IP), never from here.
 */
import type { CallMediaRequest, CallPeerConnection, CallRtcConfiguration, PeerConnectionFactory } from '../../../src/calls/index.js'

/** One call's media. */
export interface CallMediaSet {
  pc: RTCPeerConnection
  local: MediaStream
  remote: MediaStream
  /** Plays the remote audio (muting it is "mute the other side"). */
  audio: HTMLAudioElement
  /** The camera track, kept while the camera is off (its sender then sends nothing). */
  camera?: MediaStreamTrack
  facing: 'user' | 'environment'
}

type Listener = (callId: string) => void

/** The media of this tab's calls. */
export class BrowserCallMedia {
  private readonly calls = new Map<string, CallMediaSet>()
  private readonly listeners = new Set<Listener>()
  private prepared?: { video: boolean, stream: Promise<MediaStream> }
  /** Whether the next incoming call the user accepts sends video (accept with audio keeps the camera off). */
  acceptWithVideo = true

  constructor (private readonly mediaDevices: MediaDevices = navigator.mediaDevices) {}

  /** The factory the peer makes its calls' connections with. */
  factory (): PeerConnectionFactory {
    return async (config, request) => await this.create(config, request)
  }

  /** Tells `listener` when a call's media changes (a remote track arrived, the camera switched). */
  on (listener: Listener): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** A call's media, once its connection is made. */
  get (callId: string): CallMediaSet | undefined {
    return this.calls.get(callId)
  }

  /**
   * Opens the microphone (and camera) now for the next call, so that the
   * call does not wait for the devices (the benchmark starts its clock after
   * this, as for the bare pair it compares with).
   */
  prepare (video: boolean): void {
    this.prepared?.stream.then(stopAll, () => {})
    this.prepared = { video, stream: this.mediaDevices.getUserMedia({ audio: true, video }) }
  }

  private async userMedia (video: boolean): Promise<MediaStream> {
    const prepared = this.prepared
    this.prepared = undefined
    if (prepared?.video === video) return await prepared.stream
    prepared?.stream.then(stopAll, () => {})
    return await this.mediaDevices.getUserMedia({ audio: true, video })
  }

  private async create (config: CallRtcConfiguration, request: CallMediaRequest): Promise<CallPeerConnection> {
    const local = await this.userMedia(request.video)
    const pc = new RTCPeerConnection({ iceServers: config.iceServers, iceTransportPolicy: config.iceTransportPolicy })
    const remote = new MediaStream()
    const audio = new Audio()
    audio.autoplay = true
    audio.srcObject = remote
    const camera = local.getVideoTracks()[0]
    const sendVideo = request.direction === 'outgoing' || this.acceptWithVideo
    for (const track of local.getTracks()) {
      const sender = pc.addTrack(track, local)
      // A camera the user keeps off sends nothing at all (a disabled track would still send black frames).
      if (track.kind === 'video' && !sendVideo) await sender.replaceTrack(null)
    }
    const set: CallMediaSet = { pc, local, remote, audio, camera, facing: 'user' }
    this.calls.set(request.callId, set)
    pc.addEventListener('track', (event) => {
      remote.addTrack(event.track)
      audio.play().catch(() => {})
      this.changed(request.callId)
    })
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'closed') this.release(request.callId)
    })
    this.changed(request.callId)
    return pc as unknown as CallPeerConnection
  }

  /** Turns the camera's sending on or off (src/calls tells the other side). */
  async camera (callId: string, on: boolean): Promise<void> {
    const set = this.calls.get(callId)
    const sender = set?.pc.getTransceivers().find(t => t.receiver.track.kind === 'video')?.sender
    if (set?.camera == null || sender == null) return
    set.camera.enabled = on
    await sender.replaceTrack(on ? set.camera : null)
    this.changed(callId)
  }

  /** Whether the camera is sending now. */
  cameraOn (callId: string): boolean {
    const set = this.calls.get(callId)
    return set?.pc.getTransceivers().some(t => t.receiver.track.kind === 'video' && t.sender.track != null) === true
  }

  /**
   * Switches between front and back camera by facing mode; a camera that
   * has none (OverconstrainedError, or no facing mode in its settings)
   * gives way to the next camera by device id. The new track replaces the
   * old on the sender: no renegotiation.
   */
  async switchCamera (callId: string): Promise<void> {
    const set = this.calls.get(callId)
    if (set?.camera == null) return
    const old = set.camera
    const facing = set.facing === 'user' ? 'environment' : 'user'
    let stream: MediaStream | undefined
    if (old.getSettings().facingMode != null) {
      try {
        stream = await this.mediaDevices.getUserMedia({ video: { facingMode: { exact: facing } } })
      } catch (err) {
        if ((err as Error).name !== 'OverconstrainedError' && (err as Error).name !== 'NotFoundError') throw err
      }
    }
    if (stream == null) {
      const cameras = (await this.mediaDevices.enumerateDevices()).filter(d => d.kind === 'videoinput')
      if (cameras.length < 2) return
      const at = cameras.findIndex(d => d.deviceId === old.getSettings().deviceId)
      const next = cameras[(at + 1) % cameras.length]
      stream = await this.mediaDevices.getUserMedia({ video: { deviceId: { exact: next.deviceId } } })
    }
    const track = stream.getVideoTracks()[0]
    const sending = this.cameraOn(callId)
    track.enabled = old.enabled
    const sender = set.pc.getTransceivers().find(t => t.receiver.track.kind === 'video')?.sender
    if (sending) await sender?.replaceTrack(track)
    set.local.removeTrack(old)
    set.local.addTrack(track)
    old.stop()
    set.camera = track
    set.facing = facing
    this.changed(callId)
  }

  /** Mutes or unmutes what the other side says, here only. */
  muteRemote (callId: string, muted: boolean): void {
    const set = this.calls.get(callId)
    if (set != null) set.audio.muted = muted
  }

  /** Stops a call's devices and playback. */
  release (callId: string): void {
    const set = this.calls.get(callId)
    if (set == null) return
    this.calls.delete(callId)
    stopAll(set.local)
    set.camera?.stop()
    set.audio.pause()
    set.audio.srcObject = null
    this.changed(callId)
  }

  private changed (callId: string): void {
    for (const listener of [...this.listeners]) listener(callId)
  }
}

function stopAll (stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop()
}
