/**
 * The relay's books recounted from what its store holds: every envelope in
 * the index (its mailbox, its source's tag, its size) and every tombstone
 * (its source and charge), for tests that check the counters the ledger
 * keeps (ledger.ts) against the disk after concurrency, failures, restarts
 * and crashes.
 */
import assert from 'node:assert/strict'
import { toHex } from '../../../src/crypto/bytes.js'
import { chargeOf } from '../../../src/relay/index.js'
import type { EnvelopeStore } from '../../../src/relay/index.js'
import { TOTAL_KEY, decodeIndexKey, decodeIndexValue, decodeTombstoneValue, decodeUsage } from '../../../src/relay/keys.js'
import type { Store } from '../../../src/store/store.js'

type Usage = { count: number, bytes: number }
type Counters = Map<string, Usage>

/** Key prefixes of keys.ts: index, tombstone, source, mailbox and share counters. */
const INDEX = 0x48
const TOMBSTONE = 0x44
const SOURCE = 0x53
const MAILBOX = 0x4d
const SHARE = 0x51

/** What the books should say, by key (hex, without the prefix). */
export interface Recount {
  total: Usage
  sources: Counters
  mailboxes: Counters
  shares: Counters
}

function bump (map: Counters, key: string, count: number, bytes: number): void {
  const u = map.get(key) ?? { count: 0, bytes: 0 }
  u.count += count
  u.bytes += bytes
  map.set(key, u)
}

function range (prefix: number): { gte: Uint8Array, lt: Uint8Array } {
  return { gte: new Uint8Array([prefix]), lt: new Uint8Array([prefix + 1]) }
}

/** Counts what the store holds: a tombstone keeps its count and its charge on its source and the total. */
export async function recount (level: Store): Promise<Recount> {
  const r: Recount = { total: { count: 0, bytes: 0 }, sources: new Map(), mailboxes: new Map(), shares: new Map() }
  for await (const [key, value] of level.iterate('relay', range(INDEX))) {
    const mailbox = toHex(decodeIndexKey(key).mailbox)
    const v = decodeIndexValue(value)
    bump(r.sources, toHex(v.source), 1, chargeOf(v.size))
    bump(r.mailboxes, mailbox, 1, v.size)
    bump(r.shares, mailbox + toHex(v.source), 1, v.size)
    r.total.count++
    r.total.bytes += chargeOf(v.size)
  }
  for await (const [, value] of level.iterate('relay', range(TOMBSTONE))) {
    const t = decodeTombstoneValue(value)
    bump(r.sources, toHex(t.source), 1, t.charge)
    r.total.count++
    r.total.bytes += t.charge
  }
  return r
}

async function counters (level: Store, prefix: number): Promise<Counters> {
  const out: Counters = new Map()
  for await (const [key, value] of level.iterate('relay', range(prefix))) out.set(toHex(key.subarray(1)), decodeUsage(value))
  return out
}

function sorted (map: Counters): Array<[string, Usage]> {
  return [...map.entries()].filter(([, u]) => u.count > 0 || u.bytes > 0).sort(([a], [b]) => a < b ? -1 : 1)
}

/** Asserts that the counters on disk (and the store's total, if given) equal a recount of what the disk holds. */
export async function assertBooks (level: Store, what: string, store?: EnvelopeStore): Promise<Recount> {
  await store?.flush()
  const r = await recount(level)
  if (store !== undefined) assert.deepEqual(await store.held(), r.total, `${what}: the total the store checks against`)
  assert.deepEqual(decodeUsage(await level.get('relay', TOTAL_KEY)), r.total, `${what}: the total on disk`)
  assert.deepEqual(sorted(await counters(level, SOURCE)), sorted(r.sources), `${what}: the sources' counters on disk`)
  assert.deepEqual(sorted(await counters(level, MAILBOX)), sorted(r.mailboxes), `${what}: the mailboxes' counters on disk`)
  assert.deepEqual(sorted(await counters(level, SHARE)), sorted(r.shares), `${what}: the shares' counters on disk`)
  return r
}
