/**
 * The call screen (issue 12), a modal dialog over the app: an incoming
 * call (accept with audio, accept with video, decline; a request from
 * someone not in the contacts says so), a call being placed (cancel), a
 * call under way (mute my microphone, mute the other side, camera on and
 * off, switch camera, hang up, the timer, the quality from getStats, what
 * the other side muted), and how it ended. Focus goes to the first control
 * when the screen opens or its phase changes, Tab stays inside it, and it
 * goes back to where it was when the screen closes.
 */
import { useEffect, useRef, useState } from 'preact/hooks'
import type { TabCalls, CallView } from '../app/calls.js'
import type { CallEndReason, CallStats } from '../../../src/calls/index.js'
import { formatDuration, shortName } from './format.js'

/** How an ended call is told. */
function endText (reason: CallEndReason | undefined, view: CallView): string {
  switch (reason) {
    case 'hangup':
    case 'remote-hangup': return view.connectedAt != null ? `Call ended, ${formatDuration(view.durationMs)}` : 'Call ended'
    case 'declined': return view.direction === 'outgoing' ? `${shortName(view.handle)} declined the call` : 'You declined the call'
    case 'busy': return `${shortName(view.handle)} is busy in another call`
    case 'missed': return view.direction === 'outgoing' ? 'No answer' : 'Missed call'
    case 'unreachable': return `${shortName(view.handle)} could not be reached`
    case 'fingerprint': return 'Call ended: the connection was not the one agreed (possible tampering)'
    case 'protocol': return 'Call ended: the other side broke the protocol'
    case 'failed': return 'Call failed: no connection'
    case 'answered-elsewhere': return 'Answered on another device'
    case undefined: return 'Call ended'
  }
}

/** The call's phase in words (the timer while connected). */
function statusText (view: CallView, now: number): string {
  switch (view.state) {
    case 'calling': return 'Calling…'
    case 'ringing': return view.direction === 'incoming' ? `Incoming ${view.video ? 'video' : 'voice'} call` : 'Ringing…'
    case 'connecting': return 'Connecting…'
    case 'connected': return formatDuration(view.connectedAt != null ? now - view.connectedAt : 0)
    case 'reconnecting': return 'Reconnecting…'
    case 'ended': return endText(view.endReason, view)
  }
}

/** The quality indicator: an estimated MOS in words, and what it comes from. */
function Quality ({ stats }: { stats?: CallStats }) {
  if (stats?.mos == null) return <p class="quality" data-quality="unknown">Quality: measuring…</p>
  const word = stats.mos >= 4 ? 'good' : stats.mos >= 3.3 ? 'fair' : 'poor'
  const parts = [`round trip ${Math.round(stats.rttMs ?? 0)} ms`, `loss ${((stats.loss ?? 0) * 100).toFixed(1)}%`, `jitter ${Math.round(stats.jitterMs ?? 0)} ms`]
  if (stats.localCandidateType === 'relay' || stats.remoteCandidateType === 'relay') parts.push('through a relay')
  return <p class="quality" data-quality={word} data-mos={stats.mos} data-rtt={stats.rttMs}>Quality: {word} (MOS {stats.mos.toFixed(1)}) · {parts.join(' · ')}</p>
}

/**
 * Whether a call's screen shows the videos: a video call once it is
 * connected (and while it reconnects) and the other side's frames flow
 * (or the connection has been up a while without them: `videoFlowing`,
 * web/src/app/calls.ts); not before. Putting two playing video elements on
 * the page takes 15-20 ms of the tab's thread and more of the machine
 * (compositing): mounted as the call connected, on the benchmark's 2-core
 * machine they held back its first sound and first frame by ~20 ms each
 * (`npm run bench:call`, 2026-12-08); mounted while it connected, the
 * WebRTC steps between the accept and DTLS (CPU profiles). No remote frame
 * comes before DTLS, and the first one ~80 ms after it; the element mounted
 * as it comes presents it as soon (the benchmark's `callFirstFrameShown`).
 */
export function videosShown (view: Pick<CallView, 'video' | 'state' | 'videoFlowing'>): boolean {
  return view.video && view.videoFlowing && (view.state === 'connected' || view.state === 'reconnecting')
}

/** A video element showing a stream (srcObject cannot be set as an attribute). */
function StreamVideo ({ stream, class: cls, label }: { stream?: MediaStream, class: string, label: string }) {
  const ref = useRef<HTMLVideoElement>(null)
  useEffect(() => {
    const v = ref.current
    if (v == null || v.srcObject === (stream ?? null)) return
    v.srcObject = stream ?? null
    v.play().catch(() => {})
  }, [stream])
  // Muted: the remote audio plays through the call's own audio element (platform/call-media.ts).
  return <video ref={ref} class={cls} autoplay playsInline muted aria-label={label} />
}

