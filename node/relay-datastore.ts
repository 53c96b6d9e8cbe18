/**
 * The relay's DHT datastore (LevelDB), with a read cache for libp2p's peer
 * store. libp2p 3 merges into the peer store on every inbound stream (the
 * stream's protocol; connection.js) and on every identify, and each merge
 * reads the peer's record from the datastore first: a user's node pings
 * its relay every 10 s, so 2,000 users cost the relay 200 LevelDB reads a
 * second that nearly always find what was read before (a merge that
 * changes nothing: ~0.36 ms of CPU with the read, ~0.11 ms from memory,
 * measured here). Peer records (keys under /peers/) are cached in memory,
 * bounded, and written through: the disk stays the truth, a restart reads
 * it again, and nothing else (DHT records, providers) is cached.
 *
 * A read that misses is cached only if no peer record was written while it
 * was read, so a read that raced a write cannot leave the old record in
 * the cache.
 *
 * libp2p 3.3's peer store also stamps the record's `updated` (field 8) and
 * writes it on every merge, changed or not: a LevelDB write per inbound
 * stream. A write that differs from the record held only in that stamp,
 * and less than {@link PEER_STAMP_REFRESH_MS} after it, is skipped: the
 * stamp only ages addresses out (after an hour) and peers (after six), so
 * it is at most five minutes old, and the cache still equals the disk.
 */
import { LevelDatastore } from 'datastore-level'
import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Key } from 'interface-datastore'

/** Peer records cached at once (a few hundred bytes each). */
export const PEER_RECORD_CACHE_SIZE = 20_000
/**
 * Bytes of peer records cached at once. A record is a few hundred bytes, but
 * a peer chooses its own: identify alone accepts 8 KiB of addresses,
 * protocols and agent per message, so 20,000 fresh peer ids could make the
 * cache 160 MiB or more; past this budget the least recently read go first.
 */
export const PEER_RECORD_CACHE_BYTES = 16 * 1024 * 1024
/** A record larger than this is not cached (read from LevelDB each time): one peer cannot fill the budget alone. */
export const PEER_RECORD_MAX_CACHED = 16 * 1024

const PEERS = '/peers/'
/** How old a peer record's `updated` stamp may get before a write that only refreshes it is made. */
export const PEER_STAMP_REFRESH_MS = 5 * 60_000
/** The field number of `updated` in libp2p's Peer protobuf (@libp2p/peer-store, pb/peer.proto). */
const UPDATED_FIELD = 8

/** A protobuf message's `updated` field and every other byte, or undefined if it does not parse. */
function splitStamp (bytes: Uint8Array): { rest: number[], updated: number } | undefined {
  const rest: number[] = []
  let updated: number | undefined
  let i = 0
  const varint = (): number | undefined => {
    let value = 0
    let scale = 1
    for (let n = 0; n < 10 && i < bytes.length; n++) {
      const b = bytes[i++]
      value += (b & 0x7f) * scale
      if ((b & 0x80) === 0) return value
      scale *= 128
    }
    return undefined
  }
  while (i < bytes.length) {
    const start = i
    const tag = varint()
    if (tag === undefined) return undefined
    const field = Math.floor(tag / 8)
    const type = tag % 8
    if (type === 0) {
      const value = varint()
      if (value === undefined) return undefined
      if (field === UPDATED_FIELD) {
        updated = value
        continue
      }
    } else if (type === 2) {
      const length = varint()
      if (length === undefined || i + length > bytes.length) return undefined
      i += length
    } else if (type === 1 || type === 5) {
      i += type === 1 ? 8 : 4
      if (i > bytes.length) return undefined
    } else {
      return undefined
    }
    for (let j = start; j < i; j++) rest.push(bytes[j])
  }
  return updated === undefined ? undefined : { rest, updated }
}

