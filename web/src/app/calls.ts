/**
 * The tab's calls (issue 12, the web app): follows the peer's call service
 * (src/peer/calls.ts over src/calls) and the tab's media
 * (platform/call-media.ts), keeps what the call screen shows in the app's
 * state (`state.call`), rings (a WebAudio tone, and a notification while
 * the tab is hidden), reads the call's quality from `getStats()` every few
 * seconds, and offers what the call screen does. A second call while one is
 * under way is answered "busy" by src/calls; the caller's side writes each
 * call's end into both threads (src/peer/calls.ts).
 */
import type { CallEndReason, CallSession, CallState, CallStats } from '../../../src/calls/index.js'
import type { PeerCalls } from '../../../src/peer/index.js'
import type { BrowserCallMedia } from '../platform/call-media.js'
import { notifyHidden } from './notify.js'
import { RingTone } from './ring-tone.js'
import type { StateBox } from './state.js'

/** How often the quality indicator is read while connected. */
const STATS_INTERVAL_MS = 2_000
/** How long the ended screen stays before it closes by itself. */
const ENDED_SHOWN_MS = 4_000
/**
 * How long a placed call may be connecting (its accept arrived) before the
 * screen says so: one that connects sooner goes from "Ringing…" straight to
 * the call. That render (10-20 ms of the tab's thread) came right after the
 * accept, holding back the answer being applied and the callee's
 * candidates that came with it (traces of the call benchmark).
 */
export const CONNECTING_SHOWN_AFTER_MS = 200
/**
 * How long a connected video call's screen waits for the other side's
 * frames before it shows the videos anyway (its own camera's preview, and
 * the other side's element: a camera that sends nothing yet): see
 * `videosShown` (web/src/ui/CallScreen.tsx).
 */
export const VIDEOS_SHOWN_AFTER_MS = 1_000

/** What the call screen shows. */
export interface CallView {
  id: string
  direction: 'outgoing' | 'incoming'
  state: CallState
  /** The other side's `name~tag` (or its account fingerprint when unknown). */
  handle: string
  /** Placed as a video call. */
  video: boolean
  /** From someone who is not a contact. */
  request: boolean
  /** The media may go direct to someone who is not a contact (our relays offer no TURN). */
  directToStranger: boolean
  micOn: boolean
  cameraOn: boolean
  /** The user muted the other side here. */
  remoteMuted: boolean
  /** What the other side said of its microphone and camera. */
  remoteMedia: { audio: boolean, video: boolean }
  /** When the call connected (ms since the epoch, this tab's clock). */
  connectedAt?: number
  /** The other side's video frames have come (or the call has been connected VIDEOS_SHOWN_AFTER_MS without them): the screen shows the videos from then on. */
  videoFlowing: boolean
  endReason?: CallEndReason
  durationMs: number
  warning?: string
  stats?: CallStats
}

/** The tab's calls. */
export class TabCalls {
  private call?: CallSession
  private view?: CallView
  private readonly ring = new RingTone()
  /** The request whose media would go direct (our relays offer no TURN): its screen says so while it rings. */
  private directRequest?: CallSession
  private statsTimer?: ReturnType<typeof setInterval>
  private closeTimer?: ReturnType<typeof setTimeout>
  private connectingTimer?: ReturnType<typeof setTimeout>
  private videosTimer?: ReturnType<typeof setTimeout>
  private readonly offs: Array<() => void> = []

  constructor (
    private readonly calls: PeerCalls,
    readonly media: BrowserCallMedia,
    private readonly state: StateBox,
    private readonly navigate: (handle: string) => void,
    private readonly notifications: () => boolean
  ) {}

  start (): void {
    this.offs.push(this.calls.service.on((event) => {
      if (event.type === 'incoming' || event.type === 'outgoing') this.follow(event.call)
      // A ring to another device of the contact that the screen never showed (or moved away from) lets its media go.
      else if (event.call !== this.call) this.media.release(event.call.id)
    }))
    this.offs.push(this.media.on((id) => { if (id === this.call?.id) this.update() }))
  }

  stop (): void {
    for (const off of this.offs.splice(0)) off()
    this.ring.stop()
    clearInterval(this.statsTimer)
    clearTimeout(this.closeTimer)
    clearTimeout(this.connectingTimer)
    clearTimeout(this.videosTimer)
  }

  /** Whether the ring tone plays now. */
  get ringing (): boolean {
    return this.ring.playing
  }

  /** The call shown, if any. */
  get current (): CallSession | undefined {
    return this.call
  }

  /** Calls `handle` (a contact); the screen follows the call. */
  async place (handle: string, video: boolean): Promise<void> {
    if (this.call != null && !this.call.over) throw new Error('a call is already under way')
    await this.calls.place(handle, { video })
  }

  /** Accepts the ringing call, with the camera on (`video`) or off. */
  async accept (video: boolean): Promise<void> {
    const call = this.call
    if (call == null) return
    this.ring.stop()
    this.media.acceptWithVideo = video
    // Through the peer's guard: a request that would go direct is accepted only once its screen said so.
    await this.calls.accept(call, { video, direct: this.directRequest === call })
    this.update()
  }

