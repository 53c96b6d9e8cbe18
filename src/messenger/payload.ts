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
 *
 * A chunk payload is padded to the length of a whole chunk of CHUNK_SIZE
 * (issue 9, item 8): every chunk envelope of our attachments then has the
 * same length, so the last one no longer tells relays and gossip observers
 * the file's exact size (what remains visible is the number of chunks: the
 * size to within 64 KiB). The padding costs at most one chunk per file.
 */
import { InvalidMessageError } from './model/index.js'
import { CHUNK_SIZE, chunkPayloadLength } from './attachments/index.js'

const VERSION = 0x01
const CHUNK_UNPADDED = 0x02
const CHUNK = 0x03
/** Every chunk payload is padded to at least this many bytes. */
export const PADDED_CHUNK_PAYLOAD_BYTES = chunkPayloadLength(CHUNK_SIZE)
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

/** What a payload holds. */
export type Payload =
  | { type: 'message', name: string, message: Uint8Array }
  | { type: 'chunk', chunk: Uint8Array }

/** Decodes a payload; throws InvalidMessageError on anything malformed. */
export function decodePayload (bytes: Uint8Array): Payload {
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
