/**
 * A per-conversation Lamport clock (Lamport 1978): `next()` before sending,
 * `observe(n)` on every message received, so that a message always counts
 * higher than everything its author had seen.
 */

/** Lamport counter for one conversation. Counters start at 1. */
export class LamportClock {
  private current: number

  /** @param last the highest counter already used or seen (0 for a new conversation) */
  constructor (last = 0) {
    LamportClock.check(last)
    this.current = last
  }

  /** The highest counter used or seen so far. */
  get value (): number {
    return this.current
  }

  /** The counter for the next message sent. */
  next (): number {
    if (this.current >= Number.MAX_SAFE_INTEGER) throw new RangeError('Lamport counter exhausted')
    this.current++
    return this.current
  }

  /** Takes in the counter of a message received (or sent from another device). */
  observe (counter: number): void {
    LamportClock.check(counter)
    if (counter > this.current) this.current = counter
  }

  private static check (n: number): void {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`a Lamport counter is a non-negative safe integer, got ${n}`)
  }
}
