/**
 * Attachment chunks that arrived before their descriptor (relays may hand
 * them out in another order than they were sent). They are kept only from
 * accepted contacts (the inbox drops a stranger's), for a limited time, and
 * up to a number of bytes per contact: a descriptor that never comes no
 * longer means chunks stored forever (issue 9, item 4).
 *
 * Layout, `dedup` namespace:
 *   atto/ || attachment id (16) || chunk index (u32)  ->  stored at (u64 ms) || sender account (32) || chunk payload
 * Entries of the earlier layout (`attp/`, no time, no sender) are removed
 * by the first sweep.
 */
import { logger } from '@libp2p/logger'
import type { BatchOp, Store } from '../store/index.js'
import { concat, toHex, utf8 } from './bytes.js'

const log = logger('starling:messenger:attachments')

const ORPHAN = utf8('atto/')
const LEGACY = utf8('attp/')
const HEADER_BYTES = 8 + 32
const ACCOUNT_BYTES = 32

/** Limits of {@link OrphanChunks}. */
export interface OrphanLimits {
  /** How long a chunk waits for its descriptor. */
  ttlMs: number
  /** Most bytes of waiting chunks per sender account. */
  maxBytesPerAccount: number
}

function upperBound (prefix: Uint8Array): Uint8Array {
  return concat(prefix, new Uint8Array(24).fill(0xff))
}

function orphanKey (id: Uint8Array, index: number): Uint8Array {
  const i = new Uint8Array(4)
  new DataView(i.buffer).setUint32(0, index)
  return concat(ORPHAN, id, i)
}

interface Parsed {
  storedAt: number
  account: string
  payload: Uint8Array
}

function parse (value: Uint8Array): Parsed | undefined {
  if (value.length < HEADER_BYTES) return undefined
  const storedAt = Number(new DataView(value.buffer, value.byteOffset, value.byteLength).getBigUint64(0))
  return { storedAt, account: toHex(value.subarray(8, HEADER_BYTES)), payload: value.subarray(HEADER_BYTES) }
}

/** Chunks waiting for their descriptor. */
export class OrphanChunks {
  /** Bytes waiting per account (hex), read from the store on first use. */
  private bytes?: Map<string, number>

  constructor (private readonly store: Store, private readonly now: () => number, private readonly limits: OrphanLimits) {}

  private async usage (): Promise<Map<string, number>> {
    if (this.bytes != null) return this.bytes
    const bytes = new Map<string, number>()
    for await (const [, value] of this.store.iterate('dedup', { gte: ORPHAN, lt: upperBound(ORPHAN) })) {
      const p = parse(value)
      if (p != null) bytes.set(p.account, (bytes.get(p.account) ?? 0) + value.length)
    }
    this.bytes = bytes
    return bytes
  }

  private adjust (usage: Map<string, number>, account: string, delta: number): void {
    const left = (usage.get(account) ?? 0) + delta
    if (left > 0) usage.set(account, left)
    else usage.delete(account)
  }

  /**
   * Keeps chunk `index` of attachment `id` (synced); false, and nothing
   * stored, when `account` already has its share waiting.
   */
  async keep (id: Uint8Array, index: number, account: Uint8Array, payload: Uint8Array): Promise<boolean> {
    if (account.length !== ACCOUNT_BYTES) throw new RangeError(`account key must be ${ACCOUNT_BYTES} bytes`)
    const usage = await this.usage()
    const who = toHex(account)
    const key = orphanKey(id, index)
    const value = new Uint8Array(HEADER_BYTES + payload.length)
    new DataView(value.buffer).setBigUint64(0, BigInt(Math.max(0, Math.floor(this.now()))))
    value.set(account, 8)
    value.set(payload, HEADER_BYTES)
    const previous = await this.store.get('dedup', key)
    const growth = value.length - (previous?.length ?? 0)
    if ((usage.get(who) ?? 0) + growth > this.limits.maxBytesPerAccount) {
      log('chunk %d of %s dropped: %s has %d bytes of chunks waiting for descriptors', index, toHex(id), who, usage.get(who) ?? 0)
      return false
    }
    await this.store.put('dedup', key, value, { sync: true })
    this.adjust(usage, who, growth)
    return true
  }

  /** The chunk payloads waiting for attachment `id`, with the keys to delete once they are used. */
  async waiting (id: Uint8Array): Promise<Array<{ key: Uint8Array, payload: Uint8Array }>> {
    const prefix = concat(ORPHAN, id)
    const out: Array<{ key: Uint8Array, payload: Uint8Array }> = []
    for await (const [key, value] of this.store.iterate('dedup', { gte: prefix, lt: upperBound(prefix) })) {
      const p = parse(value)
      if (p != null) out.push({ key, payload: p.payload })
    }
    return out
  }

  /** Removes one waiting chunk (used, or expired). */
  async remove (key: Uint8Array): Promise<void> {
    const value = await this.store.get('dedup', key)
    if (value == null) return
    await this.store.del('dedup', key)
    const p = parse(value)
    if (p != null) this.adjust(await this.usage(), p.account, -value.length)
  }

  /** Removes every chunk that waited longer than the time limit (and the earlier layout's); returns how many. */
  async sweep (): Promise<number> {
    const usage = await this.usage()
    const cutoff = this.now() - this.limits.ttlMs
    const ops: BatchOp[] = []
    for await (const [key, value] of this.store.iterate('dedup', { gte: ORPHAN, lt: upperBound(ORPHAN) })) {
      const p = parse(value)
      if (p != null && p.storedAt > cutoff) continue
      ops.push({ type: 'del', namespace: 'dedup', key })
      if (p != null) this.adjust(usage, p.account, -value.length)
    }
    for await (const [key] of this.store.iterate('dedup', { gte: LEGACY, lt: upperBound(LEGACY) })) ops.push({ type: 'del', namespace: 'dedup', key })
    if (ops.length > 0) await this.store.batch(ops)
    if (ops.length > 0) log('%d attachment chunks expired without their descriptor', ops.length)
    return ops.length
  }
}
