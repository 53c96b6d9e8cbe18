/**
 * A small key-value table in IndexedDB, for what the page keeps beside the
 * message store: the key file and the app's settings. Every write commits
 * with `durability: 'strict'`: the browser reports it done only once it is
 * on stable storage, as the CLI's synced file writes are.
 */

/** One IndexedDB database with one object store, keyed by strings. */
export class KeyValueTable {
  private constructor (private readonly db: IDBDatabase, private readonly store: string) {}

  /** Opens (creating if needed) database `name` with one object store `store`. */
  static async open (name: string, store = 'kv'): Promise<KeyValueTable> {
    const request = indexedDB.open(name, 1)
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(store)) request.result.createObjectStore(store)
    }
    const db = await done(request)
    return new KeyValueTable(db, store)
  }

  /** The value under `key`, or undefined. */
  async get<T> (key: string): Promise<T | undefined> {
    const tx = this.db.transaction(this.store, 'readonly')
    return await done(tx.objectStore(this.store).get(key)) as T | undefined
  }

  /** Stores `value` under `key`, durably. */
  async put (key: string, value: unknown): Promise<void> {
    const tx = this.db.transaction(this.store, 'readwrite', { durability: 'strict' })
    tx.objectStore(this.store).put(value, key)
    await committed(tx)
  }

  /**
   * Stores `value` under `key` only if nothing is stored there, in one
   * transaction (two tabs cannot both create); resolves with whether it did.
   */
  async add (key: string, value: unknown): Promise<boolean> {
    const tx = this.db.transaction(this.store, 'readwrite', { durability: 'strict' })
    const store = tx.objectStore(this.store)
    let added = false
    const existing = store.get(key)
    existing.onsuccess = () => {
      if (existing.result !== undefined) return
      store.add(value, key)
      added = true
    }
    await committed(tx)
    return added
  }

  /** Removes `key`, durably. */
  async delete (key: string): Promise<void> {
    const tx = this.db.transaction(this.store, 'readwrite', { durability: 'strict' })
    tx.objectStore(this.store).delete(key)
    await committed(tx)
  }

  close (): void {
    this.db.close()
  }
}

/** The result of a request, or its error. */
export async function done<T> (request: IDBRequest<T>): Promise<T> {
  return await new Promise<T>((resolve, reject) => {
    request.onsuccess = () => { resolve(request.result) }
    request.onerror = () => { reject(request.error ?? new Error('IndexedDB request failed')) }
  })
}

/** Resolves when `tx` has committed (with strict durability: once on disk). */
export async function committed (tx: IDBTransaction): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    tx.oncomplete = () => { resolve() }
    tx.onabort = () => { reject(tx.error ?? new Error('IndexedDB transaction aborted')) }
    tx.onerror = () => { reject(tx.error ?? new Error('IndexedDB transaction failed')) }
  })
}
