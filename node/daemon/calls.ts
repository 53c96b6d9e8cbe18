/**
 * The daemon's calls (issue 12, CLI calls): audio only, with @roamhq/wrtc.
 * `call` places a call to a handle, sends a WAV file's audio (looped), keeps
 * the call for N seconds once connected, hangs up and writes what it heard
 * to a WAV file. Incoming calls ring as API events; `call-answer` accepts
 * or declines one, and `--auto-answer` accepts every call from a contact
 * (bots, tests), sending `--call-audio-in` and recording to `--call-record`.
 * Every call's state changes reach the API's subscribers as `call` events.
 */
import { CallStateError } from '../../src/calls/index.js'
import type { CallSession } from '../../src/calls/index.js'
import type { PeerCalls } from '../../src/peer/index.js'
import type { ApiMethod } from '../api/server.js'
import { CallAudio, wrtcPeerConnectionFactory } from '../calls/media.js'
import { readWav, writeWav } from '../calls/wav.js'
import type { PeerConnectionFactory } from '../../src/calls/index.js'

/** Longest `--seconds` a call may be asked to last: with a 60 s ring, the local API still answers within the 5 minutes an HTTP client waits. */
export const MAX_CALL_SECONDS = 200

/** What the daemon does with calls that come in. */
export interface DaemonCallOptions {
  /** Accept every call that rings from a contact (requests from strangers still wait). */
  autoAnswer?: boolean
  /** Audio sent on answered calls (48 kHz mono after reading; silence when absent). */
  answerAudio?: Int16Array
  /** Where an answered call's remote audio is written when it ends. */
  recordPath?: string
}

/** Calls whose observations {@link DaemonCalls.observed} keeps. */
export const MAX_OBSERVED_CALLS = 8

/** What this daemon saw of the other side's addresses in one call (diagnostics; the hide-my-IP test reads it). */
export interface CallObservation {
  id: string
  /** SDPs and ICE candidate lines as they arrived on the signalling stream. */
  sdps: string[]
  candidates: string[]
  /** The remote candidates of the connection's `getStats()` ("address:port typ"), read when it connected and on each ask while it lasts. */
  statsRemoteCandidates: string[]
}

/** The remote candidates a connection's stats name. */
async function statsRemoteCandidates (call: CallSession): Promise<string[]> {
  const out: string[] = []
  const report = await call.pc?.getStats()
  report?.forEach((value) => {
    if (value.type !== 'remote-candidate') return
    out.push(`${String(value.address ?? value.ip)}:${String(value.port)} ${String(value.candidateType)}`)
  })
  return out
}

/** A call as the API shows it. */
export interface CallView {
  id: string
  direction: 'outgoing' | 'incoming'
  state: string
  handle?: string
  account: string
  request: boolean
  video: boolean
  durationMs: number
  endReason?: string
}

function view (call: CallSession): CallView {
  return {
    id: call.id,
    direction: call.direction,
    state: call.state,
    handle: call.remote.handle,
    account: call.remote.account,
    request: call.request,
    video: call.video,
    durationMs: call.durationMs,
    endReason: call.endReason
  }
}

/** Media per call, and the API methods over the peer's calls. */
export class DaemonCalls {
  private readonly media = new Map<string, CallAudio>()
  private outgoing?: CallAudio
  private calls?: PeerCalls
  private emit: (event: Record<string, unknown>) => void = () => {}
  private readonly observations = new Map<string, { call: CallSession, stats: Set<string> }>()

  constructor (private readonly options: DaemonCallOptions) {}

  /** The peer connection factory for the platform: each call gets its own audio. */
  factory (): PeerConnectionFactory {
    return wrtcPeerConnectionFactory((request) => {
      const audio = request.direction === 'outgoing' && this.outgoing != null ? this.outgoing : new CallAudio(this.options.answerAudio)
      this.media.set(request.callId, audio)
      return audio
    })
  }

  /** Follows the peer's calls: events to the API, auto-answer, recordings of answered calls. */
  attach (calls: PeerCalls, emit: (event: Record<string, unknown>) => void): void {
    this.calls = calls
    this.emit = emit
    calls.service.on((event) => {
      const call = event.call
      if (event.type === 'ended') {
        this.emit({ type: 'call', ...view(call) })
        const audio = this.media.get(call.id)
        this.media.delete(call.id)
        audio?.stop()
        if (call.direction === 'incoming' && audio != null && this.options.recordPath != null) {
          writeWav(this.options.recordPath, audio.recording()).catch(() => {})
        }
        return
      }
      this.emit({ type: 'call', ...view(call) })
      this.observe(call)
      call.on((e) => {
        if (e.type === 'state' && e.state !== 'ended') this.emit({ type: 'call', ...view(call) })
        // Told before it connects: a stranger's call that is direct (src/calls/session.ts).
        if (e.type === 'warning') this.emit({ type: 'call-warning', id: call.id, message: e.message })
      })
      if (event.type === 'incoming' && this.options.autoAnswer === true && !call.request) {
        call.accept().catch(() => {})
      }
    })
  }

