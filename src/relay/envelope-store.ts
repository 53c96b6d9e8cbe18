/**
 * The envelopes a relay holds, in the store's `relay` namespace (layout in
 * keys.ts). What the relay keeps is what it needs and no more: the mailbox
 * id, the envelope (opaque: the sender is sealed inside), its size and when
 * it arrived. Writes are durable when they resolve (synced group commit).
 *
 * Budgets (usage.ts): the whole relay's storage, what one source may keep,
 * what one source may keep in one mailbox (its share), and the mailbox's
 * own quota. A put that would exceed one is refused with the quota's name;
 * nothing held is ever evicted to make room. The counters (ledger.ts:
 * mailbox, share, source, total) are written in the same batch as the
 * envelope and cached within bounds. A put reads keys and never iterates:
 * LevelDB iterators kept the files a compaction had replaced on disk (twice
 * the bytes). A new envelope reads one key (its index, for a duplicate):
 * shares are cached (ledger.ts), tombstones are ruled out by a filter
 * (tombstone-filter.ts) and positions by the newest time held at open
 * (positions.ts). Writes to one mailbox are serialised so that quota checks and
 * de-duplication see each other; puts of a mailbox that arrive together are
 * checked one by one and written in one synced batch (put-group.ts). Envelopes older than the retention are
 * skipped by fetches at once and removed by {@link EnvelopeStore.sweep}.
 *
 * An envelope is known by its mailbox, id and SHA-256 of its bytes: other
 * bytes under the same id (another sealing of the same entry, or junk put
 * or gossiped under an id someone saw) are held beside it as a version of
 * their own, charged to their own source, so that nobody's bytes shadow
 * another's and a custody receipt always names bytes the relay holds. A
 * delete names each envelope by id and hash, so junk served elsewhere under
 * a real id cannot remove the real envelope here.
 * A delete its owner signed leaves tombstones (tombstones.ts) that relays
 * reconcile, and an envelope with a tombstone is never stored again. The
 * sync tree's top ({@link DigestTable}) follows every change once it is
 * durable; {@link EnvelopeStore.sync} reads the rest for relay-sync.
 */
import { logger } from '@libp2p/logger'
import { sha256 } from '@noble/hashes/sha2.js'
import { GroupCommitWriter } from '../store/group-commit.js'
import type { GroupCommitStats } from '../store/group-commit.js'
import { prefixRange } from '../store/keys.js'
import type { Store } from '../store/store.js'
import { toHex } from '../crypto/bytes.js'
import { ENVELOPE_ID_LENGTH } from '../crypto/envelope.js'
import { checkMailbox } from '../protocols/store/mailbox.js'
import { InvalidStoreRequestError } from '../protocols/store/errors.js'
import type { QuotaExceededError } from '../protocols/store/errors.js'
import type { EnvelopeRef, MailboxPage, PutOutcome, StoredEnvelopeEntry } from '../protocols/store/store.js'
import { DigestTable } from './digest-table.js'
import { CURSOR_LENGTH, HASH_LENGTH, cursorOfEnvelopeKey, envelopePrefix, idOfEnvelopeKey, positionTime } from './keys.js'
import { migrateLegacyIndex } from './migrate.js'
import { KeyedLock } from './keyed-lock.js'
import { Ledger } from './ledger.js'
import { Removals } from './removals.js'
import { SyncItems } from './sync-items.js'
import { TOMBSTONE_MARGIN_MS } from './tombstones.js'
import type { DeleteProof } from './tombstones.js'
import { sweepEnvelopes } from './sweep-envelopes.js'
import { Positions } from './positions.js'
import { PutGroups } from './put-group.js'
import { TombstoneFilter } from './tombstone-filter.js'
import { sweepTombstones } from './sweep-tombstones.js'
import { resolveBudgets } from './usage.js'
import type { Budgets, PutSource, Usage } from './usage.js'

const log = logger('starling:relay:store')

/** Envelopes are kept this long after they arrive (30 days). */
export const RETENTION_MS = 30 * 24 * 60 * 60 * 1000
export { USAGE_CACHE_SIZE } from './ledger.js'
/** Expired envelopes removed per sweep batch. */
export const SWEEP_BATCH = 1000

