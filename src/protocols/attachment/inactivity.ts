/**
 * One inactivity deadline per stream instead of a timer per frame: every
 * frame read or written pushes the deadline back, and the signal aborts with
 * a TimeoutError once nothing happened for `ms`. A transfer may take as long
 * as it needs while it moves.
 */

/** An AbortSignal that fires after `ms` without {@link InactivityTimer.touch}, or when `parent` aborts. */
export class InactivityTimer {
  readonly signal: AbortSignal
  private readonly controller = new AbortController()
  private readonly ms: number
  private deadline: number
  private timer?: ReturnType<typeof setTimeout>

  constructor (ms: number, parent?: AbortSignal) {
    this.ms = ms
    this.deadline = Date.now() + ms
    this.signal = parent === undefined ? this.controller.signal : AbortSignal.any([parent, this.controller.signal])
    this.arm(ms)
  }

  /** Something happened: the deadline moves to `ms` from now. */
  touch (): void {
    this.deadline = Date.now() + this.ms
  }

  /** Stops the timer (call when the stream is done). */
  clear (): void {
    clearTimeout(this.timer)
  }

  private arm (delay: number): void {
    this.timer = setTimeout(() => {
      const left = this.deadline - Date.now()
      if (left > 0) {
        this.arm(left)
        return
      }
      this.controller.abort(new DOMException(`no progress for ${this.ms} ms`, 'TimeoutError'))
    }, delay)
  }
}
