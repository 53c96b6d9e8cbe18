/** Backups as version 1 wrote them, for the tests that check they still import. */
import { derivePasswordKey } from '../../../src/crypto/password-kdf.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { NAMESPACES } from '../../../src/store/index.js'
import type { Namespace, Store } from '../../../src/store/index.js'
import { concat } from '../../../src/messenger/bytes.js'

/** Cheap scrypt for tests. */
export const CHEAP = { logN: 10, r: 8, p: 1 }
/** The passphrase of the test backups. */
export const PASS = 'correct horse battery staple'

/**
 * A backup as version 1 wrote it (format in src/messenger/backup.ts): every
 * entry of 'outbox', 'messages', 'dedup', 'sessions' and 'contacts', ratchet
 * states and sealed outbox entries included.
 */
export async function versionOneBackup (crypto: Crypto, store: Store, keyFile: Uint8Array): Promise<Uint8Array> {
  const u32 = (n: number): Uint8Array => {
    const out = new Uint8Array(4)
    new DataView(out.buffer).setUint32(0, n)
    return out
  }
  const parts: Uint8Array[] = [u32(keyFile.length), keyFile]
  const namespaces: Namespace[] = ['outbox', 'messages', 'dedup', 'sessions', 'contacts']
  for (const namespace of namespaces) {
    for await (const [key, value] of store.iterate(namespace)) {
      parts.push(Uint8Array.of(NAMESPACES.indexOf(namespace)), u32(key.length), key, u32(value.length), value)
    }
  }
  const salt = crypto.randomBytes(16)
  const nonce = crypto.randomBytes(12)
  const header = concat(Uint8Array.of(0x53, 0x54, 0x42, 0x4b, 1, CHEAP.logN, CHEAP.r, CHEAP.p), salt, nonce)
  const key = await derivePasswordKey(PASS, salt, CHEAP)
  return concat(header, await crypto.aead.encrypt(key, nonce, concat(...parts), header))
}