export function CallScreen ({ calls, view }: { calls: TabCalls, view: CallView }) {
  const dialog = useRef<HTMLElement>(null)
  const [now, setNow] = useState(Date.now())
  const [error, setError] = useState<string>()
  const name = shortName(view.handle)
  const phase = view.state === 'ended' ? 'ended' : view.state === 'ringing' && view.direction === 'incoming' ? 'incoming' : view.state === 'calling' || view.state === 'ringing' ? 'outgoing' : 'active'

  useEffect(() => {
    if (view.state !== 'connected') return
    const timer = setInterval(() => { setNow(Date.now()) }, 1000)
    return () => { clearInterval(timer) }
  }, [view.state])

  // Focus the first control when the screen opens or its phase changes; give it back when it closes.
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null
    return () => { if (before != null && document.contains(before)) before.focus() }
  }, [])
  useEffect(() => {
    dialog.current?.querySelector<HTMLElement>('.call-controls button')?.focus()
  }, [phase])

  const act = async (what: () => unknown): Promise<void> => {
    setError(undefined)
    try {
      await what()
    } catch (err) {
      setError((err as Error).message)
    }
  }
  const onKeyDown = (e: KeyboardEvent): void => {
    if (e.key === 'Escape') {
      // Escape never hangs up by accident; it closes the screen of a call that is over.
      e.preventDefault()
      if (phase === 'ended') calls.dismiss()
      return
    }
    if (e.key !== 'Tab' || dialog.current == null) return
    const focusable = [...dialog.current.querySelectorAll<HTMLElement>('button:not([disabled])')]
    if (focusable.length === 0) return
    const first = focusable[0]
    const last = focusable[focusable.length - 1]
    if (e.shiftKey && document.activeElement === first) {
      e.preventDefault()
      last.focus()
    } else if (!e.shiftKey && document.activeElement === last) {
      e.preventDefault()
      first.focus()
    }
  }
  const media = calls.media.get(view.id)
  const showVideo = videosShown(view)
  return (
    <div class="call-backdrop">
      <section ref={dialog} class={`call-screen call-${phase}`} role="dialog" aria-modal="true" aria-labelledby="call-title" aria-describedby="call-status"
        data-call-state={view.state} data-direction={view.direction} data-end-reason={view.endReason} data-ringing={calls.ringing ? 'true' : 'false'} onKeyDown={onKeyDown}>
        <h2 id="call-title">{view.video ? 'Video call' : 'Voice call'} {view.direction === 'incoming' ? 'from' : 'with'} {name}<span class="tag">{view.handle.includes('~') ? `~${view.handle.split('~')[1]}` : ''}</span></h2>
        <p id="call-status" class="call-status" role="status" aria-live="polite">{statusText(view, now)}</p>
        {view.request && phase !== 'ended' && <p class="banner">{name} is not in your contacts. {view.directToStranger ? 'Your relays offer no TURN server: this call would be direct, and they would see your IP address.' : 'The call goes through your relay, so they do not see your IP address.'}</p>}
        {view.warning != null && <p class="banner warn" role="alert">{view.warning}</p>}
        {error != null && <p class="error" role="alert">{error}</p>}
        {showVideo && (
          <div class="call-videos">
            <StreamVideo stream={media?.remote} class="remote" label={`${name}'s camera`} />
            {view.cameraOn && <StreamVideo stream={media?.local} class="local" label="Your camera" />}
          </div>
        )}
        {phase === 'active' && (
          <ul class="call-remote-state" aria-label={`${name}'s microphone and camera`}>
            <li data-remote-audio={view.remoteMedia.audio ? 'on' : 'off'}>{view.remoteMedia.audio ? `${name}'s microphone is on` : `${name} muted their microphone`}</li>
            {view.video && <li data-remote-video={view.remoteMedia.video ? 'on' : 'off'}>{view.remoteMedia.video ? `${name}'s camera is on` : `${name}'s camera is off`}</li>}
          </ul>
        )}
        {phase === 'active' && view.state === 'connected' && <Quality stats={view.stats} />}
        <div class="call-controls" role="group" aria-label="Call controls">
          {phase === 'incoming' && <>
            <button type="button" onClick={() => { void act(async () => { await calls.accept(false) }) }}>Accept with audio</button>
            {view.video && <button type="button" onClick={() => { void act(async () => { await calls.accept(true) }) }}>Accept with video</button>}
            <button type="button" class="danger" onClick={() => { void act(() => { calls.decline() }) }}>Decline</button>
          </>}
          {phase === 'outgoing' && <button type="button" class="danger" onClick={() => { calls.hangUp() }}>Cancel call</button>}
          {phase === 'active' && <>
            <button type="button" class="secondary" aria-pressed={!view.micOn} onClick={() => { calls.mute(view.micOn) }}>Mute microphone</button>
            <button type="button" class="secondary" aria-pressed={view.remoteMuted} onClick={() => { calls.muteRemote(!view.remoteMuted) }}>Mute {name}</button>
            {view.video && <button type="button" class="secondary" aria-pressed={!view.cameraOn} onClick={() => { void act(async () => { await calls.camera(!view.cameraOn) }) }}>Camera off</button>}
            {view.video && <button type="button" class="secondary" disabled={!view.cameraOn} onClick={() => { void act(async () => { await calls.switchCamera() }) }}>Switch camera</button>}
            <button type="button" class="danger" onClick={() => { calls.hangUp() }}>Hang up</button>
          </>}
          {phase === 'ended' && <button type="button" onClick={() => { calls.dismiss() }}>Close</button>}
        </div>
      </section>
    </div>
  )
}
