/**
 * A user's data at rest: the message store and the attachments of a data
 * directory, encrypted when the identity's key file is (STARLING_PASSPHRASE),
 * with keys derived from the device's identity secret
 * (src/store/at-rest-key.ts). A store or attachment directory that was
 * encrypted is refused, with a clear error, when no key is at hand.
 */
import { join } from 'node:path'
import type { Crypto } from '../src/crypto/index.js'
import { EncryptedStore, LevelStore, deriveAtRestKey, isEncryptedStore } from '../src/store/index.js'
import type { Store } from '../src/store/index.js'
import { FileBlobStore, nodeSha256 } from './blob-store.js'
import { CommandError } from './errors.js'
import { Files } from './data-dir.js'

/**
 * Opens the message store of `dataDir`. `secret` is the device's identity
 * secret key when the key file is encrypted (the store is then encrypted,
 * and a store written in the clear is encrypted on this open), else undefined.
 */
export async function openUserStore (crypto: Crypto, dataDir: string, secret?: Uint8Array): Promise<Store> {
  const level = new LevelStore(join(dataDir, Files.store))
  if (secret != null) {
    const store = new EncryptedStore(level, { crypto, key: deriveAtRestKey(crypto, secret, 'store') })
    try {
      await store.open()
    } catch (err) {
      if ((err as Error).name === 'StoreKeyError') throw new CommandError(`the message store in ${dataDir} was encrypted by another identity`)
      throw err
    }
    return store
  }
  await level.open()
  if (await isEncryptedStore(level)) {
    await level.close()
    throw new CommandError(`the message store in ${dataDir} is encrypted: set STARLING_PASSPHRASE`)
  }
  return level
}

/** Opens the attachments of `dataDir`, encrypted like the store (see {@link openUserStore}). */
export async function openUserBlobs (crypto: Crypto, dataDir: string, secret?: Uint8Array): Promise<FileBlobStore> {
  const encryptionKey = secret != null ? deriveAtRestKey(crypto, secret, 'attachments') : undefined
  try {
    return await new FileBlobStore(join(dataDir, Files.attachments), { sha256: nodeSha256, ...(encryptionKey != null ? { encryptionKey } : {}) }).open()
  } catch (err) {
    if ((err as Error).name === 'BlobStoreKeyError') throw new CommandError(`the attachments in ${dataDir} are encrypted: set STARLING_PASSPHRASE`)
    throw err
  }
}