/** Options of an {@link EnvelopeStore}: its budgets (defaults in usage.ts), retention and clock. */
export interface EnvelopeStoreInit extends Partial<Budgets> {
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number
  retentionMs?: number
  /** Expired envelopes removed per sweep batch (default {@link SWEEP_BATCH}). */
  sweepBatch?: number
  /** Source counters cached in memory (default SOURCE_CACHE_SIZE). */
  sourceCacheSize?: number
  /** Tombstones the in-memory filter is sized for (default TOMBSTONE_FILTER_CAPACITY). */
  tombstoneFilterCapacity?: number
  /** SHA-256 of each envelope put (the crypto facade's: node:crypto in a Node relay; default noble's). */
  sha256?: (data: Uint8Array) => Uint8Array
}

/** Counters of an {@link EnvelopeStore} (a plain object, for export). */
export interface EnvelopeStoreMetrics {
  stored: number
  storedBytes: number
  duplicates: number
  fetched: number
  deleted: number
  /** Deletes that named an id this relay holds with other bytes (junk served elsewhere under a real id). */
  hashMismatches: number
  expired: number
  /** Tombstones kept (from owners' deletes here, gossip or sync), and those that expired. */
  tombstones: number
  tombstonesExpired: number
  /** Puts refused because the envelope's owner deleted it (a tombstone is held). */
  deletedByOwner: number
  /** Puts refused, in all and by quota. */
  rejected: { quota: number, mailboxFull: number, mailboxShare: number, sourceBudget: number, relayFull: number }
}

/** Envelopes and bytes one mailbox holds. */
export interface MailboxUsage {
  count: number
  bytes: number
}

const REJECTED_FIELD = {
  'mailbox-full': 'mailboxFull',
  'mailbox-share': 'mailboxShare',
  'source-budget': 'sourceBudget',
  'relay-full': 'relayFull'
} as const

/** The envelopes a relay holds for offline devices. */
export class EnvelopeStore {
  readonly metrics: EnvelopeStoreMetrics = {
    stored: 0,
    storedBytes: 0,
    duplicates: 0,
    fetched: 0,
    deleted: 0,
    hashMismatches: 0,
    expired: 0,
    tombstones: 0,
    tombstonesExpired: 0,
    deletedByOwner: 0,
    rejected: { quota: 0, mailboxFull: 0, mailboxShare: 0, sourceBudget: 0, relayFull: 0 }
  }

  readonly retentionMs: number
  private readonly sha256: (data: Uint8Array) => Uint8Array
  /** How long a tombstone lives past its delete's signing. */
  readonly tombstoneLifetimeMs: number
  readonly budgets: Budgets
  /** The relay-sync view of what the store holds. */
  readonly sync: SyncItems
  private readonly table = new DigestTable()
  private readonly store: Store
  private readonly writer: GroupCommitWriter
  private readonly clock: () => number
  private readonly sweepBatch: number
  private readonly locks = new KeyedLock()
  private readonly ledger: Ledger
  private readonly removals: Removals
  private opened?: Promise<void>
  private built?: Promise<void>
  private readonly positions: Positions
  private readonly tombstones: TombstoneFilter
  private readonly puts: PutGroups

  /** @param store an open store; the caller opens and closes it */
  constructor (store: Store, init: EnvelopeStoreInit = {}) {
    this.store = store
    this.writer = new GroupCommitWriter(store, { sync: true })
    this.clock = init.now ?? Date.now
    this.retentionMs = init.retentionMs ?? RETENTION_MS
    this.sha256 = init.sha256 ?? sha256
    this.tombstoneLifetimeMs = this.retentionMs + TOMBSTONE_MARGIN_MS
    this.budgets = resolveBudgets(init)
    this.sweepBatch = init.sweepBatch ?? SWEEP_BATCH
    this.ledger = new Ledger(store, this.budgets, (mailbox) => this.locks.isHeld(mailbox), init.sourceCacheSize)
    this.sync = new SyncItems(store, this.table, this, async () => { await this.tableReady() })
    this.positions = new Positions(store)
    this.tombstones = new TombstoneFilter(store, init.tombstoneFilterCapacity)
    this.removals = new Removals({ store, writer: this.writer, ledger: this.ledger, table: this.table, metrics: this.metrics, tombstoneLifetimeMs: this.tombstoneLifetimeMs, tombstones: this.tombstones })
    this.puts = new PutGroups({
      store,
      writer: this.writer,
      ledger: this.ledger,
      locks: this.locks,
      positions: this.positions,
      removals: this.removals,
      table: this.table,
      tombstones: this.tombstones,
      metrics: this.metrics,
      retentionMs: this.retentionMs,
      now: () => this.now(),
      refused: (err) => { this.countRefusal(err) }
    })
  }

