/**
 * Counters for a relay store written before they existed: one pass over
 * the index sums what each mailbox holds, what each source holds, in all
 * and per mailbox, and the relay's total, and writes them. Index entries of that time carry no
 * source tag, so they all count against one legacy source; they expire
 * with the retention like any other.
 */
import type { BatchOp, Store } from '../store/store.js'
import { toHex } from '../crypto/bytes.js'
import { TOTAL_KEY, allIndexRange, decodeIndexKey, decodeIndexValue, encodeUsage, mailboxUsageKey, shareKey, sourceKey } from './keys.js'
import { chargeOf } from './usage.js'
import type { Usage } from './usage.js'

/** Operations per batch while writing the counters. */
const BATCH = 1000

/** Counts, writes and returns the relay's total usage (envelopes, charged bytes). */
export async function rebuildCounters (store: Store): Promise<Usage> {
  const total: Usage = { count: 0, bytes: 0 }
  const sources = new Map<string, { tag: Uint8Array, usage: Usage }>()
  let ops: BatchOp[] = []
  let mailbox = ''
  let shares = new Map<string, { tag: Uint8Array, mailbox: Uint8Array, usage: Usage }>()
  const flushShares = async (): Promise<void> => {
    const held: Usage = { count: 0, bytes: 0 }
    for (const share of shares.values()) {
      ops.push({ type: 'put', namespace: 'relay', key: shareKey(share.mailbox, share.tag), value: encodeUsage(share.usage.count, share.usage.bytes) })
      held.count += share.usage.count
      held.bytes += share.usage.bytes
    }
    const first = shares.values().next()
    if (first.done !== true) ops.push({ type: 'put', namespace: 'relay', key: mailboxUsageKey(first.value.mailbox), value: encodeUsage(held.count, held.bytes) })
    shares = new Map()
    if (ops.length >= BATCH) {
      await store.batch(ops, { sync: true })
      ops = []
    }
  }
  // Index keys sort by mailbox: a mailbox's shares are complete when the next mailbox starts.
  for await (const [key, value] of store.iterate('relay', allIndexRange())) {
    const entry = decodeIndexValue(value)
    const { mailbox: owner } = decodeIndexKey(key)
    const owned = toHex(owner)
    if (owned !== mailbox) {
      await flushShares()
      mailbox = owned
    }
    const tag = toHex(entry.source)
    const share = shares.get(tag) ?? { tag: entry.source, mailbox: owner, usage: { count: 0, bytes: 0 } }
    share.usage.count++
    share.usage.bytes += entry.size
    shares.set(tag, share)
    const source = sources.get(tag) ?? { tag: entry.source, usage: { count: 0, bytes: 0 } }
    source.usage.count++
    source.usage.bytes += chargeOf(entry.size)
    sources.set(tag, source)
    total.count++
    total.bytes += chargeOf(entry.size)
  }
  await flushShares()
  for (const source of sources.values()) {
    ops.push({ type: 'put', namespace: 'relay', key: sourceKey(source.tag), value: encodeUsage(source.usage.count, source.usage.bytes) })
  }
  // The total last: its presence says the counters are complete.
  ops.push({ type: 'put', namespace: 'relay', key: TOTAL_KEY, value: encodeUsage(total.count, total.bytes) })
  await store.batch(ops, { sync: true })
  return total
}
