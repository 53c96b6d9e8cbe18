/**
 * Type checks by magic bytes: an attachment sent as an image, GIF or audio
 * must start like one of a few known formats, and its MIME type must name
 * that format. Files of kind `file` are not sniffed. A small table, no
 * dependency; signatures from the WHATWG MIME Sniffing standard
 * (https://mimesniff.spec.whatwg.org/#matching-an-image-type-pattern and
 * #matching-an-audio-or-video-type-pattern).
 */
import type { AttachmentKind } from '../model/types.js'
import { AttachmentTypeError } from './errors.js'

/** A format recognised by its first bytes. */
export interface SniffedFormat {
  name: string
  /** Kinds an attachment of this format may be sent as (besides `file`). */
  kinds: readonly AttachmentKind[]
  /** MIME types that name this format; the first is canonical. */
  mimeTypes: readonly string[]
}

const ascii = (s: string): number[] => [...s].map(c => c.charCodeAt(0))

function startsWith (head: Uint8Array, offset: number, bytes: readonly number[]): boolean {
  if (head.length < offset + bytes.length) return false
  return bytes.every((b, i) => head[offset + i] === b)
}

interface Signature extends SniffedFormat {
  test(head: Uint8Array): boolean
}

const M4A_BRANDS = ['M4A ', 'M4B ', 'mp41', 'mp42', 'isom', 'iso2', 'dash'].map(ascii)

const SIGNATURES: readonly Signature[] = [
  { name: 'PNG', kinds: ['image'], mimeTypes: ['image/png', 'image/apng'], test: h => startsWith(h, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) },
  { name: 'JPEG', kinds: ['image'], mimeTypes: ['image/jpeg', 'image/jpg', 'image/pjpeg'], test: h => startsWith(h, 0, [0xff, 0xd8, 0xff]) },
  { name: 'GIF', kinds: ['gif', 'image'], mimeTypes: ['image/gif'], test: h => startsWith(h, 0, ascii('GIF87a')) || startsWith(h, 0, ascii('GIF89a')) },
  { name: 'WebP', kinds: ['image'], mimeTypes: ['image/webp'], test: h => startsWith(h, 0, ascii('RIFF')) && startsWith(h, 8, ascii('WEBPVP')) },
  { name: 'WAV', kinds: ['audio'], mimeTypes: ['audio/wav', 'audio/x-wav', 'audio/wave', 'audio/vnd.wave'], test: h => startsWith(h, 0, ascii('RIFF')) && startsWith(h, 8, ascii('WAVE')) },
  { name: 'Ogg', kinds: ['audio'], mimeTypes: ['audio/ogg', 'audio/opus', 'application/ogg'], test: h => startsWith(h, 0, ascii('OggS\u0000')) },
  { name: 'MP3', kinds: ['audio'], mimeTypes: ['audio/mpeg', 'audio/mp3'], test: h => startsWith(h, 0, ascii('ID3')) || isMp3Frame(h) },
  { name: 'AAC', kinds: ['audio'], mimeTypes: ['audio/aac', 'audio/aacp', 'audio/x-aac'], test: isAdtsFrame },
  // What MediaRecorder writes in Chromium (voice notes recorded in the web app): Opus in WebM.
  { name: 'WebM', kinds: ['audio'], mimeTypes: ['audio/webm'], test: isWebm },
  { name: 'M4A', kinds: ['audio'], mimeTypes: ['audio/mp4', 'audio/m4a', 'audio/x-m4a', 'audio/aac'], test: h => startsWith(h, 4, ascii('ftyp')) && M4A_BRANDS.some(b => startsWith(h, 8, b)) }
]

/** MPEG-1/2 audio layer III frame header: 11 sync bits, a valid version, layer III, a valid bitrate and sample rate. */
function isMp3Frame (h: Uint8Array): boolean {
  if (h.length < 3 || h[0] !== 0xff || (h[1] & 0xe0) !== 0xe0) return false
  const version = (h[1] >> 3) & 0x03
  const layer = (h[1] >> 1) & 0x03
  const bitrate = h[2] >> 4
  const sampleRate = (h[2] >> 2) & 0x03
  return version !== 0x01 && layer === 0x01 && bitrate !== 0x0f && bitrate !== 0 && sampleRate !== 0x03
}

/**
 * WebM: an EBML header whose DocType element (0x4282, one-byte size) says
 * "webm" within its first bytes (WHATWG MIME Sniffing, "matches the
 * signature for WebM").
 */
function isWebm (h: Uint8Array): boolean {
  if (!startsWith(h, 0, [0x1a, 0x45, 0xdf, 0xa3])) return false
  for (let i = 4; i < Math.min(h.length, 38); i++) {
    if (h[i] === 0x42 && h[i + 1] === 0x82 && h[i + 2] === 0x84) return startsWith(h, i + 3, ascii('webm'))
  }
  return false
}

/** ADTS (raw AAC) header: 12 sync bits, layer 00. */
function isAdtsFrame (h: Uint8Array): boolean {
  return h.length >= 2 && h[0] === 0xff && (h[1] & 0xf6) === 0xf0
}

/** The format the bytes start with, if it is one of the table's. */
export function sniffFormat (head: Uint8Array): SniffedFormat | undefined {
  const found = SIGNATURES.find(s => s.test(head))
  if (found === undefined) return undefined
  return { name: found.name, kinds: found.kinds, mimeTypes: found.mimeTypes }
}

/** The MIME type without parameters, lower case. */
function essence (mimeType: string): string {
  return mimeType.split(';')[0].trim().toLowerCase()
}

/**
 * Throws AttachmentTypeError unless bytes starting with `head` may be sent as
 * `kind` with `mimeType`: `file` takes anything; `image`, `gif` and `audio`
 * need a recognised format of that kind, named by the MIME type.
 */
export function checkAttachmentType (kind: AttachmentKind, mimeType: string, head: Uint8Array): void {
  if (kind === 'file') return
  const format = sniffFormat(head)
  if (format === undefined) throw new AttachmentTypeError(`a ${kind} attachment must be one of ${formatsOf(kind)}; its bytes are none of them`)
  if (!format.kinds.includes(kind)) throw new AttachmentTypeError(`a ${format.name} file cannot be sent as ${kind} (must be one of ${formatsOf(kind)})`)
  if (!format.mimeTypes.includes(essence(mimeType))) {
    throw new AttachmentTypeError(`MIME type ${JSON.stringify(mimeType.slice(0, 40))} does not name a ${format.name} file (expected ${format.mimeTypes[0]})`)
  }
}

function formatsOf (kind: AttachmentKind): string {
  return SIGNATURES.filter(s => s.kinds.includes(kind)).map(s => s.name).join(', ')
}