  /** Milliseconds since the epoch, by the store's clock. */
  now (): number {
    return this.clock()
  }

  /**
   * Stores an envelope under its id and hash, durably, charged to `from`.
   * The same bytes the mailbox already holds are not stored again: the
   * original times come back with `duplicate`; other bytes under the same
   * id are a version of their own. Nothing held is ever evicted to make room.
   *
   * @throws {QuotaExceededError} when a budget would be exceeded (nothing is stored); `quota` says which
   * @throws {DeletedByOwnerError} when its owner already deleted it (a tombstone is held)
   */
  async put (mailbox: Uint8Array, id: Uint8Array, envelope: Uint8Array, from: PutSource): Promise<PutOutcome> {
    return await this.insert(mailbox, id, envelope, from)
  }

  /**
   * Stores an envelope fetched from a linked relay with the time that relay
   * stored it (so it expires when it would have there), as {@link put}.
   *
   * @throws {InvalidStoreRequestError} when it has expired already
   */
  async putSynced (mailbox: Uint8Array, id: Uint8Array, envelope: Uint8Array, storedAt: number, from: PutSource): Promise<PutOutcome> {
    return await this.insert(mailbox, id, envelope, from, storedAt)
  }

  private async insert (mailbox: Uint8Array, id: Uint8Array, envelope: Uint8Array, from: PutSource, at?: number): Promise<PutOutcome> {
    checkMailbox(mailbox)
    checkId(id)
    await this.ready()
    return await this.puts.put({ mailbox, id, envelope, hash: this.sha256(envelope), from, at })
  }

  /**
   * A page of a mailbox in arrival order, after `after` (a cursor from an
   * earlier page). The page ends at `limit` envelopes or once it holds
   * `maxBytes` (it always holds at least one envelope if any is left).
   *
   * @throws {InvalidStoreRequestError} for a cursor that is not one
   */
  async fetch (mailbox: Uint8Array, after: Uint8Array | undefined, limit: number, maxBytes: number): Promise<MailboxPage> {
    checkMailbox(mailbox)
    if (after !== undefined && after.length !== CURSOR_LENGTH) throw new InvalidStoreRequestError(`a cursor is ${CURSOR_LENGTH} bytes, got ${after.length}`)
    await this.ready()
    const prefix = envelopePrefix(mailbox)
    const range = prefixRange(prefix)
    const from = after === undefined ? { gte: range.gte } : { gt: concatPrefix(prefix, after) }
    const cutoff = this.now() - this.retentionMs
    const envelopes: StoredEnvelopeEntry[] = []
    let bytes = 0
    let cursor = after ?? new Uint8Array(0)
    let more = false
    for await (const [key, value] of this.store.iterate('relay', { ...from, lt: range.lt })) {
      if (envelopes.length >= limit || (envelopes.length > 0 && bytes + value.length > maxBytes)) {
        more = true
        break
      }
      const entryCursor = cursorOfEnvelopeKey(key)
      cursor = entryCursor
      const storedAt = positionTime(entryCursor)
      // Expired but not yet swept: never served.
      if (storedAt <= cutoff) continue
      envelopes.push({ id: idOfEnvelopeKey(key), envelope: value, storedAt })
      bytes += value.length
    }
    this.metrics.fetched += envelopes.length
    return { envelopes, cursor, more }
  }

  /**
   * Deletes envelopes of a mailbox that the owner named by id and content
   * hash; an envelope held under that id with other bytes stays (someone
   * served junk under its id). With the owner's signed delete as `proof`,
   * each envelope removed leaves a tombstone. Resolves to the number removed.
   */
  async delete (mailbox: Uint8Array, refs: readonly EnvelopeRef[], proof?: DeleteProof): Promise<number> {
    checkMailbox(mailbox)
    checkRefs(refs)
    await this.ready()
    const removed = await this.locks.run(toHex(mailbox), async () => {
      if (proof === undefined) return await this.removals.remove(mailbox, refs)
      return (await this.removals.tombstone(mailbox, refs, proof)).removed
    })
    this.metrics.deleted += removed
    return removed
  }

