/**
 * Call media for the daemon with `@roamhq/wrtc` (NOTES.md, Node-side media):
 * an `RTCPeerConnection` factory for src/calls whose connections send audio
 * from PCM samples (10 ms frames of 480 samples at 48 kHz, mono; the
 * library encodes Opus) and record the remote audio as 48 kHz mono.
 */
import { createRequire } from 'node:module'
import type * as WrtcModule from '@roamhq/wrtc'
import { peerConnectionOptions } from '../../src/calls/index.js'
import type { CallMediaRequest, CallPeerConnection, CallRtcConfiguration, PeerConnectionFactory } from '../../src/calls/index.js'
import { CALL_SAMPLE_RATE, resample } from './wav.js'

/** Samples per 10 ms frame at 48 kHz. */
export const FRAME_SAMPLES = CALL_SAMPLE_RATE / 100
/** Longest recording kept (10 minutes); later audio is dropped. */
export const MAX_RECORDED_SAMPLES = 10 * 60 * CALL_SAMPLE_RATE
/** A sample louder than this (of 32,767) is sound, not the decoder's silence or comfort noise. */
const AUDIBLE = 64

type Wrtc = typeof WrtcModule
let wrtc: Wrtc | undefined

/** The library, loaded on first use (a native module: only daemons that call pay for it). */
export function loadWrtc (): Wrtc {
  wrtc ??= createRequire(import.meta.url)('@roamhq/wrtc') as Wrtc
  return wrtc
}

/** What one call sends and records. */
export class CallAudio {
  /** Remote samples so far, 48 kHz mono. */
  private readonly chunks: Int16Array[] = []
  private recorded = 0
  /** When the first remote sound arrived (performance.now()). */
  firstAudioAt?: number
  private timer?: ReturnType<typeof setTimeout>
  private readonly sinks: Array<{ stop(): void }> = []
  private source?: InstanceType<Wrtc['nonstandard']['RTCAudioSource']>
  private track?: { stop(): void }
  private position = 0
  private started = 0
  private sent = 0

  constructor (private readonly samples: Int16Array = new Int16Array(0), private readonly loop = true) {}

  /** Adds our audio track to `pc` and records the remote one. */
  attach (pc: InstanceType<Wrtc['RTCPeerConnection']>): void {
    const { nonstandard } = loadWrtc()
    this.source = new nonstandard.RTCAudioSource()
    const track = this.source.createTrack()
    this.track = track
    pc.addTrack(track)
    pc.addEventListener('track', (event) => {
      const e = event as unknown as { track: { kind: string } }
      if (e.track.kind !== 'audio') return
      const sink = new nonstandard.RTCAudioSink(e.track as never)
      sink.ondata = (data: { samples: Int16Array, sampleRate: number, channelCount?: number }) => { this.record(data) }
      this.sinks.push(sink)
    })
    this.pump()
  }

  private record (data: { samples: Int16Array, sampleRate: number, channelCount?: number }): void {
    if (this.recorded >= MAX_RECORDED_SAMPLES) return
    let mono = data.samples
    const channels = data.channelCount ?? 1
    if (channels > 1) {
      mono = new Int16Array(Math.floor(data.samples.length / channels))
      for (let i = 0; i < mono.length; i++) mono[i] = data.samples[i * channels]
    }
    const samples = resample(mono, data.sampleRate, CALL_SAMPLE_RATE)
    // The sink hands out silence before any packet is decoded: the first audio is the first frame with sound.
    if (this.firstAudioAt == null && samples.some(x => x > AUDIBLE || x < -AUDIBLE)) this.firstAudioAt = performance.now()
    this.chunks.push(samples.slice())
    this.recorded += samples.length
  }

  /** Sends 10 ms frames on time: as many as the clock says are due (at most 10 at once after a stall). */
  private pump (): void {
    this.started = performance.now()
    const tick = (): void => {
      const due = Math.floor((performance.now() - this.started) / 10)
      for (let n = 0; this.sent < due && n < 10; n++, this.sent++) this.source?.onData({ samples: this.frame(), sampleRate: CALL_SAMPLE_RATE })
      if (this.sent < due) this.sent = due
      this.timer = setTimeout(tick, 10)
    }
    tick()
  }

  private frame (): Int16Array {
    const out = new Int16Array(FRAME_SAMPLES)
    if (this.samples.length === 0) return out
    for (let i = 0; i < FRAME_SAMPLES; i++) {
      if (this.position >= this.samples.length) {
        if (!this.loop) break
        this.position = 0
      }
      out[i] = this.samples[this.position++]
    }
    return out
  }

  /** Everything recorded, 48 kHz mono. */
  recording (): Int16Array {
    const out = new Int16Array(this.recorded)
    let at = 0
    for (const c of this.chunks) {
      out.set(c.subarray(0, Math.min(c.length, out.length - at)), at)
      at += c.length
    }
    return out
  }

  /** Stops sending and recording. */
  stop (): void {
    clearTimeout(this.timer)
    for (const sink of this.sinks) sink.stop()
    this.track?.stop()
  }
}

/**
 * A factory for src/calls: each connection gets the audio `media` returns
 * for its call (its samples to send, where it records), and nothing else.
 */
export function wrtcPeerConnectionFactory (media: (request: CallMediaRequest) => CallAudio): PeerConnectionFactory {
  return async (config: CallRtcConfiguration, request) => {
    const { RTCPeerConnection } = loadWrtc()
    const pc = new RTCPeerConnection(peerConnectionOptions(config))
    media(request).attach(pc)
    return pc as unknown as CallPeerConnection
  }
}
