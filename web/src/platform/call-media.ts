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
import { peerConnectionOptions } from '../../../src/calls/index.js'
import type { CallMediaRequest, CallPeerConnection, CallRtcConfiguration, MediaAttacher, PeerConnectionFactory } from '../../../src/calls/index.js'

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

  /** Adds the microphone and camera to a connection made while the call rang (src/calls, at the accept). */
  attacher (): MediaAttacher {
    return async (callId, options) => { await this.attach(callId, options.video) }
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
  async prepare (video: boolean): Promise<void> {
    this.prepared?.stream.then(stopAll, () => {})
    const stream = this.mediaDevices.getUserMedia({ audio: true, video })
    this.prepared = { video, stream }
    await stream
  }

  private async userMedia (video: boolean): Promise<MediaStream> {
    const prepared = this.prepared
    this.prepared = undefined
    if (prepared?.video === video) return await prepared.stream
    prepared?.stream.then(stopAll, () => {})
    return await this.mediaDevices.getUserMedia({ audio: true, video })
  }

  private async create (config: CallRtcConfiguration, request: CallMediaRequest): Promise<CallPeerConnection> {
    // A callee's connection made while it rings captures nothing: the devices open at the accept (attach).
    const local = request.media === false ? new MediaStream() : await this.userMedia(request.video)
    const pc = new RTCPeerConnection(peerConnectionOptions(config))
    const remote = new MediaStream()
    const audio = new Audio()
    audio.autoplay = true
    audio.srcObject = remote
    const set: CallMediaSet = { pc, local, remote, audio, facing: 'user' }
    // src/calls closes the connection of every call that ends, and the one made for a call that ended while the devices
    // opened (nothing was kept for it then); Chromium fires no event when the page closes it: the devices go with it.
    const close = pc.close.bind(pc)
    pc.close = () => {
      close()
      this.releaseSet(request.callId, set)
    }
    await this.addTracks(set, request.direction === 'outgoing' || this.acceptWithVideo)
    this.calls.set(request.callId, set)
    // The caller's receivers exist from its offer on, with the tracks the answer's media will come on: they go into
    // the remote stream and its audio element now, while the call rings, not when the answer is applied (5-10 ms of
    // this thread, held between the accept and DTLS: CPU profiles of the call benchmark). A callee's are known once
    // the offer is set ('track' below): transceivers its own tracks made may not be the ones the offer takes.
    if (request.direction === 'outgoing') this.addRemoteTracks(set, pc.getReceivers().map(r => r.track), request.callId, false)
    // In a task of its own: track events come while an offer or answer is applied, before its promise resolves, and
    // the call's next WebRTC step (the callee's answer, made while it rings) waited for this and the render it brings.
    pc.addEventListener('track', (event) => {
      setTimeout(() => { if (this.calls.get(request.callId) === set) this.addRemoteTracks(set, [event.track], request.callId, true) }, 0)
    })
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'closed') this.release(request.callId)
    })
    this.changed(request.callId)
    return pc as unknown as CallPeerConnection
  }

  /**
   * Adds remote tracks to the call's stream and plays it; the screen hears
   * of it (`announce`) only when one was new, and again when the other
   * side's video starts to flow (its track unmutes: {@link remoteVideoFlowing}).
   */
  private addRemoteTracks (set: CallMediaSet, tracks: MediaStreamTrack[], callId: string, announce: boolean): void {
    const fresh = tracks.filter(t => !set.remote.getTracks().includes(t))
    if (fresh.length === 0) return
    for (const track of fresh) {
      set.remote.addTrack(track)
      if (track.kind === 'video') track.addEventListener('unmute', () => { if (this.calls.get(callId) === set) this.changed(callId) })
    }
    set.audio.play().catch(() => {})
    if (announce) this.changed(callId)
  }

  /** Whether the other side's video frames come on a call now (its remote video track is unmuted). */
  remoteVideoFlowing (callId: string): boolean {
    return this.calls.get(callId)?.remote.getVideoTracks().some(t => !t.muted && t.readyState === 'live') === true
  }

  private async attach (callId: string, video: boolean): Promise<void> {
    const set = this.calls.get(callId)
    if (set == null) throw new Error('no connection for this call')
    const local = await this.userMedia(set.pc.getTransceivers().some(t => t.receiver.track.kind === 'video'))
    // The call ended while they opened (its answer leaves before them: the caller may hang up meanwhile): not kept on.
    if (this.released(callId, set, local)) return
    set.local = local
    // src/calls made the answer while it rang, with the offer's transceivers sending and no track:
    // the tracks go on their senders (addTrack would make new transceivers, to be negotiated again).
    const answered = set.pc.localDescription?.type === 'answer'
    if (answered) await this.replaceTracks(set, video)
    else await this.addTracks(set, video)
    this.changed(callId)
  }

  /**
   * Puts the local tracks on the senders of the transceivers of their kind
   * (a camera kept off: none), the camera's first (its encoder takes longest
   * to give a first frame), both asked for at once rather than one after the
   * other's answer from WebRTC's thread.
   */
  private async replaceTracks (set: CallMediaSet, sendVideo: boolean): Promise<void> {
    set.camera = set.local.getVideoTracks()[0]
    const tracks = [...set.local.getVideoTracks(), ...set.local.getAudioTracks()].filter(track => track.kind !== 'video' || sendVideo)
    const free = set.pc.getTransceivers().filter(t => t.sender.track == null)
    await Promise.all(tracks.map(async (track) => {
      const transceiver = free.find(t => t.receiver.track.kind === track.kind)
      if (transceiver != null) free.splice(free.indexOf(transceiver), 1)
      await transceiver?.sender.replaceTrack(track)
    }))
  }

  /**
   * Adds the local tracks (a callee's reuse the transceivers the offer made);
   * a camera the user keeps off sends nothing at all (a disabled track would
   * still send black frames), and is kept for turning it on.
   */
  private async addTracks (set: CallMediaSet, sendVideo: boolean): Promise<void> {
    set.camera = set.local.getVideoTracks()[0]
    for (const track of set.local.getTracks()) {
      const sender = set.pc.addTrack(track, set.local)
      if (track.kind === 'video' && !sendVideo) await sender.replaceTrack(null)
    }
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
   * old on the sender: no renegotiation. A camera whose frames the encoder
   * does not take (a depth camera: 16-bit grey) is passed over for the next.
   */
  async switchCamera (callId: string): Promise<void> {
    const set = this.calls.get(callId)
    if (set?.camera == null) return
    const facing = set.facing === 'user' ? 'environment' : 'user'
    if (set.camera.getSettings().facingMode != null) {
      try {
        const stream = await this.mediaDevices.getUserMedia({ video: { facingMode: { exact: facing } } })
        if (this.released(callId, set, stream)) return
        await this.useCamera(set, stream.getVideoTracks()[0])
        set.facing = facing
        this.changed(callId)
        return
      } catch (err) {
        if ((err as Error).name !== 'OverconstrainedError' && (err as Error).name !== 'NotFoundError') throw err
      }
    }
    const cameras = (await this.mediaDevices.enumerateDevices()).filter(d => d.kind === 'videoinput')
    const at = cameras.findIndex(d => d.deviceId === set.camera?.getSettings().deviceId)
    for (let step = 1; step < cameras.length; step++) {
      const next = cameras[(at + step) % cameras.length]
      const stream = await this.mediaDevices.getUserMedia({ video: { deviceId: { exact: next.deviceId } } })
      if (this.released(callId, set, stream)) return
      if (await this.useCamera(set, stream.getVideoTracks()[0])) break
    }
    set.facing = facing
    this.changed(callId)
  }

  /** Puts `track` in the old camera's place; resolves false (and keeps it only if nothing better comes) when its frames are not sent. */
  private async useCamera (set: CallMediaSet, track: MediaStreamTrack): Promise<boolean> {
    const old = set.camera
    const sender = set.pc.getTransceivers().find(t => t.receiver.track.kind === 'video')?.sender
    const sending = sender?.track != null
    if (old != null) track.enabled = old.enabled
    if (sending) await sender.replaceTrack(track)
    if (old != null) {
      set.local.removeTrack(old)
      old.stop()
    }
    set.local.addTrack(track)
    set.camera = track
    if (!sending) return true
    return await framesEncoded(set.pc)
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
    stopSet(set)
    this.changed(callId)
  }

  /** Lets `set` go: the call's media when it still is, else only its own devices (a connection replaced or never kept). */
  private releaseSet (callId: string, set: CallMediaSet): void {
    if (this.calls.get(callId) === set) this.release(callId)
    else stopSet(set)
  }

  /** Whether the call's media was let go while `opened` opened; then `opened` is stopped (else the device stays on). */
  private released (callId: string, set: CallMediaSet, opened: MediaStream): boolean {
    if (this.calls.get(callId) === set) return false
    stopAll(opened)
    return true
  }

  private changed (callId: string): void {
    for (const listener of [...this.listeners]) listener(callId)
  }
}

/** How long a new camera has to get frames encoded before the next is tried. */
const CAMERA_CHECK_MS = 2_000
const CAMERA_POLL_MS = 200

/** Total video frames the connection encoded so far. */
async function encoded (pc: RTCPeerConnection): Promise<number> {
  let n = 0
  ;(await pc.getStats()).forEach((s: Record<string, unknown>) => {
    if (s.type === 'outbound-rtp' && s.kind === 'video' && typeof s.framesEncoded === 'number') n += s.framesEncoded
  })
  return n
}

/** Whether the connection encodes new video frames within {@link CAMERA_CHECK_MS}. */
async function framesEncoded (pc: RTCPeerConnection): Promise<boolean> {
  const start = await encoded(pc)
  for (let waited = 0; waited < CAMERA_CHECK_MS; waited += CAMERA_POLL_MS) {
    await new Promise(resolve => setTimeout(resolve, CAMERA_POLL_MS))
    if (await encoded(pc) > start + 1) return true
  }
  return false
}

function stopAll (stream: MediaStream): void {
  for (const track of stream.getTracks()) track.stop()
}

function stopSet (set: CallMediaSet): void {
  stopAll(set.local)
  set.camera?.stop()
  set.audio.pause()
  set.audio.srcObject = null
}
