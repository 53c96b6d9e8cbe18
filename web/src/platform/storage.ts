/**
 * The message store in IndexedDB (src/store's LevelStore over
 * durable-level.ts), encrypted at rest when the identity's key file is
 * (src/store/encrypted-store.ts, key derived from the identity as in the
 * CLI), and the browser's persistent-storage grant.
 */
import type { Crypto } from '../../../src/crypto/index.js'
import { EncryptedStore, LevelStore, deriveAtRestKey, isEncryptedStore } from '../../../src/store/index.js'
import type { Store } from '../../../src/store/index.js'
import { durableBrowserLevel } from './durable-level.js'

/** A store that was encrypted, opened without the key. */
export class StoreLockedError extends Error {
  override readonly name = 'StoreLockedError'
}

/** Opens the profile's message store (encrypted under `secret`'s derived key when given). */
export async function openBrowserStore (crypto: Crypto, location: string, secret?: Uint8Array): Promise<Store> {
  const level = new LevelStore(durableBrowserLevel(location) as unknown as ConstructorParameters<typeof LevelStore>[0])
  if (secret != null) {
    const store = new EncryptedStore(level, { crypto, key: deriveAtRestKey(crypto, secret, 'store') })
    await store.open()
    return store
  }
  await level.open()
  if (await isEncryptedStore(level)) {
    await level.close()
    throw new StoreLockedError('the message store is encrypted: the passphrase is needed')
  }
  return level
}

/**
 * Asks the browser to keep this origin's storage under pressure (it may
 * still say no, e.g. before the user interacted). Resolves with whether the
 * storage is persistent now.
 */
export async function persistStorage (): Promise<boolean> {
  const storage = navigator.storage as StorageManager | undefined
  if (storage?.persist == null) return false
  if (await storage.persisted()) return true
  try {
    return await storage.persist()
  } catch {
    return false
  }
}
