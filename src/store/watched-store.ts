/**
 * A {@link Store} that tells an observer of every write, once before it is
 * applied and once after it is (or failed). Caches kept beside the store
 * (the messenger's decoded histories) drop what a write touches at both
 * moments: a read that overlapped the write never leaves a stale copy.
 */
import type { BatchOp, Namespace, Store, WriteOptions } from './store.js'

/** Called with the operations of a write, before and after it is applied. */
export type WriteObserver = (ops: readonly BatchOp[]) => void

/** `store`, with every put, del and batch shown to `observe` before and after. */
export function watchWrites (store: Store, observe: WriteObserver): Store {
  const around = async (ops: readonly BatchOp[], write: () => Promise<void>): Promise<void> => {
    observe(ops)
    try {
      await write()
    } finally {
      observe(ops)
    }
  }
  return {
    open: async () => { await store.open() },
    close: async () => { await store.close() },
    get: async (namespace, key) => await store.get(namespace, key),
    iterate: (namespace, range) => store.iterate(namespace, range),
    ...(store.compact != null ? { compact: async () => { await store.compact?.() } } : {}),
    put: async (namespace: Namespace, key: Uint8Array, value: Uint8Array, options?: WriteOptions) => {
      await around([{ type: 'put', namespace, key, value }], async () => { await store.put(namespace, key, value, options) })
    },
    del: async (namespace: Namespace, key: Uint8Array, options?: WriteOptions) => {
      await around([{ type: 'del', namespace, key }], async () => { await store.del(namespace, key, options) })
    },
    batch: async (ops: readonly BatchOp[], options?: WriteOptions) => {
      await around(ops, async () => { await store.batch(ops, options) })
    }
  }
}