  decline (): void {
    this.ring.stop()
    this.call?.decline()
  }

  hangUp (): void {
    this.call?.hangUp()
  }

  mute (muted: boolean): void {
    this.call?.mute(muted)
    this.update()
  }

  /** Mutes the other side here (nothing is sent). */
  muteRemote (muted: boolean): void {
    if (this.call == null || this.view == null) return
    this.media.muteRemote(this.call.id, muted)
    this.update({ remoteMuted: muted })
  }

  async camera (on: boolean): Promise<void> {
    const call = this.call
    if (call == null) return
    await this.media.camera(call.id, on)
    call.camera(on)
    this.update()
  }

  async switchCamera (): Promise<void> {
    if (this.call == null) return
    await this.media.switchCamera(this.call.id)
  }

  /** Closes the ended call's screen. */
  dismiss (): void {
    clearTimeout(this.closeTimer)
    if (this.call?.over !== false) {
      this.call = undefined
      this.view = undefined
      this.state.set({ call: undefined })
    }
  }

  private follow (call: CallSession): void {
    clearTimeout(this.closeTimer)
    clearTimeout(this.videosTimer)
    this.videosTimer = undefined
    this.call = call
    this.view = undefined
    const off = call.on((event) => {
      if (this.call !== call) return
      if (event.type === 'warning') this.update({ warning: event.message })
      else if (event.type === 'ended') {
        off()
        this.ended(event.reason)
      } else this.update()
      if (event.type === 'state' && event.state === 'connected') {
        this.startStats()
        this.videosTimer ??= setTimeout(() => { if (this.call === call && !call.over) this.update({ videoFlowing: true }) }, VIDEOS_SHOWN_AFTER_MS)
      }
    })
    if (call.direction === 'incoming') {
      // src/calls knows the media path only once the connection is made (at the accept): ask now, to say it while it rings.
      if (call.request) {
        this.calls.mediaPath(call).then((path) => {
          if (path !== 'direct' || this.call !== call) return
          this.directRequest = call
          this.update()
        }, () => {})
      }
      this.ring.start()
      const who = call.remote.handle ?? 'someone'
      if (this.notifications()) notifyHidden(`${call.video ? 'Video' : 'Voice'} call from ${who}`, call.request ? 'Not in your contacts' : 'Incoming call', () => { if (call.remote.handle != null) this.navigate(call.remote.handle) })
    }
    this.update()
  }

  private ended (reason: CallEndReason): void {
    this.ring.stop()
    clearInterval(this.statsTimer)
    clearTimeout(this.videosTimer)
    this.videosTimer = undefined
    const call = this.call
    if (call != null) this.media.release(call.id)
    this.update({ endReason: reason })
    this.closeTimer = setTimeout(() => { this.dismiss() }, ENDED_SHOWN_MS)
  }

  private startStats (): void {
    clearInterval(this.statsTimer)
    const read = (): void => {
      const call = this.call
      if (call == null || call.over) return
      call.stats().then((stats) => { if (this.call === call && stats != null) this.update({ stats }) }, () => {})
    }
    // The first read waits too: at the connect the stats say nothing yet (no round trip measured), and a
    // getStats() then queues on the WebRTC threads beside the first frames (and the fingerprint check's own).
    this.statsTimer = setInterval(read, STATS_INTERVAL_MS)
  }

  /** Writes the call's view into the app state (fields given override what the session says). */
  private update (patch: Partial<CallView> = {}): void {
    const call = this.call
    if (call == null) return
    const before = this.view
    // A placed call that just became "connecting" is shown so only if it lasts (CONNECTING_SHOWN_AFTER_MS); only
    // while the screen shows that call: one the screen just moved to (another device's ring taken) shows at once.
    if (call.direction === 'outgoing' && call.state === 'connecting' && before?.id === call.id && before.state !== 'connecting' && Object.keys(patch).length === 0) {
      this.connectingTimer ??= setTimeout(() => {
        this.connectingTimer = undefined
        if (this.call === call && call.state === 'connecting') this.update({ state: 'connecting' })
      }, CONNECTING_SHOWN_AFTER_MS)
      return
    }
    clearTimeout(this.connectingTimer)
    this.connectingTimer = undefined
    this.view = {
      id: call.id,
      direction: call.direction,
      state: call.state,
      handle: call.remote.handle ?? call.remote.account.slice(0, 16),
      video: call.video,
      request: call.request,
      directToStranger: call.directToStranger || this.directRequest === call,
      micOn: call.localMedia.audio,
      cameraOn: this.media.cameraOn(call.id),
      remoteMuted: before?.remoteMuted ?? false,
      remoteMedia: { ...call.remoteMedia },
      connectedAt: call.connectedAt,
      // Once true, for the rest of the call (a camera turned off or a reconnection keeps the elements).
      videoFlowing: (before?.id === call.id && before.videoFlowing) || this.media.remoteVideoFlowing(call.id),
      endReason: call.endReason ?? before?.endReason,
      durationMs: call.durationMs,
      warning: before?.warning,
      stats: before?.stats,
      ...patch
    }
    this.state.set({ call: this.view })
  }
}
