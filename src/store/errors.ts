/** Named errors of the storage layer; tests assert on `.name`. */

/** An operation on a store that is not open (never opened, or closed). */
export class StoreClosedError extends Error {
  override readonly name = 'StoreClosedError'
}

/** A write the database refused or failed to make durable. Nothing of the batch was applied. */
export class StoreWriteError extends Error {
  override readonly name = 'StoreWriteError'
}

/** A key or value that is not usable (wrong type, empty key, unknown namespace). */
export class InvalidStoreKeyError extends Error {
  override readonly name = 'InvalidStoreKeyError'
}

/** A stored value that does not decrypt under the store's key: altered, moved to another key, or not encrypted. */
export class StoreDecryptError extends Error {
  override readonly name = 'StoreDecryptError'
}

/** The store was encrypted with another key than the one given. */
export class StoreKeyError extends Error {
  override readonly name = 'StoreKeyError'
}
