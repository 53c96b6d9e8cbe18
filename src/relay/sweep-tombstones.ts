/**
 * The retention sweep of tombstones and their proofs: every tombstone past
 * its expiry goes (its charge given back to its source), then every proof
 * past the same time (all the tombstones it backed expired with it).
 */
import type { BatchOp, Store } from '../store/store.js'
import { toHex } from '../crypto/bytes.js'
import { MAILBOX_LENGTH } from '../protocols/store/constants.js'
import type { KeyedLock } from './keyed-lock.js'
import { deadByRangeThrough, decodeTombstoneValue, itemOfDeadByKey, proofRangeThrough, tombstoneKey } from './keys.js'
import type { Ledger, SourceCharge } from './ledger.js'
import type { Removals } from './removals.js'

/** What the retention sweeps work on: the store's parts. */
export interface SweepContext {
  store: Store
  ledger: Ledger
  locks: KeyedLock
  removals: Removals
  /** Keys read per batch. */
  batch: number
}

/** Removes every tombstone and proof that expires at or before `now`; resolves to the number of tombstones removed. */
export async function sweepTombstones (ctx: SweepContext, now: number): Promise<number> {
  let total = 0
  while (true) {
    const byMailbox = new Map<string, { items: Uint8Array[], keys: BatchOp[] }>()
    let seen = 0
    for await (const [key] of ctx.store.iterate('relay', { ...deadByRangeThrough(now), limit: ctx.batch })) {
      const item = itemOfDeadByKey(key)
      const hex = toHex(item.subarray(0, MAILBOX_LENGTH))
      const group = byMailbox.get(hex) ?? { items: [], keys: [] }
      group.items.push(item)
      group.keys.push({ type: 'del', namespace: 'relay', key })
      byMailbox.set(hex, group)
      seen++
    }
    for (const [hex, group] of byMailbox) {
      total += await ctx.locks.run(hex, async () => await sweepMailbox(ctx, group.items, group.keys))
    }
    if (seen < ctx.batch) break
  }
  while (true) {
    const ops: BatchOp[] = []
    for await (const [key] of ctx.store.iterate('relay', { ...proofRangeThrough(now), limit: ctx.batch })) ops.push({ type: 'del', namespace: 'relay', key })
    if (ops.length > 0) await ctx.removals.commit(ops, [], [])
    if (ops.length < ctx.batch) break
  }
  return total
}

async function sweepMailbox (ctx: SweepContext, items: Uint8Array[], keys: BatchOp[]): Promise<number> {
  const ops: BatchOp[] = [...keys]
  const refunds = new Map<string, SourceCharge>()
  let removed = 0
  for (const item of items) {
    const value = await ctx.store.get('relay', tombstoneKey(item))
    if (value === undefined) continue
    const tombstone = decodeTombstoneValue(value)
    ops.push({ type: 'del', namespace: 'relay', key: tombstoneKey(item) })
    const refund = refunds.get(toHex(tombstone.source)) ?? { tag: tombstone.source, count: 0, bytes: 0 }
    refund.count--
    refund.bytes -= tombstone.charge
    refunds.set(toHex(tombstone.source), refund)
    removed++
  }
  const entries = refunds.size > 0 ? [await ctx.ledger.chargeSources([...refunds.values()])] : []
  await ctx.removals.commit(ops, entries, items.map(key => ({ key, tombstone: true, remove: true })))
  return removed
}
