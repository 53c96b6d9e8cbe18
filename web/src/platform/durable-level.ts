/**
 * browser-level (IndexedDB behind `level`) with "stored before acknowledged"
 * (DESIGN.md, Messages): browser-level opens every transaction without a
 * durability hint, so Chromium commits with relaxed durability (reported
 * done before it reaches the disk). A batch written with `sync: true` (what
 * src/store's LevelStore passes for synced writes) here commits with
 * `durability: 'strict'`; other batches keep the browser's default.
 */
import { BrowserLevel } from 'browser-level'

/** The `level` options the store opens databases with (binary keys and values). */
const BINARY = { keyEncoding: 'view', valueEncoding: 'view' } as const

/** The durability a readwrite transaction is opened with for a batch. */
export function batchDurability (options: { sync?: boolean } | undefined): IDBTransactionDurability {
  return options?.sync === true ? 'strict' : 'default'
}

/** What this file uses of browser-level's private side (not in its types). */
interface BrowserLevelInternals {
  /** The open IDBDatabase (browser-level's own getter). */
  readonly db: IDBDatabase | null
  _batch(operations: unknown[], options: { sync?: boolean }): Promise<void>
}

/**
 * A BrowserLevel database whose synced batches commit with strict
 * durability. browser-level's `_batch` opens its transaction synchronously,
 * before its first await: for that call only, the database's `transaction`
 * gets the durability option (an own property, removed right after).
 * test/browser/durability.spec.ts checks the transactions it opens.
 */
export function durableBrowserLevel (location: string): BrowserLevel<Uint8Array, Uint8Array> {
  const level = new BrowserLevel<Uint8Array, Uint8Array>(location, { ...BINARY, prefix: 'starling-' })
  const internals = level as unknown as BrowserLevelInternals
  const batch = internals._batch.bind(level)
  internals._batch = async (operations, options) => {
    const durability = batchDurability(options)
    const idb = internals.db
    if (durability === 'default' || idb == null) {
      await batch(operations, options)
      return
    }
    const transaction = IDBDatabase.prototype.transaction
    Object.defineProperty(idb, 'transaction', {
      configurable: true,
      value: (names: string | string[], mode?: IDBTransactionMode) => transaction.call(idb, names, mode, { durability })
    })
    let pending: Promise<void>
    try {
      pending = batch(operations, options)
    } finally {
      delete (idb as { transaction?: unknown }).transaction
    }
    await pending
  }
  return level
}
