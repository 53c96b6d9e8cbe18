/**
 * The key file in IndexedDB (src/peer/identity.ts's {@link KeyStorage}): the
 * same bytes the CLI keeps in `identity.key`, encrypted under the optional
 * passphrase by src/identity/key-file.ts. Created at most once (one
 * transaction checks and adds), replaced atomically (one put).
 */
import type { KeyStorage } from '../../../src/peer/index.js'
import { IdentityExistsError } from '../../../src/peer/index.js'
import type { KeyValueTable } from './idb.js'

/** Where the key file is stored in the profile's table. */
export const KEY_FILE_KEY = 'identity.key'

/** Key storage over the profile's IndexedDB table. */
export function indexedDbKeyStorage (table: KeyValueTable): KeyStorage {
  return {
    async read () {
      const value = await table.get<Uint8Array>(KEY_FILE_KEY)
      return value instanceof Uint8Array ? value : undefined
    },
    async create (keyFile) {
      if (!await table.add(KEY_FILE_KEY, keyFile)) throw new IdentityExistsError('an identity is stored already; refusing to overwrite it')
    },
    async replace (keyFile) {
      await table.put(KEY_FILE_KEY, keyFile)
    }
  }
}
