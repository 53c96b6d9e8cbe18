/**
 * Token buckets per peer: each request takes one token; tokens come back at
 * a fixed rate up to the bucket size. The clock is injected so tests never
 * wait. Memory is bounded: the least recently seen peers are forgotten
 * (a forgotten peer starts again with a full bucket).
 */
import { RATE_LIMIT_BURST, RATE_LIMIT_MAX_PEERS, RATE_LIMIT_PER_SECOND } from './constants.js'

/** Options of a {@link PeerRateLimiter}. */
export interface RateLimitInit {
  /** Bucket size in requests (default {@link RATE_LIMIT_BURST}). */
  burst?: number
  /** Tokens added per second (default {@link RATE_LIMIT_PER_SECOND}). */
  perSecond?: number
  /** Peers remembered at once (default {@link RATE_LIMIT_MAX_PEERS}). */
  maxPeers?: number
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number
}

interface Bucket {
  tokens: number
  at: number
}

/** Per-peer token buckets. */
export class PeerRateLimiter {
  private readonly burst: number
  private readonly perMs: number
  private readonly maxPeers: number
  private readonly now: () => number
  private readonly buckets = new Map<string, Bucket>()

  constructor (init: RateLimitInit = {}) {
    this.burst = init.burst ?? RATE_LIMIT_BURST
    this.perMs = (init.perSecond ?? RATE_LIMIT_PER_SECOND) / 1000
    this.maxPeers = init.maxPeers ?? RATE_LIMIT_MAX_PEERS
    this.now = init.now ?? Date.now
  }

  /** Takes `cost` tokens from `peer`'s bucket; false (and nothing taken) when there are not enough. */
  take (peer: string, cost = 1): boolean {
    const now = this.now()
    const bucket = this.buckets.get(peer) ?? { tokens: this.burst, at: now }
    bucket.tokens = Math.min(this.burst, bucket.tokens + Math.max(0, now - bucket.at) * this.perMs)
    bucket.at = now
    // Re-insert so Map order is least recently seen first.
    this.buckets.delete(peer)
    this.buckets.set(peer, bucket)
    if (this.buckets.size > this.maxPeers) {
      const oldest = this.buckets.keys().next()
      if (oldest.done !== true) this.buckets.delete(oldest.value)
    }
    if (bucket.tokens < cost) return false
    bucket.tokens -= cost
    return true
  }

  /** Peers currently remembered. */
  get size (): number {
    return this.buckets.size
  }
}
