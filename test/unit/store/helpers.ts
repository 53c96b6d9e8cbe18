/** Helpers for store tests: a temporary LevelDB and a batch-counting wrapper. */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LevelStore } from '../../../src/store/index.js'
import type { BatchOp, Store, WriteOptions } from '../../../src/store/index.js'

/** Everything an async iterable yields. */
export async function collect<T> (it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const x of it) out.push(x)
  return out
}

/** An open LevelStore in a fresh temporary directory, and its clean-up. */
export async function tempStore (): Promise<{ store: LevelStore, dir: string, cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'starling-store-'))
  const store = new LevelStore(join(dir, 'db'))
  await store.open()
  return {
    store,
    dir,
    cleanup: async () => {
      await store.close().catch(() => {})
      await rm(dir, { recursive: true, force: true })
    }
  }
}

/** One call to `batch` as the wrapped store saw it. */
export interface BatchRecord {
  ops: readonly BatchOp[]
  sync: boolean
  /** Set when the underlying batch promise resolved. */
  durable: boolean
}

/** Wraps a store's `batch` to record each call and when it became durable. */
export function countingStore (inner: Store, fail?: (ops: readonly BatchOp[]) => boolean): Pick<Store, 'batch'> & { batches: BatchRecord[] } {
  const batches: BatchRecord[] = []
  return {
    batches,
    async batch (ops: readonly BatchOp[], options: WriteOptions = {}): Promise<void> {
      const record: BatchRecord = { ops, sync: options.sync === true, durable: false }
      batches.push(record)
      if (fail?.(ops) === true) throw new Error('injected failure')
      await inner.batch(ops, options)
      record.durable = true
    }
  }
}
