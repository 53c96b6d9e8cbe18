/**
 * The retention sweep of envelopes: every version stored before the cutoff
 * goes, found oldest first through the expiry keys, a batch at a time and
 * under each mailbox's lock, its charge given back to its source.
 */
import type { BatchOp } from '../store/store.js'
import { toHex } from '../crypto/bytes.js'
import { decodeExpiryKey, expiryRangeBefore } from './keys.js'
import type { Removal } from './removals.js'
import type { SweepContext } from './sweep-tombstones.js'

/** Removes every envelope stored at or before `cutoff`; resolves to the number removed. */
export async function sweepEnvelopes (ctx: SweepContext, cutoff: number): Promise<number> {
  let total = 0
  while (true) {
    const byMailbox = new Map<string, { mailbox: Uint8Array, removals: Removal[], keys: BatchOp[] }>()
    let seen = 0
    for await (const [key] of ctx.store.iterate('relay', { ...expiryRangeBefore(cutoff + 1), limit: ctx.batch })) {
      const { mailbox, id, hash, position } = decodeExpiryKey(key)
      const hex = toHex(mailbox)
      const group = byMailbox.get(hex) ?? { mailbox, removals: [], keys: [] }
      // The version at this position only: one stored again since has an expiry key of its own.
      group.removals.push({ id, hash, position })
      // Deleted whatever the index says, so that a stray expiry key cannot stall the sweep.
      group.keys.push({ type: 'del', namespace: 'relay', key })
      byMailbox.set(hex, group)
      seen++
    }
    for (const [hex, group] of byMailbox) {
      total += await ctx.locks.run(hex, async () => await ctx.removals.remove(group.mailbox, group.removals, group.keys))
    }
    if (seen < ctx.batch) return total
  }
}
