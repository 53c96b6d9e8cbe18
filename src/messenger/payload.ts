/**
 * What a ratchet message carries: either a message with the sender's handle
 * name, so that a first message from a stranger can be shown as `name~tag`
 * (the tag comes from the account key in the envelope, so it cannot be
 * forged; the name is whatever that account calls itself), or one encrypted
 * attachment chunk.
 *
 * Formats: 0x01 || u8 name length || name (ASCII) || message bytes
 *          0x02 || chunk payload (src/messenger/attachments/relay.ts)
 */
import { InvalidMessageError } from './model/index.js'

const VERSION = 0x01
const CHUNK = 0x02
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

/** Wraps an attachment chunk payload. */
export function encodeChunkPayloadEnvelope (chunk: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + chunk.length)
  out[0] = CHUNK
  out.set(chunk, 1)
  return out
}

/** What a payload holds. */
export type Payload =
  | { type: 'message', name: string, message: Uint8Array }
  | { type: 'chunk', chunk: Uint8Array }

/** Decodes a payload; throws InvalidMessageError on anything malformed. */
export function decodePayload (bytes: Uint8Array): Payload {
  if (bytes.length > 1 && bytes[0] === CHUNK) return { type: 'chunk', chunk: bytes.subarray(1) }
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
