/**
 * Runs tasks one at a time per key (different keys run concurrently); a
 * key's entry is dropped once its last task settles, so memory follows the
 * number of keys in use, not the number ever seen.
 */
export class KeyedLock {
  private readonly tails = new Map<string, Promise<void>>()

  /** Runs `task` after every earlier task with the same key has settled. */
  async run<T> (key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve()
    let release = (): void => {}
    const tail = new Promise<void>(resolve => { release = resolve })
    const chained = previous.then(async () => await tail)
    this.tails.set(key, chained)
    try {
      await previous
      return await task()
    } finally {
      release()
      if (this.tails.get(key) === chained) this.tails.delete(key)
    }
  }

  /** True while a task with this key runs or waits. */
  isHeld (key: string): boolean {
    return this.tails.has(key)
  }
}
