/** The sender's count of chunks it may still send, fed by the receiver's Credit frames. */

/** A counter to take from, waiting while it is zero. */
export class CreditGate {
  private available: number
  private readonly max: number
  private wake?: () => void
  private failure?: Error

  constructor (initial: number, max: number) {
    this.max = max
    this.available = Math.min(initial, max)
  }

  /** Adds credit (at most `max` outstanding: more would only bloat the receiver's buffer). */
  add (n: number): void {
    this.available = Math.min(this.max, this.available + n)
    if (this.available > 0) this.wake?.()
  }

  /** Makes every pending and future `take` throw `err`. */
  fail (err: Error): void {
    this.failure ??= err
    this.wake?.()
  }

  /** Takes one unit, waiting for credit until `signal` aborts. */
  async take (signal: AbortSignal): Promise<void> {
    while (this.available === 0) {
      if (this.failure !== undefined) throw this.failure
      signal.throwIfAborted()
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          this.wake = undefined
          reject(signal.reason)
        }
        signal.addEventListener('abort', onAbort, { once: true })
        this.wake = () => {
          this.wake = undefined
          signal.removeEventListener('abort', onAbort)
          resolve()
        }
      })
    }
    if (this.failure !== undefined) throw this.failure
    this.available--
  }
}
