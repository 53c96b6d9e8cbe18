/**
 * The responder's work budget per linked relay: a bucket of units that
 * refills at a fixed rate. A request is answered only while the bucket is
 * above zero; what it cost is taken afterwards (a request's cost is known
 * only once it is answered), so one request may leave the bucket in debt
 * and the next ones wait until it is repaid. The clock is injected.
 * Linked relays are few and named by configuration, so the buckets are
 * kept per peer id (a fresh peer id is not linked and gets no bucket).
 */
import { WORK_BURST, WORK_PER_SECOND } from './constants.js'

/** Options of a {@link WorkBudget}. */
export interface WorkBudgetInit {
  /** Bucket size (default {@link WORK_BURST}). */
  burst?: number
  /** Units added per second (default {@link WORK_PER_SECOND}). */
  perSecond?: number
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number
}

/** Work buckets per linked relay. */
export class WorkBudget {
  private readonly burst: number
  private readonly perMs: number
  private readonly now: () => number
  private readonly buckets = new Map<string, { units: number, at: number }>()

  constructor (init: WorkBudgetInit = {}) {
    this.burst = init.burst ?? WORK_BURST
    this.perMs = (init.perSecond ?? WORK_PER_SECOND) / 1000
    this.now = init.now ?? Date.now
  }

  /** Whether `peer` may be answered now. */
  available (peer: string): boolean {
    return this.bucket(peer).units > 0
  }

  /** Takes what an answer cost (the bucket may go below zero). */
  spend (peer: string, units: number): void {
    this.bucket(peer).units -= units
  }

  /** Units left for `peer` (negative while in debt). */
  left (peer: string): number {
    return this.bucket(peer).units
  }

  private bucket (peer: string): { units: number, at: number } {
    const now = this.now()
    const bucket = this.buckets.get(peer) ?? { units: this.burst, at: now }
    bucket.units = Math.min(this.burst, bucket.units + Math.max(0, now - bucket.at) * this.perMs)
    bucket.at = now
    this.buckets.set(peer, bucket)
    return bucket
  }
}