  /**
   * Applies a delete a linked relay holds tombstones of (relay-sync): keeps
   * a tombstone for each ref, whether or not this relay held the envelope,
   * and removes the envelopes whose bytes match. What this relay did not
   * hold is charged to `from`. The caller verified the owner's signature.
   *
   * @throws {QuotaExceededError} when `from`'s budget or the relay's is used up (nothing changes)
   */
  async applyDelete (mailbox: Uint8Array, refs: readonly EnvelopeRef[], proof: DeleteProof, from: PutSource): Promise<{ tombstones: number, removed: number }> {
    checkMailbox(mailbox)
    checkRefs(refs)
    await this.ready()
    const done = await this.locks.run(toHex(mailbox), async () => await this.removals.tombstone(mailbox, refs, proof, from))
    this.metrics.deleted += done.removed
    return done
  }

  /** Envelopes and bytes a mailbox holds. */
  async usage (mailbox: Uint8Array): Promise<MailboxUsage> {
    checkMailbox(mailbox)
    await this.ready()
    return await this.locks.run(toHex(mailbox), async () => ({ ...await this.ledger.mailbox(mailbox) }))
  }

  /** Synced batches written and the commits (puts, deletes, sweeps) they carried: the group commit's batch size. */
  get commitStats (): Readonly<GroupCommitStats> {
    return this.writer.stats
  }

  /** Mailboxes that hold at least one envelope (known once the store is open: see {@link held}). */
  get mailboxes (): number {
    return this.ledger.mailboxCount
  }

  /** Source counters held in memory (bounded by `sourceCacheSize`). */
  get cachedSources (): number {
    return this.ledger.cachedSources
  }

  /** Envelopes the relay holds and the bytes they are charged (envelopes + overhead). */
  async held (): Promise<Usage> {
    await this.ready()
    return { ...this.ledger.total }
  }

  /** Removes every envelope past its retention; resolves to the number removed. */
  async sweep (): Promise<number> {
    await this.ready()
    const total = await sweepEnvelopes(this.sweepContext(), Math.floor(this.now()) - this.retentionMs)
    this.metrics.expired += total
    const tombstones = await sweepTombstones(this.sweepContext(), Math.floor(this.now()))
    this.metrics.tombstonesExpired += tombstones
    if (total > 0 || tombstones > 0) log('swept %d expired envelopes and %d tombstones', total, tombstones)
    return total
  }

  /** Waits for writes in flight. */
  async flush (): Promise<void> {
    await this.writer.flush()
  }

  /** Opens the books once (the tag key, the total; counters rebuilt for a store written before them), then starts building the sync table. */
  private async ready (): Promise<void> {
    this.opened ??= (async () => {
      // Before the books are read: they count what the index holds.
      const moved = await migrateLegacyIndex(this.store)
      if (moved > 0) log('moved %d index entries to the layout with versions', moved)
      await this.ledger.open()
      await this.positions.open()
      // Before any put or delete (they wait for this): tombstones written later are added as they are made.
      void this.tombstones.build().catch((err: Error) => { log('tombstone filter not built (puts read the store): %s', err.message) })
      // In the background: puts and fetches do not wait for it (digest-table.ts), reconciliation does.
      this.built = this.table.build(chunk => this.sync.chunk(chunk))
      this.built.catch((err: Error) => { log('sync table not built: %s', err.message) })
    })()
    await this.opened
  }

  /** Resolves once the sync table is built. */
  private async tableReady (): Promise<void> {
    await this.ready()
    await this.built
  }

  private sweepContext (): Parameters<typeof sweepTombstones>[0] {
    return { store: this.store, ledger: this.ledger, locks: this.locks, removals: this.removals, batch: this.sweepBatch }
  }

  private countRefusal (err: QuotaExceededError): void {
    this.metrics.rejected.quota++
    if (err.quota !== 'unknown') this.metrics.rejected[REJECTED_FIELD[err.quota]]++
  }
}

function checkId (id: Uint8Array): void {
  if (!(id instanceof Uint8Array) || id.length !== ENVELOPE_ID_LENGTH) {
    throw new InvalidStoreRequestError(`an envelope id is ${ENVELOPE_ID_LENGTH} bytes, got ${(id as Uint8Array | undefined)?.length}`)
  }
}

function checkRefs (refs: readonly EnvelopeRef[]): void {
  for (const ref of refs) {
    checkId(ref.id)
    if (!(ref.hash instanceof Uint8Array) || ref.hash.length !== HASH_LENGTH) throw new InvalidStoreRequestError(`an envelope hash is ${HASH_LENGTH} bytes, got ${(ref.hash as Uint8Array | undefined)?.length}`)
  }
}

function concatPrefix (prefix: Uint8Array, cursor: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix.length + cursor.length)
  out.set(prefix)
  out.set(cursor, prefix.length)
  return out
}
