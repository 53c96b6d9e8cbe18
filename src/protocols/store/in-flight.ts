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

interface Slots {
  used: number
  waiting: Array<{ resolve(): void, reject(err: Error): void }>
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

  /** Resolves once `source` has a free slot, and takes it; rejects (nothing taken) if {@link cancelWaiting} comes first. */
  async take (source: string): Promise<void> {
    let slots = this.sources.get(source)
    if (slots === undefined) {
      slots = { used: 0, waiting: [] }
      this.sources.set(source, slots)
    }
    if (slots.used < this.max) {
      slots.used++
      return
    }
    const own = slots
    await new Promise<void>((resolve, reject) => {
      own.waiting.push({ resolve, reject })
    })
  }

  /** Every request waiting for a slot gives up with `reason` (a server that stops). */
  cancelWaiting (reason: Error): void {
    for (const [source, slots] of this.sources) {
      for (const waiter of slots.waiting.splice(0)) waiter.reject(reason)
      this.forgetIfIdle(source, slots)
    }
  }

  /** Gives a slot of `source` back: to the next waiter, if any. */
  give (source: string): void {
    const slots = this.sources.get(source)
    if (slots === undefined) return
    const next = slots.waiting.shift()
    // The slot passes straight to the waiter: `used` stays as it is.
    if (next !== undefined) {
      next.resolve()
      return
    }
    slots.used--
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
