/**
 * A budget of first messages answered for strangers. Answering a first
 * message runs PQXDH (a signature check, three X25519, an ML-KEM
 * decapsulation: ~1-2 ms of CPU here) before anything says whether the
 * message is any good, and anyone can send one: only our public bundle is
 * needed, a refused one is remembered nowhere (a fresh base key or envelope
 * id makes it new), and sending one costs the sender almost nothing. So
 * strangers (every sender that is not a device an accepted contact pinned,
 * fresh identities included) share ONE bucket of PQXDH answers; accepted
 * contacts' devices are not charged (a restored backup starts fresh
 * sessions with everyone at once).
 *
 * A first message over budget is refused with FirstMessageBudgetError before
 * any PQXDH step: like a skipped-key refusal it is "not now", received again
 * later (a mailbox keeps it; a direct sender hands it to relays). At the
 * default, strangers together cost at most ~200 ms of CPU per 10 minutes;
 * while someone keeps the bucket empty, new people's first messages wait on
 * the relays (contacts are not affected).
 */
import { FirstMessageBudgetError } from './errors.js'
import { TokenBucket } from './token-bucket.js'
import type { BucketInit } from './token-bucket.js'

/** The default: 100 first messages from strangers per 10 minutes, all at once if need be. */
export const DEFAULT_FIRST_MESSAGE_BUDGET: BucketInit = { capacity: 100, refillMs: 10 * 60_000 }

/** PQXDH answers strangers may still make us run. */
export class FirstMessageBudget {
  private readonly bucket: TokenBucket

  constructor (private readonly now: () => number, init: BucketInit = DEFAULT_FIRST_MESSAGE_BUDGET) {
    this.bucket = new TokenBucket(init, now())
  }

  /**
   * Takes one answer for a first message from a stranger.
   *
   * @throws {FirstMessageBudgetError} when strangers have used the budget up
   */
  charge (): void {
    if (!this.bucket.take(1, this.now())) throw new FirstMessageBudgetError('too many first messages from senders who are not contacts; try again later')
  }
}