/** Whether `next` differs from `held` only by an `updated` stamp less than the refresh interval later. */
export function onlyFreshStamp (held: Uint8Array, next: Uint8Array): boolean {
  const a = splitStamp(held)
  const b = splitStamp(next)
  if (a === undefined || b === undefined || a.rest.length !== b.rest.length) return false
  if (b.updated < a.updated || b.updated - a.updated >= PEER_STAMP_REFRESH_MS) return false
  return a.rest.every((byte, j) => byte === b.rest[j])
}

/** LevelDB datastore with a bounded, written-through cache of peer records (see the file comment). */
export class RelayDatastore extends LevelDatastore {
  private readonly cache = new Map<string, Uint8Array>()
  /** Bytes of the records in `cache`. */
  private bytes = 0
  /** Peer-record writes begun: a read that saw it change does not cache what it read. */
  private writes = 0
  /** Reads and writes that reached LevelDB for a peer record (tests). */
  peerReads = 0
  peerWrites = 0

  constructor (path: string, private readonly cacheSize = PEER_RECORD_CACHE_SIZE, private readonly cacheBytes = PEER_RECORD_CACHE_BYTES) {
    super(path)
  }

  /** Bytes of peer records held in memory (metrics, tests). */
  get cachedBytes (): number {
    return this.bytes
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const name = key.toString()
    if (!name.startsWith(PEERS)) return await super.get(key, options)
    const cached = this.cache.get(name)
    if (cached !== undefined) {
      this.keep(name, cached)
      return new Uint8Array(cached)
    }
    const writes = this.writes
    this.peerReads++
    const value = await super.get(key, options)
    // The cache keeps its own copy (LevelDB hands a Buffer, whose slice() is a view, not a copy):
    // a caller changing what it read must not change what is kept.
    if (writes === this.writes) this.keep(name, new Uint8Array(value))
    return value
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    if (this.cache.has(key.toString())) return true
    return await super.has(key, options)
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    const name = key.toString()
    if (!name.startsWith(PEERS)) return await super.put(key, value, options)
    const held = this.cache.get(name)
    if (held !== undefined && onlyFreshStamp(held, value)) return key
    this.peerWrites++
    this.writes++
    this.drop(name)
    try {
      const out = await super.put(key, value, options)
      this.writes++
      this.keep(name, new Uint8Array(value))
      return out
    } catch (err) {
      this.writes++
      this.drop(name)
      throw err
    }
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    const name = key.toString()
    if (name.startsWith(PEERS)) {
      this.writes++
      this.drop(name)
    }
    try {
      await super.delete(key, options)
    } finally {
      if (name.startsWith(PEERS)) {
        this.writes++
        this.drop(name)
      }
    }
  }

  override batch (): Batch {
    const inner = super.batch()
    const touched: string[] = []
    const forget = (): void => {
      this.writes++
      for (const name of touched) this.drop(name)
    }
    return {
      put: (key, value) => {
        if (key.toString().startsWith(PEERS)) touched.push(key.toString())
        inner.put(key, value)
      },
      delete: (key) => {
        if (key.toString().startsWith(PEERS)) touched.push(key.toString())
        inner.delete(key)
      },
      commit: async (options) => {
        forget()
        try {
          await inner.commit(options)
        } finally {
          forget()
        }
      }
    }
  }

  /** Caches a record as the disk holds it, within the bounds (the least recently read goes first). */
  private keep (name: string, value: Uint8Array): void {
    this.drop(name)
    if (value.length > PEER_RECORD_MAX_CACHED || value.length > this.cacheBytes) return
    this.cache.set(name, value)
    this.bytes += value.length
    while (this.cache.size > this.cacheSize || this.bytes > this.cacheBytes) {
      const oldest = this.cache.keys().next()
      if (oldest.done === true) break
      this.drop(oldest.value)
    }
  }

  /** Forgets a cached record. */
  private drop (name: string): void {
    const held = this.cache.get(name)
    if (held === undefined) return
    this.bytes -= held.length
    this.cache.delete(name)
  }
}
