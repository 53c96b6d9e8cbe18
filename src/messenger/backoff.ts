/**
 * Exponential backoff with jitter, per key (a device, a relay): after each
 * failure the next attempt waits base * 2^(failures - 1), at most the cap,
 * spread by ±jitter so that many senders do not retry in step. A success, or
 * a sign that the peer is back, clears the key. A key is "good" from its last
 * success until its next failure; a key that is not good (failing, or not
 * tried yet) is probed by one attempt at a time, so a thousand queued
 * messages to a peer that is away cost one attempt, not a thousand. Bounded:
 * the keys failing or good longest ago are dropped first (they then get one
 * early attempt, or one probe, which is harmless).
 */
import { setNewest } from '../bounded.js'

/** How one kind of attempt backs off. */
export interface BackoffPolicy {
  /** Wait after the first failure, in ms. */
  baseMs: number
  /** Longest wait, in ms. */
  capMs: number
  /** Share of the wait added or taken at random (0.2: ±20%). */
  jitter: number
}

/** Keys remembered at most (a key is a peer). */
export const MAX_BACKOFF_KEYS = 16_384

/** Failures and the next allowed attempt, per key. */
export class Backoff {
  private readonly keys = new Map<string, { failures: number, at: number }>()
  private readonly good = new Map<string, true>()

  constructor (private readonly policy: BackoffPolicy, private readonly random: () => number = Math.random) {}

  /** Whether an attempt for `key` may start at `now`. */
  ready (key: string, now: number): boolean {
    const k = this.keys.get(key)
    return k == null || k.at <= now
  }

  /** Whether `key` failed and has not succeeded since. */
  failing (key: string): boolean {
    return this.keys.has(key)
  }

  /** Whether attempts for `key` go one at a time: it failed, or was never tried since it last did. */
  probeOnly (key: string): boolean {
    return !this.good.has(key)
  }

  /** A success: no wait, and attempts need not go one at a time. */
  succeeded (key: string): void {
    this.keys.delete(key)
    if (!this.good.has(key)) setNewest(this.good, key, true, MAX_BACKOFF_KEYS)
  }

  /** When the next attempt for `key` may start (0: now). */
  nextAt (key: string): number {
    return this.keys.get(key)?.at ?? 0
  }

  /**
   * Records a failure at `now`; returns when the next attempt may start. A
   * failure while the key is already waiting (attempts that were under way
   * together) does not lengthen the wait again.
   */
  failed (key: string, now: number): number {
    this.good.delete(key)
    const current = this.keys.get(key)
    if (current != null && current.at > now) return current.at
    const failures = (current?.failures ?? 0) + 1
    const wait = Math.min(this.policy.capMs, this.policy.baseMs * 2 ** Math.min(failures - 1, 30))
    const at = now + Math.round(wait * (1 + this.policy.jitter * (2 * this.random() - 1)))
    setNewest(this.keys, key, { failures, at }, MAX_BACKOFF_KEYS)
    return at
  }

  /** A sign the peer is back: the next attempt may start at once (still as a probe). */
  clear (key: string): void {
    this.keys.delete(key)
  }
}
