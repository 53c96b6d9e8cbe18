/**
 * Moves a relay store written before versions of an envelope were kept side
 * by side to the layout of keys.ts: each legacy index entry ('I' || mailbox
 * || id) becomes the index entry of its one version ('H' || mailbox || id ||
 * hash), and its expiry key gets the hash too. The hash is the one the
 * entry kept, or, for entries older than hashes, that of the envelope's
 * bytes. Runs when the store opens, before the books are read; each batch
 * removes what it moved, so a crash part-way resumes at the next open, and
 * a store with nothing left to move costs one empty range read.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import type { BatchOp, Store } from '../store/store.js'
import {
  decodeLegacyIndex, encodeIndexValue, envelopeKey, expiryKey, indexKey, legacyExpiryKey, legacyIndexRange
} from './keys.js'

/** Legacy entries moved per synced batch. */
export const MIGRATE_BATCH = 1000

/** Moves every legacy index entry; resolves to the number moved. */
export async function migrateLegacyIndex (store: Store, batch = MIGRATE_BATCH): Promise<number> {
  let moved = 0
  while (true) {
    const ops: BatchOp[] = []
    let seen = 0
    for await (const [key, value] of store.iterate('relay', { ...legacyIndexRange(), limit: batch })) {
      seen++
      const legacy = decodeLegacyIndex(key, value)
      ops.push({ type: 'del', namespace: 'relay', key })
      const oldExpiry = legacyExpiryKey(legacy.position, legacy.mailbox, legacy.id)
      // An entry without its envelope (never written so) keeps the hash of no bytes: the sweep gives back what it is charged.
      const hash = legacy.hash ?? sha256(await store.get('relay', envelopeKey(legacy.mailbox, legacy.position, legacy.id)) ?? new Uint8Array(0))
      ops.push(
        { type: 'put', namespace: 'relay', key: indexKey(legacy.mailbox, legacy.id, hash), value: encodeIndexValue(legacy.position, legacy.size, legacy.source) },
        { type: 'del', namespace: 'relay', key: oldExpiry },
        { type: 'put', namespace: 'relay', key: expiryKey(legacy.position, legacy.mailbox, legacy.id, hash), value: new Uint8Array(0) }
      )
      moved++
    }
    if (ops.length > 0) await store.batch(ops, { sync: true })
    if (seen < batch) return moved
  }
}
