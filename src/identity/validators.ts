/**
 * kad-dht validators and selectors for Starling's records.
 *
 * How `@libp2p/kad-dht` 16 uses them (src/record/validators.ts and
 * src/record/selectors.ts there): it splits the key on "/" and looks up
 * `validators[parts[1]]` / `selectors[parts[1]]`, so both maps have one entry,
 * `starling`, which dispatches on the second segment (`device`, `handle`).
 * - `ValidateFn(key, value)` may be async; it throws to reject. kad-dht runs it
 *   on a PUT it receives (before storing), on the local record when reading
 *   it, and on every value a remote peer returns for a GET.
 * - `SelectFn(key, records)` returns `number | Promise<number>`; kad-dht
 *   awaits it, and calls it only when there are two or more records.
 *
 * Every record that reaches the selector has therefore passed the validator
 * already. The selector still verifies its winner (async is allowed), so it
 * stays correct if called on unvalidated records or after a record expired
 * in between; it sorts first and verifies in order, so one verification per
 * GET in the normal case rather than one per record.
 *
 * Order: highest seq, then later expiry, then the bytewise-greater encoding;
 * identical bytes are the same record, so the choice is deterministic.
 *
 * Rollback: kad-dht 16 does not consult the selector on PUT, so a server
 * replaces its stored record with any VALID one, even an older one (seen in
 * test/unit/identity/dht.spec.ts): anyone could replay an old record, e.g. to
 * bring back an old signed prekey. So the validator remembers the highest seq
 * it has verified for each key (the most recent {@link DEFAULT_REMEMBERED_KEYS}
 * keys, in memory) and refuses a lower one with reason `stale`. This is best
 * effort: a node that restarts, or has not seen the newer record, still takes
 * the older one, and a GET then corrects it; publishers should republish on a
 * schedule.
 *
 * Absurd sequence numbers: a record signed by the owner's key but with a seq
 * far ahead (2^53 - 1 from a buggy client or a thief with an old key, or a
 * replay of such a record) would win every selection and, remembered here,
 * make every later record of the owner "stale": the owner locked out of its
 * own key. Verification refuses a seq more than MAX_SEQ_AHEAD_MS ahead of
 * the clock and an expiry more than MAX_RECORD_LIFETIME_MS away
 * (records.ts), and a remembered seq is forgotten once the record it came
 * from has expired, so a seq that was admitted can hold the owner off for at
 * most that window (and the directory publishes above the current seq).
 */
import { InvalidRecordError } from './errors.js'
import { decodeDeviceRecord, verifyDeviceRecord } from './device-record.js'
import { decodeHandleClaim, verifyHandleClaim } from './handle-claim.js'
import { STARLING_NAMESPACE, compareBytes, parseRecordKey } from './records.js'
import type { Crypto } from '../crypto/index.js'
import type { DeviceRecord } from './device-record.js'
import type { HandleClaim } from './handle-claim.js'
import type { Selectors, Validators } from '@libp2p/kad-dht'
import { setNewest } from '../bounded.js'

/** How many keys' highest seq the validator remembers, by default. */
export const DEFAULT_REMEMBERED_KEYS = 10_000

/** Options of {@link starlingDhtValidators}. */
export interface StarlingDhtValidatorsInit {
  /** Current time in ms since the Unix epoch (injectable for tests). Default `Date.now`. */
  now?: () => number
  /** Keys whose highest verified seq is remembered to refuse rollbacks; 0 turns it off. Default {@link DEFAULT_REMEMBERED_KEYS}. */
  rememberedKeys?: number
}

/** What to pass to `kadDHT({ validators, selectors })`. */
export interface StarlingDhtValidators {
  validators: Validators
  selectors: Selectors
}

/** Version fields of any Starling record, read without verifying it. */
interface Versioned {
  seq: number
  expiresAt: number
}

function decodeVersion (kind: 'device' | 'handle', bytes: Uint8Array): Versioned {
  return kind === 'device' ? decodeDeviceRecord(bytes) : decodeHandleClaim(bytes)
}

