/**
 * What the two sides of `/starling/relay-sync/1.0.0` need from a relay's
 * store: a {@link SyncSource} answers for the responder, a
 * {@link SyncTarget} compares and stores for the initiator. The relay
 * implements both over its envelope store (src/relay/sync-items.ts); the
 * protocol code never sees the store's layout.
 */
import type { ChildSummary, Summary, SyncItem } from './tree.js'

/** Work done for one request, in units: an item read, or a KiB of envelope or delete served, costs one. */
export interface Work {
  units: number
}

/** An envelope as a relay serves it to another: its item key, its bytes, and when the relay stored it. */
export interface SyncedEnvelopeEntry {
  key: Uint8Array
  envelope: Uint8Array
  /** Milliseconds since the epoch (the responder's clock). */
  storedAt: number
}

/** The node a list or expand names: a shard and a path of nibbles. */
export interface NodeExpansion {
  /** The path asked for, extended by every nibble all of its items share. */
  path: Uint8Array
  children: ChildSummary[]
}

/** A relay's set, as the responder reads it. Every method adds what it cost to `work`. */
export interface SyncSource {
  /** One summary per shard, in shard order. */
  roots(work: Work): Promise<Summary[]>
  /** `path` extended by what every item below it shares, and the children there (none for an empty node). */
  expand(shard: number, path: Uint8Array, work: Work): Promise<NodeExpansion>
  /**
   * Items under `paths` (ascending, none inside another) in key order,
   * after `after` when given, at most `limit`; `more` when some are left.
   */
  list(shard: number, paths: Uint8Array[], after: SyncItem | undefined, limit: number, work: Work): Promise<{ items: SyncItem[], more: boolean }>
  /**
   * The envelopes held under `keys`, in order, until `maxBytes` (at least
   * one if any); `answered` says how many keys (from the first) were
   * looked at. A key not held (deleted, expired, never held) is skipped.
   */
  envelopes(keys: Uint8Array[], maxBytes: number, work: Work): Promise<{ envelopes: SyncedEnvelopeEntry[], answered: number }>
  /** The owners' signed deletes behind the tombstones under `keys` (each once), like {@link envelopes}. */
  deletes(keys: Uint8Array[], maxBytes: number, work: Work): Promise<{ deletes: Uint8Array[], answered: number }>
}

/** What this relay has under an item key. */
export type LocalState = 'absent' | 'held' | 'tombstone'

/** An owner-signed delete that verified, cut down to the keys this relay asked for. */
export interface VerifiedDelete {
  mailbox: Uint8Array
  refs: Array<{ id: Uint8Array, hash: Uint8Array }>
  /** The signed delete as its owner made it (GossipDelete), kept as the tombstones' proof. */
  signed: Uint8Array
  /** When the owner signed it (ms since the epoch). */
  timestamp: number
}

/** What storing a fetched envelope came to. */
export type StoreOutcome = 'stored' | 'duplicate' | 'deleted'

/** The initiator's own relay: the same summaries, plus lookups and stores charged to the relay it syncs with. */
export interface SyncTarget {
  roots(work: Work): Promise<Summary[]>
  /** The non-empty children of the node at exactly `path` (no extension). */
  children(shard: number, path: Uint8Array, work: Work): Promise<ChildSummary[]>
  /** What this relay has of an item: the tombstone of its key, the envelope with those very bytes, or nothing (other bytes under the same id are another item). */
  lookup(item: SyncItem): Promise<LocalState>
  /**
   * Stores a fetched envelope durably (it counts as held only then).
   *
   * @throws {QuotaExceededError} when the budget for the other relay, or the relay's, is used up
   */
  storeEnvelope(entry: SyncedEnvelopeEntry): Promise<StoreOutcome>
  /**
   * Keeps tombstones for a verified delete and removes the envelopes it names.
   *
   * @throws {QuotaExceededError} as {@link storeEnvelope}
   */
  storeDelete(verified: VerifiedDelete): Promise<{ tombstones: number, removed: number }>
  /** How long this relay keeps an envelope after it was stored (ms). */
  readonly retentionMs: number
  /** How long past its signing this relay keeps a tombstone (ms). */
  readonly tombstoneLifetimeMs: number
}
