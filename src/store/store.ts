/**
 * The storage contract: byte keys and byte values in a fixed set of
 * namespaces, atomic batches across namespaces, ordered iteration. The
 * `level` implementation is in `level-store.ts`; tests may use any other.
 */

/** The namespaces (sublevels) a store holds. */
export const NAMESPACES = ['outbox', 'messages', 'dedup', 'sessions', 'contacts', 'relay', 'meta'] as const

/**
 * One namespace:
 * - `outbox`: messages waiting for an end-to-end acknowledgement
 * - `messages`: every message of every conversation, keyed by conversation and order key
 * - `dedup`: markers of envelope/message ids already stored (at-least-once delivery)
 * - `sessions`: ratchet session state, written atomically with the message it produced
 * - `contacts`: pinned contacts
 * - `relay`: sealed envelopes a relay holds for offline peers
 * - `meta`: the store's own records (whether and how far it is encrypted: encrypted-store.ts)
 */
export type Namespace = typeof NAMESPACES[number]

/** Put or delete one key; a list of these is applied atomically by {@link Store.batch}. */
export type BatchOp =
  | { type: 'put', namespace: Namespace, key: Uint8Array, value: Uint8Array }
  | { type: 'del', namespace: Namespace, key: Uint8Array }

/** Write options. */
export interface WriteOptions {
  /**
   * Wait until the write is on stable storage (fsync) before resolving.
   * LevelDB honours it (fsync); in browsers, web/ opens the IndexedDB
   * transaction of a synced batch with strict durability
   * (web/src/platform/durable-level.ts).
   */
  sync?: boolean
}

/** A key range for {@link Store.iterate}, compared byte-wise. */
export interface Range {
  gt?: Uint8Array
  gte?: Uint8Array
  lt?: Uint8Array
  lte?: Uint8Array
  /** Newest (largest key) first. */
  reverse?: boolean
  /** At most this many entries. */
  limit?: number
}

/** A key and its value. */
export type Entry = [key: Uint8Array, value: Uint8Array]

/** Byte storage in namespaces, with atomic batches across them. */
export interface Store {
  open(): Promise<void>
  close(): Promise<void>
  get(namespace: Namespace, key: Uint8Array): Promise<Uint8Array | undefined>
  put(namespace: Namespace, key: Uint8Array, value: Uint8Array, options?: WriteOptions): Promise<void>
  del(namespace: Namespace, key: Uint8Array, options?: WriteOptions): Promise<void>
  /** Applies every operation or none, even across namespaces. */
  batch(ops: readonly BatchOp[], options?: WriteOptions): Promise<void>
  /** Entries of one namespace in byte order of their keys. */
  iterate(namespace: Namespace, range?: Range): AsyncIterable<Entry>
  /**
   * Rewrites the stored data so that values overwritten or deleted leave the
   * files (LevelDB's compaction); absent or a no-op where the backend has none.
   */
  compact?(): Promise<void>
}
