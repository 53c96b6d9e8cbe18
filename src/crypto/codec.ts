/**
 * A minimal binary writer/reader for the crypto layer's own formats (prekey
 * state, session state, wire messages). Big-endian integers; every read is
 * bounds-checked and fails with InvalidMessageError, never a RangeError from
 * deep inside a DataView.
 */
import { InvalidMessageError } from './errors.js'

/** Appends fields to a growing buffer. */
export class Writer {
  private buf: Uint8Array
  private view: DataView
  private pos = 0

  constructor (initialSize = 256) {
    this.buf = new Uint8Array(initialSize)
    this.view = new DataView(this.buf.buffer)
  }

  private reserve (n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
    this.view = new DataView(next.buffer)
  }

  u8 (v: number): this {
    this.reserve(1)
    this.buf[this.pos++] = v
    return this
  }

  u32 (v: number): this {
    this.reserve(4)
    this.view.setUint32(this.pos, v, false)
    this.pos += 4
    return this
  }

  /** A millisecond timestamp (or any integer below 2^53), as a float64. */
  time (v: number): this {
    this.reserve(8)
    this.view.setFloat64(this.pos, v, false)
    this.pos += 8
    return this
  }

  /** Raw bytes; the reader must know the length. */
  bytes (v: Uint8Array): this {
    this.reserve(v.length)
    this.buf.set(v, this.pos)
    this.pos += v.length
    return this
  }

  /** Bytes preceded by a u32 length. */
  varBytes (v: Uint8Array): this {
    return this.u32(v.length).bytes(v)
  }

  /** A u8 presence flag, then the bytes (fixed length) when present. */
  optional (v: Uint8Array | undefined): this {
    if (v == null) return this.u8(0)
    return this.u8(1).bytes(v)
  }

  finish (): Uint8Array {
    return this.buf.slice(0, this.pos)
  }
}

/** Reads fields in the order a {@link Writer} wrote them. */
export class Reader {
  private readonly view: DataView
  private pos = 0

  constructor (private readonly buf: Uint8Array, private readonly what = 'message') {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }

  private need (n: number): void {
    if (this.pos + n > this.buf.length) throw new InvalidMessageError(`${this.what} is truncated`)
  }

  get remaining (): number {
    return this.buf.length - this.pos
  }

  u8 (): number {
    this.need(1)
    return this.buf[this.pos++]
  }

  u32 (): number {
    this.need(4)
    const v = this.view.getUint32(this.pos, false)
    this.pos += 4
    return v
  }

  time (): number {
    this.need(8)
    const v = this.view.getFloat64(this.pos, false)
    this.pos += 8
    if (!Number.isSafeInteger(v)) throw new InvalidMessageError(`${this.what} has an invalid timestamp`)
    return v
  }

  /** `n` bytes, copied (the result does not alias the input). */
  bytes (n: number): Uint8Array {
    this.need(n)
    const v = this.buf.slice(this.pos, this.pos + n)
    this.pos += n
    return v
  }

  /** Length-prefixed bytes, at most `max` long. */
  varBytes (max: number): Uint8Array {
    const n = this.u32()
    if (n > max) throw new InvalidMessageError(`${this.what} has a field of ${n} bytes (limit ${max})`)
    return this.bytes(n)
  }

  optional (n: number): Uint8Array | undefined {
    const flag = this.u8()
    if (flag === 0) return undefined
    if (flag !== 1) throw new InvalidMessageError(`${this.what} has an invalid presence flag`)
    return this.bytes(n)
  }

  /** Everything left. */
  rest (): Uint8Array {
    return this.bytes(this.remaining)
  }

  /** Throws unless every byte was read. */
  end (): void {
    if (this.pos !== this.buf.length) throw new InvalidMessageError(`${this.what} has ${this.remaining} trailing bytes`)
  }
}
