/**
 * What a ratchet message carries: either a message with the sender's handle
 * name, so that a first message from a stranger can be shown as `name~tag`
 * (the tag comes from the account key in the envelope, so it cannot be
 * forged; the name is whatever that account calls itself), or one encrypted
 * attachment chunk.
 *
 * Formats: 0x01 || u8 name length || name (ASCII) || message bytes
 *          0x03 || u32 length || chunk payload (src/messenger/attachments/relay.ts) || zeros
 *          0x02 || chunk payload (sent before issue 9; still read)
 *          0x04 || u16 record length || the sender's signed device record || one of the above
 *
 * A chunk payload is padded to the length of a whole chunk of CHUNK_SIZE
 * (issue 9, item 8): every chunk envelope of our attachments then has the
 * same length, so the last one no longer tells relays and gossip observers
 * the file's exact size (what remains visible is the number of chunks: the
 * size to within 64 KiB). The padding costs at most one chunk per file.
 *
 * The 0x04 form is what a session's first messages carry (while they are
 * PQXDH initial messages): the sender's device record, signed by its account
 * and its device key, proves to a recipient that has not pinned this device
 * yet that the account vouches for the device (peer id) and its identity key
 * (DESIGN.md, Identity: a device joins a contact only through a verified
 * device record of that account).
 */
import { InvalidMessageError } from './model/index.js'
import { CHUNK_SIZE, chunkPayloadLength } from './attachments/index.js'

const VERSION = 0x01
const CHUNK_UNPADDED = 0x02
const CHUNK = 0x03
/** Every chunk payload is padded to at least this many bytes. */
export const PADDED_CHUNK_PAYLOAD_BYTES = chunkPayloadLength(CHUNK_SIZE)
const WITH_DEVICE_RECORD = 0x04
/** Largest device record a payload may carry (a record is about 1.7 KB). */
export const MAX_PAYLOAD_DEVICE_RECORD = 4096
const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** Encodes a payload. */
export function encodePayload (name: string, message: Uint8Array): Uint8Array {
  const n = encoder.encode(name)
  if (n.length > 255) throw new RangeError('handle name too long')
  const out = new Uint8Array(2 + n.length + message.length)
  out[0] = VERSION
  out[1] = n.length
  out.set(n, 2)
  out.set(message, 2 + n.length)
  return out
}

/** Wraps an attachment chunk payload, padded to at least PADDED_CHUNK_PAYLOAD_BYTES. */
export function encodeChunkPayloadEnvelope (chunk: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + Math.max(chunk.length, PADDED_CHUNK_PAYLOAD_BYTES))
  out[0] = CHUNK
  new DataView(out.buffer).setUint32(1, chunk.length)
  out.set(chunk, 5)
  return out
}

/**
 * Whether a payload is an attachment chunk. Chunks never carry the device
 * record: every chunk envelope keeps one length, and a chunk is accepted
 * only from a device the contact already pinned (it follows a message).
 */
export function isChunkPayload (payload: Uint8Array): boolean {
  return payload.length > 0 && (payload[0] === CHUNK || payload[0] === CHUNK_UNPADDED)
}

/** Prefixes a payload with the sender's signed device record (see the formats above). */
export function withDeviceRecord (payload: Uint8Array, record: Uint8Array): Uint8Array {
  if (record.length > MAX_PAYLOAD_DEVICE_RECORD) throw new RangeError('device record too long')
  const out = new Uint8Array(3 + record.length + payload.length)
  out[0] = WITH_DEVICE_RECORD
  new DataView(out.buffer).setUint16(1, record.length)
  out.set(record, 3)
  out.set(payload, 3 + record.length)
  return out
}

/** What a payload holds; `deviceRecord` is the sender's device record when it came with one (not yet verified). */
export type Payload =
  | { type: 'message', name: string, message: Uint8Array, deviceRecord?: Uint8Array }
  | { type: 'chunk', chunk: Uint8Array, deviceRecord?: Uint8Array }

/** Decodes a payload; throws InvalidMessageError on anything malformed. */
export function decodePayload (bytes: Uint8Array): Payload {
  if (bytes.length > 0 && bytes[0] === WITH_DEVICE_RECORD) {
    if (bytes.length < 3) throw new InvalidMessageError('malformed', 'malformed payload')
    const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint16(1)
    if (length === 0 || length > MAX_PAYLOAD_DEVICE_RECORD || bytes.length < 3 + length) throw new InvalidMessageError('malformed', 'malformed device record in payload')
    const rest = bytes.subarray(3 + length)
    if (rest.length > 0 && rest[0] === WITH_DEVICE_RECORD) throw new InvalidMessageError('malformed', 'payload carries two device records')
    return { ...decodePayload(rest), deviceRecord: bytes.subarray(3, 3 + length) }
  }
  if (bytes.length > 1 && bytes[0] === CHUNK_UNPADDED) return { type: 'chunk', chunk: bytes.subarray(1) }
  if (bytes.length > 0 && bytes[0] === CHUNK) {
    if (bytes.length < 5) throw new InvalidMessageError('malformed', 'chunk payload too short')
    const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1)
    if (length > bytes.length - 5) throw new InvalidMessageError('malformed', `chunk payload of ${length} bytes in ${bytes.length - 5}`)
    return { type: 'chunk', chunk: bytes.subarray(5, 5 + length) }
  }
  if (bytes.length < 2 || bytes[0] !== VERSION || bytes.length < 2 + bytes[1]) {
    throw new InvalidMessageError('malformed', 'malformed payload')
  }
  let name: string
  try {
    name = decoder.decode(bytes.subarray(2, 2 + bytes[1]))
  } catch {
    throw new InvalidMessageError('malformed', 'payload name is not UTF-8')
  }
  return { type: 'message', name, message: bytes.subarray(2 + bytes[1]) }
}
