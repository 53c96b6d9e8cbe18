/**
 * Values computed from store reads, kept until a write touches what they
 * were read from (the owner tells {@link ReadCache.drop} from a watched
 * store, src/store/watched-store.ts, before and after each write). A read
 * that overlapped any dropping write keeps nothing, so that a value read
 * half before a write never outlives it. Bounded: the least recently used
 * entry goes first.
 */
export class ReadCache<V> {
  private readonly entries = new Map<string, V>()
  /** Drops so far: a load that saw this change keeps nothing. */
  private drops = 0

  constructor (private readonly max: number) {}

  /** The kept value of `key`, else what `load` reads (kept if no drop happened meanwhile). */
  async get (key: string, load: () => Promise<V>): Promise<V> {
    const kept = this.entries.get(key)
    if (kept !== undefined) {
      this.entries.delete(key)
      this.entries.set(key, kept)
      return kept
    }
    const drops = this.drops
    const value = await load()
    if (this.drops === drops) {
      this.entries.set(key, value)
      if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string)
    }
    return value
  }

  /** Forgets `key` (every key when none is given). */
  drop (key?: string): void {
    this.drops++
    if (key == null) this.entries.clear()
    else this.entries.delete(key)
  }

  get size (): number {
    return this.entries.size
  }
}
