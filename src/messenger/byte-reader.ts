/**
 * Exact-length reads from a stream of byte pieces (a file read in blocks,
 * a browser File's stream): what a streamed format needs to take one
 * length-prefixed frame at a time without holding the whole input.
 */

/** Reads `n` bytes at a time from pieces of any size. */
export class ByteReader {
  private readonly pieces: AsyncIterator<Uint8Array>
  private buffered: Uint8Array[] = []
  private bufferedBytes = 0
  private done = false

  constructor (source: AsyncIterable<Uint8Array>) {
    this.pieces = source[Symbol.asyncIterator]()
  }

  /** Reads until `n` bytes are buffered or the source ends; false when it ended first. */
  private async fill (n: number): Promise<boolean> {
    while (this.bufferedBytes < n && !this.done) {
      const next = await this.pieces.next()
      if (next.done === true) {
        this.done = true
        break
      }
      if (next.value.length === 0) continue
      this.buffered.push(next.value)
      this.bufferedBytes += next.value.length
    }
    return this.bufferedBytes >= n
  }

  /** Exactly `n` bytes, or undefined when the source ends before. */
  async read (n: number): Promise<Uint8Array | undefined> {
    if (!(await this.fill(n))) return undefined
    const out = new Uint8Array(n)
    let at = 0
    while (at < n) {
      const head = this.buffered[0]
      const take = Math.min(head.length, n - at)
      out.set(head.subarray(0, take), at)
      at += take
      if (take === head.length) this.buffered.shift()
      else this.buffered[0] = head.subarray(take)
    }
    this.bufferedBytes -= n
    return out
  }

  /** Whether nothing is left. */
  async atEnd (): Promise<boolean> {
    return !(await this.fill(1))
  }

  /** Everything left, up to `max` bytes (undefined beyond). */
  async rest (max: number): Promise<Uint8Array | undefined> {
    while (!this.done && this.bufferedBytes <= max) await this.fill(this.bufferedBytes + 1)
    if (this.bufferedBytes > max) return undefined
    return await this.read(this.bufferedBytes)
  }
}

/** A source of one piece. */
export async function * oneChunk (bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}
