/**
 * Storage: a small byte-level {@link Store} contract, its `level`
 * implementation (LevelDB in Node, IndexedDB in browsers), group commit for
 * durable writes at high rates, and byte-sortable keys.
 *
 * @example
 * ```ts
 * const store = new LevelStore(location)   // location comes from node/ or web/
 * await store.open()
 * const writer = new GroupCommitWriter(store)
 * await writer.commit([{ type: 'put', namespace: 'outbox', key, value }])  // durable when it resolves
 * ```
 */
export { NAMESPACES } from './store.js'
export type { BatchOp, Entry, Namespace, Range, Store, WriteOptions } from './store.js'
export { LevelStore } from './level-store.js'
export { watchWrites } from './watched-store.js'
export { ReadCache } from './read-cache.js'
export type { WriteObserver } from './watched-store.js'
export { DEFAULT_MAX_BATCH_OPS, GroupCommitWriter } from './group-commit.js'
export type { GroupCommitInit, GroupCommitStats } from './group-commit.js'
export {
  conversationOfMessageKey, conversationRange, decodeOrderKey, encodeOrderKey, MAX_CONVERSATION_ID_BYTES, messageKey, ORDER_AUTHOR_BYTES,
  ORDER_ID_BYTES, ORDER_KEY_BYTES, orderKeyOfMessageKey, prefixRange
} from './keys.js'
export type { OrderKeyParts } from './keys.js'
export { EncryptedStore, isEncryptedStore, MIGRATION_BATCH } from './encrypted-store.js'
export type { EncryptedStoreInit } from './encrypted-store.js'
export { AT_REST_KEY_BYTES, deriveAtRestKey } from './at-rest-key.js'
export type { AtRestPurpose } from './at-rest-key.js'
export { InvalidStoreKeyError, StoreClosedError, StoreDecryptError, StoreKeyError, StoreWriteError } from './errors.js'
