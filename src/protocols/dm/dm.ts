/**
 * Wire format of /starling/dm/1.0.0. Both directions carry frames: an
 * unsigned varint length (protobuf/multiformats style, at most as many
 * bytes as the largest allowed length needs) followed by that many bytes of
 * one protobuf message (pb/dm.proto). The dialer sends `Deliver` frames, the
 * listener `Ack` frames. Lengths are checked before a frame body is
 * buffered, so a peer cannot make the other side hold more than one maximal
 * frame per stream.
 */
import { Uint8ArrayList } from 'uint8arraylist'
import { ENVELOPE_ID_LENGTH } from '../../crypto/envelope.js'
import { toHex } from '../../crypto/bytes.js'
import { MAX_ACK_IDS } from './constants.js'
import { DmProtocolError } from './errors.js'
import { Ack, Deliver } from './pb/dm.js'

/** Bytes of the unsigned varint encoding of `value`. */
export function varintLength (value: number): number {
  let n = 1
  while (value >= 0x80) {
    value = Math.floor(value / 0x80)
    n++
  }
  return n
}

function encodeVarint (value: number): Uint8Array {
  const out = new Uint8Array(varintLength(value))
  for (let i = 0; i < out.length; i++) {
    out[i] = (value % 0x80) | (i < out.length - 1 ? 0x80 : 0)
    value = Math.floor(value / 0x80)
  }
  return out
}

/** `body` behind its varint length, ready for `stream.send`. */
export function encodeFrame (body: Uint8Array): Uint8ArrayList {
  return new Uint8ArrayList(encodeVarint(body.byteLength), body)
}

/**
 * Splits a byte stream into frames. Throws DmProtocolError for a length
 * above `maxFrameLength` or a length prefix longer than such a length needs.
 */
export class FrameDecoder {
  private readonly buffer = new Uint8ArrayList()
  private readonly maxFrameLength: number
  private readonly maxPrefixLength: number

  constructor (maxFrameLength: number) {
    this.maxFrameLength = maxFrameLength
    this.maxPrefixLength = varintLength(maxFrameLength)
  }

  /** Bytes received that do not yet form a whole frame. */
  get buffered (): number {
    return this.buffer.byteLength
  }

  /** Appends `chunk` and yields every frame now complete. */
  * decode (chunk: Uint8Array | Uint8ArrayList): Generator<Uint8ArrayList> {
    this.buffer.append(chunk)
    while (true) {
      const prefix = this.readPrefix()
      if (prefix == null) return
      const end = prefix.bytes + prefix.length
      if (this.buffer.byteLength < end) return
      const frame = this.buffer.sublist(prefix.bytes, end)
      this.buffer.consume(end)
      yield frame
    }
  }

  private readPrefix (): { length: number, bytes: number } | undefined {
    let length = 0
    let scale = 1
    const available = Math.min(this.buffer.byteLength, this.maxPrefixLength)
    for (let i = 0; i < available; i++) {
      const byte = this.buffer.get(i)
      length += (byte & 0x7f) * scale
      scale *= 0x80
      if (length > this.maxFrameLength) throw new DmProtocolError(`frame longer than ${this.maxFrameLength} bytes`)
      if ((byte & 0x80) === 0) return { length, bytes: i + 1 }
    }
    if (this.buffer.byteLength >= this.maxPrefixLength) throw new DmProtocolError('frame length prefix too long')
    return undefined
  }
}

/** A Deliver frame carrying `envelope`. */
export function encodeDeliver (envelope: Uint8Array): Uint8ArrayList {
  return encodeFrame(Deliver.encode({ envelope: envelope as Uint8Array<ArrayBuffer> }))
}

/** The envelope of a Deliver frame body (not yet checked as an envelope). */
export function decodeDeliver (body: Uint8ArrayList): Uint8Array {
  try {
    return Deliver.decode(body).envelope
  } catch (err) {
    throw new DmProtocolError('malformed Deliver frame', { cause: err })
  }
}

/** An Ack frame for `ids` (at most MAX_ACK_IDS). */
export function encodeAck (ids: Uint8Array[]): Uint8ArrayList {
  return encodeFrame(Ack.encode({ ids: ids as Array<Uint8Array<ArrayBuffer>> }))
}

/** The envelope ids of an Ack frame body; DmProtocolError unless each is 16 bytes. */
export function decodeAck (body: Uint8ArrayList): Uint8Array[] {
  let ids: Uint8Array[]
  try {
    ids = Ack.decode(body, { limits: { ids: MAX_ACK_IDS } }).ids
  } catch (err) {
    throw new DmProtocolError('malformed Ack frame', { cause: err })
  }
  for (const id of ids) {
    if (id.byteLength !== ENVELOPE_ID_LENGTH) throw new DmProtocolError(`acknowledged id of ${id.byteLength} bytes`)
  }
  return ids
}

/** Map key of an envelope id. */
export function idKey (id: Uint8Array): string {
  return toHex(id)
}

/** A promise with its settle functions (Promise.withResolvers is ES2024). */
export function deferred<T> (): { promise: Promise<T>, resolve: (value: T) => void, reject: (err: Error) => void } {
  let resolve!: (value: T) => void
  let reject!: (err: Error) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
