/**
 * The ring tone of an incoming call, made with WebAudio (no sound file
 * from anywhere): two sine waves at 440 and 480 Hz (the North American
 * ring), two seconds on and four off, until stopped. The cadence is
 * scheduled on the audio clock one cycle ahead, so a busy page does not
 * stretch it.
 */

const RING_HZ = [440, 480]
const ON_S = 2
const CYCLE_S = 6
const VOLUME = 0.08
/** Ramps avoid clicks at each edge. */
const RAMP_S = 0.03

/** A ring tone that plays until {@link RingTone.stop}. */
export class RingTone {
  private context?: AudioContext
  private gain?: GainNode
  private timer?: ReturnType<typeof setInterval>
  private starting?: ReturnType<typeof setTimeout>
  private scheduledUntil = 0

  /** Whether it is ringing (or about to: the tone starts in a task of its own). */
  get playing (): boolean {
    return this.context != null || this.starting != null
  }

  /**
   * Starts ringing, in a task of its own: making the audio context took
   * 7-15 ms of the page's thread (CPU profiles of the call benchmark), which
   * the call's connection, made while it rings, needs more (its WebRTC
   * steps each come back to this thread).
   */
  start (): void {
    if (this.playing || typeof AudioContext === 'undefined') return
    this.starting = setTimeout(() => {
      this.starting = undefined
      this.begin()
    }, 0)
  }

  private begin (): void {
    const context = new AudioContext()
    const gain = context.createGain()
    gain.gain.value = 0
    gain.connect(context.destination)
    for (const hz of RING_HZ) {
      const osc = context.createOscillator()
      osc.frequency.value = hz
      osc.connect(gain)
      osc.start()
    }
    this.context = context
    this.gain = gain
    this.scheduledUntil = context.currentTime
    this.schedule()
    this.timer = setInterval(() => { this.schedule() }, CYCLE_S * 1000 / 2)
  }

  stop (): void {
    clearTimeout(this.starting)
    this.starting = undefined
    clearInterval(this.timer)
    this.timer = undefined
    const context = this.context
    this.context = undefined
    this.gain = undefined
    context?.close().catch(() => {})
  }

  /** Schedules the cadence up to one cycle ahead of now. */
  private schedule (): void {
    const { context, gain } = this
    if (context == null || gain == null) return
    while (this.scheduledUntil < context.currentTime + CYCLE_S) {
      const t = Math.max(this.scheduledUntil, context.currentTime)
      gain.gain.setValueAtTime(0, t)
      gain.gain.linearRampToValueAtTime(VOLUME, t + RAMP_S)
      gain.gain.setValueAtTime(VOLUME, t + ON_S - RAMP_S)
      gain.gain.linearRampToValueAtTime(0, t + ON_S)
      this.scheduledUntil = t + CYCLE_S
    }
  }
}