  /** Keeps what a call shows of the other side (the newest MAX_OBSERVED_CALLS calls). */
  private observe (call: CallSession): void {
    const entry = { call, stats: new Set<string>() }
    this.observations.set(call.id, entry)
    for (const id of this.observations.keys()) {
      if (this.observations.size <= MAX_OBSERVED_CALLS) break
      this.observations.delete(id)
    }
    call.on((e) => {
      if (e.type !== 'state' || e.state !== 'connected') return
      statsRemoteCandidates(call).then(c => { for (const x of c) entry.stats.add(x) }, () => {})
    })
  }

  /** What the recent calls showed of the other side's addresses. */
  async observed (): Promise<CallObservation[]> {
    const out: CallObservation[] = []
    for (const { call, stats } of this.observations.values()) {
      if (!call.over) for (const x of await statsRemoteCandidates(call).catch(() => [])) stats.add(x)
      out.push({ id: call.id, sdps: [...call.received.sdps], candidates: [...call.received.candidates], statsRemoteCandidates: [...stats] })
    }
    return out
  }

  /** Stops every call's audio. */
  stop (): void {
    for (const audio of this.media.values()) audio.stop()
    this.media.clear()
  }

  private service (): PeerCalls {
    if (this.calls == null) throw new CallStateError('this daemon makes no calls')
    return this.calls
  }

  /**
   * Places a call and keeps it `seconds` once connected, then hangs up.
   * Resolves with how it went once it is over (and the recording written).
   */
  async place (handle: string, options: { audioIn?: string, audioOut?: string, seconds: number }): Promise<CallView & { connected: boolean, firstAudioMs?: number, recordedMs: number }> {
    const samples = options.audioIn != null ? await readWav(options.audioIn) : undefined
    const audio = new CallAudio(samples)
    this.outgoing = audio
    let call: CallSession
    const placedAt = performance.now()
    try {
      call = await this.service().place(handle)
    } finally {
      this.outgoing = undefined
    }
    let timer: ReturnType<typeof setTimeout> | undefined
    const ended = new Promise<void>((resolve) => {
      call.on((e) => {
        if (e.type === 'state' && e.state === 'connected' && timer == null) timer = setTimeout(() => { call.hangUp() }, options.seconds * 1000)
        if (e.type === 'ended') resolve()
      })
      if (call.over) resolve()
    })
    await ended
    clearTimeout(timer)
    audio.stop()
    const recording = audio.recording()
    if (options.audioOut != null) await writeWav(options.audioOut, recording)
    return {
      ...view(call),
      connected: call.connectedAt != null,
      firstAudioMs: audio.firstAudioAt != null ? Math.round(audio.firstAudioAt - placedAt) : undefined,
      recordedMs: Math.round(recording.length / 48)
    }
  }

  /**
   * The API methods: call, calls, call-answer (a stranger's call that would
   * be direct needs `direct: true`), call-hangup, call-observed.
   */
  methods (): Record<string, ApiMethod> {
    const id = (p: Record<string, unknown>): CallSession => {
      const call = typeof p.id === 'string' ? this.service().service.get(p.id) : undefined
      if (call == null) throw new TypeError(`no call ${String(p.id)} under way`)
      return call
    }
    return {
      call: async (p) => {
        if (typeof p.handle !== 'string' || p.handle === '') throw new TypeError('handle is required')
        const seconds = p.seconds == null ? 10 : Number(p.seconds)
        if (!Number.isFinite(seconds) || seconds <= 0 || seconds > MAX_CALL_SECONDS) throw new TypeError(`seconds must be a number above 0 and at most ${MAX_CALL_SECONDS}`)
        const path = (name: string): string | undefined => typeof p[name] === 'string' && p[name] !== '' ? p[name] : undefined
        return await this.place(p.handle, { audioIn: path('audioIn'), audioOut: path('audioOut'), seconds })
      },
      calls: async () => this.service().service.active.map(view),
      'call-answer': async (p) => {
        const call = id(p)
        if (p.accept === false) call.decline()
        else await this.service().accept(call, { direct: p.direct === true })
        return view(call)
      },
      'call-observed': async () => await this.observed(),
      'call-hangup': async (p) => {
        const call = id(p)
        call.hangUp()
        return view(call)
      }
    }
  }
}
