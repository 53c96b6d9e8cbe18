/**
 * The floor `npm run bench:relay` compares a relay with: what the disk and
 * the signature cost on their own. LevelDB (the same `level` the relay
 * uses) takes synced batches of envelopes of the same size, as many per
 * batch as the relay's group commit carried, and each envelope costs one
 * Ed25519 signature (node:crypto, as the relay's receipts), one writer at
 * a time. Nothing here speaks a protocol, checks a quota or keeps an index.
 */
import { generateKeyPairSync, sign } from 'node:crypto'
import { Level } from 'level'

/** What the floor did. */
export interface FloorResult {
  envelopes: number
  batch: number
  size: number
  perSecond: number
}

/** Stores `envelopes` of `size` bytes in synced batches of `batch`, signing each; in `dir`. */
export async function measureFloor (dir: string, envelopes: number, batch: number, size: number): Promise<FloorResult> {
  const db = new Level<Uint8Array, Uint8Array>(dir, { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  const { privateKey } = generateKeyPairSync('ed25519')
  const payload = new Uint8Array(32 + 16 + 32 + 16 + 38) // what a receipt signs: mailbox, id, hash, times, relay
  const start = performance.now()
  let done = 0
  try {
    while (done < envelopes) {
      const n = Math.min(batch, envelopes - done)
      const ops = []
      for (let i = 0; i < n; i++) {
        const value = crypto.getRandomValues(new Uint8Array(size))
        crypto.getRandomValues(payload)
        sign(null, payload, privateKey)
        ops.push({ type: 'put' as const, key: crypto.getRandomValues(new Uint8Array(60)), value })
      }
      await db.batch(ops, { sync: true })
      done += n
    }
  } finally {
    await db.close()
  }
  return { envelopes: done, batch, size, perSecond: Math.round(done / ((performance.now() - start) / 1000)) }
}
