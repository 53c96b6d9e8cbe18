/**
 * Budgets of skipped message keys (issue 9, item 4). The ratchet bounds the
 * keys one envelope may make us derive (MAX_SKIP, FIRST_MESSAGE_MAX_SKIP);
 * this bounds them per sender over time, so that repeating envelopes does
 * not repeat the work without limit:
 *
 * - each device of an accepted contact (its identity key pinned in the
 *   contact) has its own bucket;
 * - everyone else (strangers, requests, blocked accounts, and a device the
 *   contact has not pinned) shares ONE bucket: identities cost nothing to
 *   make, so a per-identity budget would be reset by each fresh one.
 *
 * An envelope over budget is refused with SkipBudgetExceededError before
 * any key is derived, and is received again later (see errors.ts). At the
 * defaults, strangers together can make us derive at most 2,000 keys per
 * 10 minutes (~40 ms of CPU), and each contact device 4,000.
 */
import { MAX_SKIP } from '../crypto/ratchet.js'
import type { SkipLimits } from '../crypto/ratchet.js'
import { setNewest } from '../bounded.js'
import type { Contact } from './contacts.js'
import { toHex } from './bytes.js'
import { SkipBudgetExceededError } from './errors.js'
import { TokenBucket } from './token-bucket.js'
import type { BucketInit } from './token-bucket.js'

/** Options of {@link SkipBudget}. */
export interface SkipBudgetInit {
  /** Each accepted contact's device. */
  contacts?: BucketInit
  /** Everyone else, together. */
  strangers?: BucketInit
  /** Contact devices whose buckets are remembered (the oldest is forgotten, i.e. refilled). */
  maxTracked?: number
}

/** The defaults: a full skip (MAX_SKIP) always fits an untouched bucket. */
export const DEFAULT_SKIP_BUDGET: Required<SkipBudgetInit> = {
  contacts: { capacity: 2 * MAX_SKIP, refillMs: 10 * 60_000 },
  strangers: { capacity: MAX_SKIP, refillMs: 10 * 60_000 },
  maxTracked: 1_024
}

/**
 * Whether the device with `identityKey` belongs to an accepted contact: the
 * contact is accepted and has that key pinned. Strangers, requests, blocked
 * accounts and unpinned keys are not.
 */
export function isAcceptedDevice (contact: Contact | undefined, identityKey: Uint8Array): contact is Contact {
  return contact?.state === 'accepted' && Object.values(contact.devices).includes(toHex(identityKey))
}

/** Skipped-key budgets of the senders of one device. */
export class SkipBudget {
  private readonly init: Required<SkipBudgetInit>
  private readonly strangers: TokenBucket
  private readonly devices = new Map<string, TokenBucket>()

  constructor (private readonly now: () => number, init: SkipBudgetInit = {}) {
    this.init = { ...DEFAULT_SKIP_BUDGET, ...init }
    this.strangers = new TokenBucket(this.init.strangers, now())
  }

  /**
   * The limits for one envelope from the device with `identityKey` (proven
   * by the envelope), whose sender block names the account of `contact`.
   */
  limits (identityKey: Uint8Array, contact: Contact | undefined): SkipLimits {
    const known = isAcceptedDevice(contact, identityKey)
    const bucket = known ? this.device(toHex(identityKey)) : this.strangers
    const who = known ? `${contact.handle}'s device` : 'senders who are not contacts'
    return {
      charge: (count) => {
        if (!bucket.take(count, this.now())) {
          throw new SkipBudgetExceededError(`skipping ${count} message keys is over the budget of ${who}; try again later`)
        }
      }
    }
  }

  private device (key: string): TokenBucket {
    let bucket = this.devices.get(key)
    if (bucket == null) bucket = new TokenBucket(this.init.contacts, this.now())
    setNewest(this.devices, key, bucket, this.init.maxTracked)
    return bucket
  }
}
