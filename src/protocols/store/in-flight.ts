/**
 * Slots for requests in flight, per source (an address: src/net/source.ts).
 * A store stream answers several requests at once (pipelining), so a
 * source with many streams could have many puts, signatures and pages
 * under way at once; each request takes a slot of its source before it
 * is answered and gives it back once its answer is written. A stream whose
 * source has no free slot stops reading until one is given back (the
 * sender's frames wait in its stream, bounded by the stream's read buffer).
 * Memory follows the sources with work under way, not those ever seen.
 */

interface Waiter {
  count: number
  resolve(): void
  reject(err: Error): void
}

interface Slots {
  used: number
  /** First come, first served: a batch waiting for several slots is not overtaken by single requests behind it. */
  waiting: Waiter[]
}

/** Per-source counting semaphores. */
export class SourceSlots {
  private readonly max: number
  private readonly sources = new Map<string, Slots>()

  /** @param max requests in flight per source (at least 1) */
  constructor (max: number) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`requests in flight per source must be a positive integer, got ${max}`)
    this.max = max
  }

  /** Most slots one source may hold. */
  get limit (): number {
    return this.max
  }

  /**
   * Resolves once `source` has `count` free slots, and takes them all at
   * once (a batch of puts counts each; taking them one by one could leave
   * several streams of one source each holding part of what it needs, and
   * none answered); rejects (nothing taken) if {@link cancelWaiting} comes
   * first.
   *
   * @throws {RangeError} for a count that could never be served
   */
  async take (source: string, count = 1): Promise<void> {
    if (!Number.isSafeInteger(count) || count < 1 || count > this.max) throw new RangeError(`slots wanted must be 1 to ${this.max}, got ${count}`)
    let slots = this.sources.get(source)
    if (slots === undefined) {
      slots = { used: 0, waiting: [] }
      this.sources.set(source, slots)
    }
    if (slots.waiting.length === 0 && slots.used + count <= this.max) {
      slots.used += count
      return
    }
    const own = slots
    await new Promise<void>((resolve, reject) => {
      own.waiting.push({ count, resolve, reject })
    })
  }

  /** Every request waiting for a slot gives up with `reason` (a server that stops). */
  cancelWaiting (reason: Error): void {
    for (const [source, slots] of this.sources) {
      for (const waiter of slots.waiting.splice(0)) waiter.reject(reason)
      this.forgetIfIdle(source, slots)
    }
  }

  /** Gives `count` slots of `source` back: to the waiters next in line, as far as they go. */
  give (source: string, count = 1): void {
    const slots = this.sources.get(source)
    if (slots === undefined) return
    slots.used = Math.max(0, slots.used - count)
    while (slots.waiting.length > 0 && slots.used + slots.waiting[0].count <= this.max) {
      const next = slots.waiting.shift() as Waiter
      slots.used += next.count
      next.resolve()
    }
    this.forgetIfIdle(source, slots)
  }

  /** Requests in flight for `source`. */
  used (source: string): number {
    return this.sources.get(source)?.used ?? 0
  }

  /** Sources with requests in flight or waiting. */
  get size (): number {
    return this.sources.size
  }

  private forgetIfIdle (source: string, slots: Slots): void {
    if (slots.used === 0 && slots.waiting.length === 0 && this.sources.get(source) === slots) this.sources.delete(source)
  }
}
