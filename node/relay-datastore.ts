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
 */
import { LevelDatastore } from 'datastore-level'
import type { AbortOptions } from '@libp2p/interface'
import type { Batch, Key } from 'interface-datastore'

/** Peer records cached at once (a few hundred bytes each). */
export const PEER_RECORD_CACHE_SIZE = 20_000

const PEERS = '/peers/'

/** LevelDB datastore with a bounded, written-through cache of peer records (see the file comment). */
export class RelayDatastore extends LevelDatastore {
  private readonly cache = new Map<string, Uint8Array>()
  /** Peer-record writes begun: a read that saw it change does not cache what it read. */
  private writes = 0
  /** Reads that reached LevelDB for a peer record (tests). */
  peerReads = 0

  constructor (path: string, private readonly cacheSize = PEER_RECORD_CACHE_SIZE) {
    super(path)
  }

  override async get (key: Key, options?: AbortOptions): Promise<Uint8Array> {
    const name = key.toString()
    if (!name.startsWith(PEERS)) return await super.get(key, options)
    const cached = this.cache.get(name)
    if (cached !== undefined) {
      this.keep(name, cached)
      return cached.slice()
    }
    const writes = this.writes
    this.peerReads++
    const value = await super.get(key, options)
    if (writes === this.writes) this.keep(name, value)
    return value
  }

  override async has (key: Key, options?: AbortOptions): Promise<boolean> {
    if (this.cache.has(key.toString())) return true
    return await super.has(key, options)
  }

  override async put (key: Key, value: Uint8Array, options?: AbortOptions): Promise<Key> {
    const name = key.toString()
    if (!name.startsWith(PEERS)) return await super.put(key, value, options)
    this.writes++
    this.cache.delete(name)
    try {
      const out = await super.put(key, value, options)
      this.writes++
      this.keep(name, value.slice())
      return out
    } catch (err) {
      this.writes++
      this.cache.delete(name)
      throw err
    }
  }

  override async delete (key: Key, options?: AbortOptions): Promise<void> {
    const name = key.toString()
    if (name.startsWith(PEERS)) {
      this.writes++
      this.cache.delete(name)
    }
    try {
      await super.delete(key, options)
    } finally {
      if (name.startsWith(PEERS)) {
        this.writes++
        this.cache.delete(name)
      }
    }
  }

  override batch (): Batch {
    const inner = super.batch()
    const touched: string[] = []
    const forget = (): void => {
      this.writes++
      for (const name of touched) this.cache.delete(name)
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

  /** Caches a record as the disk holds it, within the bound (the least recently read goes first). */
  private keep (name: string, value: Uint8Array): void {
    this.cache.delete(name)
    this.cache.set(name, value)
    if (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next()
      if (oldest.done !== true) this.cache.delete(oldest.value)
    }
  }
}
