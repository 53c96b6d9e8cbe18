/**
 * A peer's platform pieces in memory, for unit tests of src/peer: the key
 * file in a variable, the store in memory-level, attachments in memory,
 * the memory transport of libp2p. Records what was opened so that a test
 * can check it was closed again.
 */
import { memory } from '@libp2p/memory'
import { MemoryLevel } from 'memory-level'
import { LevelStore } from '../../../src/store/index.js'
import { MemoryBlobStore } from '../../../src/messenger/attachments/index.js'
import { IdentityExistsError } from '../../../src/peer/index.js'
import type { KeyStorage, PeerPlatform } from '../../../src/peer/index.js'
import type { Crypto } from '../../../src/crypto/index.js'

/** A key file kept in memory; `writes` counts what was written. */
export interface MemoryKeyStorage extends KeyStorage {
  bytes?: Uint8Array
  writes: number
}

/** Key storage in memory, refusing a second identity as a file system does. */
export function memoryKeyStorage (): MemoryKeyStorage {
  const keys: MemoryKeyStorage = {
    writes: 0,
    read: async () => keys.bytes,
    create: async (bytes) => {
      if (keys.bytes != null) throw new IdentityExistsError('an identity is stored already')
      keys.bytes = bytes.slice()
      keys.writes++
    },
    replace: async (bytes) => {
      keys.bytes = bytes.slice()
      keys.writes++
    }
  }
  return keys
}

/** A platform in memory; `opened` lists the stores it opened, `secrets` the at-rest secrets it was given. */
export function memoryPlatform (crypto: Crypto, keys = memoryKeyStorage()): PeerPlatform & { keys: MemoryKeyStorage, opened: LevelStore[], secrets: Array<Uint8Array | undefined> } {
  const opened: LevelStore[] = []
  const secrets: Array<Uint8Array | undefined> = []
  return {
    crypto,
    keys,
    opened,
    secrets,
    transports: () => [memory()],
    openStore: async (secret) => {
      secrets.push(secret)
      const store = new LevelStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
      await store.open()
      opened.push(store)
      return store
    },
    openBlobs: async () => new MemoryBlobStore()
  }
}
