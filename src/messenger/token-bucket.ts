/**
 * A token bucket on an injected clock: `capacity` tokens, refilled at
 * `capacity` per `refillMs`. Budgets of work a peer can make us do (keys
 * derived, bytes downloaded) are kept with it.
 */

/** Size and refill time of a {@link TokenBucket}. */
export interface BucketInit {
  /** Most tokens held, and the most one request may take. */
  capacity: number
  /** Time to refill from empty to `capacity`, in ms. */
  refillMs: number
}

/** A token bucket; starts full. */
export class TokenBucket {
  private tokens: number
  private at: number

  constructor (private readonly init: BucketInit, now: number) {
    if (!(init.capacity >= 0) || !(init.refillMs > 0)) throw new RangeError(`bucket needs capacity >= 0 and refillMs > 0, got ${init.capacity} and ${init.refillMs}`)
    this.tokens = init.capacity
    this.at = now
  }

  /** Tokens available at `now`. */
  available (now: number): number {
    // A clock that went back refills nothing (and never takes tokens away).
    if (now > this.at) this.tokens = Math.min(this.init.capacity, this.tokens + (now - this.at) * this.init.capacity / this.init.refillMs)
    this.at = now
    return this.tokens
  }

  /** Takes `count` tokens if there are that many; false (and nothing taken) otherwise. */
  take (count: number, now: number): boolean {
    if (this.available(now) < count) return false
    this.tokens -= count
    return true
  }
}
