/**
 * Envelopes refused "not now" (over a budget, or naming a device whose
 * record the DHT could not give): they stay on the relay and come back with
 * every mailbox pass, and a direct sender may write them again at once.
 * Opening one again before its wait is over would repeat the very work the
 * budget refused (the envelope's X25519, a first message's PQXDH), so each
 * is remembered, by id and the SHA-256 of its bytes, and refused again with
 * the same error, without any work, until its wait is over. The wait
 * doubles each time the same envelope is refused again, up to a cap.
 * Bounded: the envelopes refused longest ago are forgotten first (they then
 * get one early try, which is harmless).
 */
import { setNewest } from '../bounded.js'
import { equalBytes, toHex } from './bytes.js'

/** First wait of an envelope refused for now. */
export const RETRY_LATER_BASE_MS = 60_000
/** Longest wait (the skipped-key budgets refill in 10 minutes). */
export const RETRY_LATER_CAP_MS = 10 * 60_000
/** Envelopes remembered at once (a mailbox holds at most 10,000 by default). */
export const MAX_RETRY_LATER = 16_384

interface Waiting {
  hash: Uint8Array
  at: number
  refusals: number
  error: Error
}

/** The envelopes refused for now, and when each may be tried again. */
export class RetryLater {
  private readonly waiting = new Map<string, Waiting>()

  constructor (private readonly now: () => number, private readonly sha256: (bytes: Uint8Array) => Uint8Array) {}

  /** The error to refuse `envelope` with again, without any work, while its wait is not over. */
  refusal (id: Uint8Array, envelope: Uint8Array): Error | undefined {
    if (this.waiting.size === 0) return undefined
    const entry = this.waiting.get(toHex(id))
    if (entry == null || entry.at <= this.now() || !equalBytes(entry.hash, this.sha256(envelope))) return undefined
    return entry.error
  }

  /** `envelope` was refused for now with `error`: it waits, longer each time. */
  refused (id: Uint8Array, envelope: Uint8Array, error: Error): void {
    const key = toHex(id)
    const hash = this.sha256(envelope)
    const previous = this.waiting.get(key)
    const refusals = previous != null && equalBytes(previous.hash, hash) ? previous.refusals + 1 : 1
    const wait = Math.min(RETRY_LATER_CAP_MS, RETRY_LATER_BASE_MS * 2 ** Math.min(refusals - 1, 30))
    setNewest(this.waiting, key, { hash, at: this.now() + wait, refusals, error }, MAX_RETRY_LATER)
  }

  /** The envelope was settled (stored, or refused for good). */
  settled (id: Uint8Array): void {
    if (this.waiting.size > 0) this.waiting.delete(toHex(id))
  }
}