/**
 * Verifies any Starling record under its key.
 *
 * @throws {InvalidRecordError}
 */
export async function verifyStarlingRecord (crypto: Crypto, key: Uint8Array | string, value: Uint8Array, now: number): Promise<DeviceRecord | HandleClaim> {
  const parsed = parseRecordKey(key)
  switch (parsed.kind) {
    case 'device':
      return await verifyDeviceRecord(crypto, key, value, now)
    case 'handle':
      return await verifyHandleClaim(crypto, key, value, now)
  }
}

/**
 * The highest verified seq of the most recently seen keys (least recently
 * seen forgotten first), each until the record it came from expires.
 */
class SeqMemory {
  private readonly seen = new Map<string, Versioned>()
  private readonly limit: number

  constructor (limit: number) {
    this.limit = limit
  }

  /** Refuses `record` if a higher seq of `key` was verified and has not expired; otherwise remembers the higher one. */
  admit (key: Uint8Array, record: Versioned, now: number): void {
    if (this.limit <= 0) return
    const id = new TextDecoder().decode(key)
    const seen = this.seen.get(id)
    const highest = seen != null && seen.expiresAt > now ? seen : undefined
    if (highest != null && record.seq < highest.seq) {
      throw new InvalidRecordError('stale', `record has seq ${record.seq}, but seq ${highest.seq} was already seen for this key`)
    }
    const keep = highest != null && highest.seq === record.seq && highest.expiresAt > record.expiresAt ? highest : record
    setNewest(this.seen, id, { seq: keep.seq, expiresAt: keep.expiresAt }, this.limit)
  }
}

/**
 * Picks the newest valid record of one key: the index into `records`.
 *
 * @throws {InvalidRecordError} reason `no-valid-record` if none verifies
 */
export async function selectStarlingRecord (crypto: Crypto, key: Uint8Array | string, records: Uint8Array[], now: number): Promise<number> {
  const { kind } = parseRecordKey(key)
  const candidates: Array<Versioned & { index: number, bytes: Uint8Array }> = []
  for (const [index, bytes] of records.entries()) {
    try {
      const { seq, expiresAt } = decodeVersion(kind, bytes)
      candidates.push({ index, bytes, seq, expiresAt })
    } catch (err) {
      if (!(err instanceof InvalidRecordError)) throw err
    }
  }
  candidates.sort((a, b) => (b.seq - a.seq) || (b.expiresAt - a.expiresAt) || compareBytes(b.bytes, a.bytes) || (a.index - b.index))

  let failed: Uint8Array | undefined
  for (const candidate of candidates) {
    if (failed != null && compareBytes(failed, candidate.bytes) === 0) continue
    try {
      await verifyStarlingRecord(crypto, key, candidate.bytes, now)
      return candidate.index
    } catch (err) {
      if (!(err instanceof InvalidRecordError)) throw err
      failed = candidate.bytes
    }
  }
  throw new InvalidRecordError('no-valid-record', `none of the ${records.length} records is valid`)
}

/**
 * The validators and selectors for `@libp2p/kad-dht`: rejects forged,
 * expired, oversized, mis-keyed and unknown-kind records, and older versions
 * of a key than one already verified; selects the newest valid record of a key.
 * Make one per node: the validator remembers seqs.
 *
 * @example
 * ```ts
 * const { validators, selectors } = starlingDhtValidators(crypto, { now: Date.now })
 * kadDHT({ protocol: '/starling/kad/1.0.0', validators, selectors })
 * ```
 */
export function starlingDhtValidators (crypto: Crypto, init: StarlingDhtValidatorsInit = {}): StarlingDhtValidators {
  const now = init.now ?? Date.now
  const memory = new SeqMemory(init.rememberedKeys ?? DEFAULT_REMEMBERED_KEYS)
  return {
    validators: {
      [STARLING_NAMESPACE]: async (key, value) => {
        const at = now()
        memory.admit(key, await verifyStarlingRecord(crypto, key, value, at), at)
      }
    },
    selectors: {
      [STARLING_NAMESPACE]: async (key, records) => await selectStarlingRecord(crypto, key, records, now())
    }
  }
}
