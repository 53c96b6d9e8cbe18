/**
 * The scenario's `adversaries` option (issue 15, item 6): how many relays,
 * DHT servers and users are malicious and what they do. Part of the
 * scenario's JSON schema (scenario.ts), so a bad value is refused by ajv
 * with an error naming the field (`/adversaries/relays/share must be <= 1`).
 * Who is malicious is drawn from the seed (adversaries.ts).
 */

/** What a malicious relay does with the envelopes users hand it. */
export type RelayBehaviour = 'drop' | 'delay' | 'discard'

/** The adversaries of a run, with every default filled in. */
export interface Adversaries {
  relays: {
    /** Share of the relays that are malicious (rounded to a count), unless `count` is given. */
    share: number
    count?: number
    /**
     * What they do, one behaviour per malicious relay in turn: `drop` refuses
     * every put (an error, no receipt); `delay` answers each put `delayMs`
     * late; `discard` signs a valid custody receipt, then throws the envelope
     * away (never stored, never gossiped, and its fetch answers are empty).
     */
    behaviours: RelayBehaviour[]
    delayMs: number
  }
  /** Relays whose DHT server hides records: it accepts every record and provider record, keeps none, and answers "none". */
  dhtServers: { share: number, count?: number }
  users: {
    /** Share of the users that are sybils, unless `count` is given; they are not counted as honest. */
    share: number
    count?: number
    /** Each sybil claims the name of an honest user (its own key, so its own tag). */
    claimNames: boolean
    /** Each sybil puts junk envelopes into an honest user's mailboxes on that user's relays, from its own source address. */
    flood: { putsPerSecond: number, envelopeBytes: number }
  }
  /** Per-source budgets of every relay, smaller than the defaults so that a short run reaches them (absent: the defaults). */
  relayBudgets: { maxEnvelopesPerMailboxPerSource?: number, maxBytesPerSource?: number }
}

const share = { type: 'number', minimum: 0, maximum: 1, default: 0 }
const count = { type: 'integer', minimum: 0 }

/** The JSON schema of {@link Adversaries}; every part defaults to "none". */
export const ADVERSARIES_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  default: {},
  properties: {
    relays: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        share,
        count,
        behaviours: { type: 'array', minItems: 1, uniqueItems: true, items: { enum: ['drop', 'delay', 'discard'] }, default: ['drop', 'delay', 'discard'] },
        delayMs: { type: 'number', minimum: 0, maximum: 600_000, default: 30_000 }
      }
    },
    dhtServers: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: { share, count }
    },
    users: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        share,
        count,
        claimNames: { type: 'boolean', default: true },
        flood: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            putsPerSecond: { type: 'number', minimum: 0, maximum: 1_000, default: 0 },
            envelopeBytes: { type: 'integer', minimum: 256, maximum: 65_536, default: 1_024 }
          }
        }
      }
    },
    relayBudgets: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        maxEnvelopesPerMailboxPerSource: { type: 'integer', minimum: 1 },
        maxBytesPerSource: { type: 'integer', minimum: 1024 }
      }
    }
  }
} as const

/** How many of `total` are malicious: `count` when given, else `share` of them rounded. */
export function adversaryCount (kind: { share: number, count?: number }, total: number): number {
  return kind.count ?? Math.round(kind.share * total)
}
