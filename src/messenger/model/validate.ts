/**
 * Field-by-field validation of message values. Every check throws
 * {@link InvalidMessageError} with a reason; `codec.ts` runs them on every
 * message it encodes or decodes.
 */
import { peerIdFromMultihash } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import {
  ACCOUNT_KEY_BYTES, ATTACHMENT_ID_BYTES, ATTACHMENT_KEY_BYTES, MAX_ATTACHMENTS_PER_MESSAGE, MAX_CHUNK_SIZE, MAX_DEVICE_ID_BYTES,
  MAX_FILE_NAME_CODE_POINTS, MAX_MIME_TYPE_LENGTH, MAX_RECEIPT_IDS, MESSAGE_ID_BYTES, SHA256_BYTES
} from './constants.js'
import { validateReactionEmoji } from './emoji.js'
import { InvalidMessageError } from './errors.js'
import type { InvalidMessageReason } from './errors.js'
import { countCodePoints, validateText } from './text.js'
import type { AttachmentDescriptor, Author, Message, MessageBody } from './types.js'
import { setNewest } from '../../bounded.js'

// RFC 6838 section 4.2 restricted names, without parameters.
const MIME_TYPE = /^[a-z0-9][a-z0-9!#$&^_.+-]*\/[a-z0-9][a-z0-9!#$&^_.+-]*$/i
// Controls (C0, DEL, C1), path separators; unpaired surrogates.
const BAD_FILE_NAME_CHAR = /[\p{Cc}/\\]|[\uD800-\uDFFF]/u

function fail (reason: InvalidMessageReason, message: string): never {
  throw new InvalidMessageError(reason, message)
}

function checkBytes (value: unknown, length: number, reason: InvalidMessageReason, what: string): Uint8Array {
  if (!(value instanceof Uint8Array)) fail(reason, `${what} must be bytes`)
  if (value.length !== length) fail(reason, `${what} must be ${length} bytes, got ${value.length}`)
  return value
}

/** Checks a message id: exactly 16 bytes. */
export function checkMessageId (id: unknown, what = 'id'): Uint8Array {
  return checkBytes(id, MESSAGE_ID_BYTES, 'bad-id', what)
}

function checkSafeInteger (n: unknown, min: number, reason: InvalidMessageReason, what: string): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) fail(reason, `${what} must be an integer >= ${min}, got ${String(n)}`)
  return n
}

function checkText (text: unknown, reason: InvalidMessageReason, what: string): string {
  try {
    return validateText(text)
  } catch (err) {
    throw new InvalidMessageError(reason, `${what}: ${(err as Error).message}`, { cause: err })
  }
}

/** Device ids already parsed as peer ids (as strings of their bytes), at most this many. */
const KNOWN_DEVICES_MAX = 1024
const knownDevices = new Map<string, true>()

/** Parses `device` as a libp2p peer id once; later messages of the same device skip the parse (about 20 µs). */
function checkDevice (device: Uint8Array): void {
  const key = String.fromCharCode(...device)
  if (knownDevices.has(key)) return
  try {
    peerIdFromMultihash(Digest.decode(device))
  } catch (err) {
    throw new InvalidMessageError('bad-author', 'author.device is not a libp2p peer id', { cause: err })
  }
  setNewest(knownDevices, key, true, KNOWN_DEVICES_MAX)
}

/** Checks an author: 32-byte account key and a parseable libp2p peer id. */
export function checkAuthor (author: Author | undefined): Author {
  if (author == null) fail('missing-field', 'author is missing')
  const account = checkBytes(author.account, ACCOUNT_KEY_BYTES, 'bad-author', 'author.account')
  const device = author.device
  if (!(device instanceof Uint8Array) || device.length === 0 || device.length > MAX_DEVICE_ID_BYTES) {
    fail('bad-author', `author.device must be 1..${MAX_DEVICE_ID_BYTES} bytes`)
  }
  checkDevice(device)
  return { account, device }
}

function checkReceiptIds (ids: unknown): Uint8Array[] {
  if (!Array.isArray(ids) || ids.length === 0) fail('bad-receipt', 'a receipt lists at least one id')
  if (ids.length > MAX_RECEIPT_IDS) fail('bad-receipt', `a receipt lists at most ${MAX_RECEIPT_IDS} ids, got ${ids.length}`)
  return ids.map((id, i) => checkMessageId(id, `ids[${i}]`))
}

/** Checks an attachment descriptor, field by field. */
export function checkAttachment (a: AttachmentDescriptor | undefined): AttachmentDescriptor {
  if (a == null) fail('missing-field', 'attachment is missing')
  checkBytes(a.id, ATTACHMENT_ID_BYTES, 'bad-attachment', 'attachment.id')
  const name = a.fileName
  if (typeof name !== 'string' || name === '' || name === '.' || name === '..') fail('bad-attachment', 'attachment.fileName is empty or a dot name')
  if (countCodePoints(name) > MAX_FILE_NAME_CODE_POINTS) fail('bad-attachment', `attachment.fileName is longer than ${MAX_FILE_NAME_CODE_POINTS} code points`)
  if (BAD_FILE_NAME_CHAR.test(name)) fail('bad-attachment', 'attachment.fileName contains a control character, a path separator or an unpaired surrogate')
  if (typeof a.mimeType !== 'string' || a.mimeType.length > MAX_MIME_TYPE_LENGTH || !MIME_TYPE.test(a.mimeType)) {
    fail('bad-attachment', `attachment.mimeType must be type/subtype, got ${JSON.stringify(String(a.mimeType).slice(0, 40))}`)
  }
  if (!['image', 'gif', 'audio', 'file'].includes(a.kind)) fail('bad-attachment', `attachment.kind is unknown: ${String(a.kind)}`)
  checkSafeInteger(a.size, 0, 'bad-attachment', 'attachment.size')
  checkBytes(a.sha256, SHA256_BYTES, 'bad-attachment', 'attachment.sha256')
  checkBytes(a.key, ATTACHMENT_KEY_BYTES, 'bad-attachment', 'attachment.key')
  checkSafeInteger(a.chunkSize, 1, 'bad-attachment', 'attachment.chunkSize')
  if (a.chunkSize > MAX_CHUNK_SIZE) fail('bad-attachment', `attachment.chunkSize must be at most ${MAX_CHUNK_SIZE}`)
  if (a.caption !== undefined) checkText(a.caption, 'bad-attachment', 'attachment.caption')
  return a
}

/**
 * Checks the files of one message: 1 to MAX_ATTACHMENTS_PER_MESSAGE, each
 * valid, no id twice (each has its own chunks and state), the caption on the
 * first only.
 */
export function checkAttachments (list: AttachmentDescriptor[] | undefined): AttachmentDescriptor[] {
  if (!Array.isArray(list) || list.length === 0) fail('missing-field', 'an attachment message has at least one attachment')
  if (list.length > MAX_ATTACHMENTS_PER_MESSAGE) fail('bad-attachment', `a message carries at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments, got ${list.length}`)
  const ids = new Set<string>()
  for (const [i, a] of list.entries()) {
    checkAttachment(a)
    const id = String.fromCharCode(...a.id)
    if (ids.has(id)) fail('bad-attachment', `attachments[${i}] repeats the id of an earlier one`)
    ids.add(id)
    if (i > 0 && a.caption !== undefined) fail('bad-attachment', 'only the first attachment carries the caption')
  }
  return list
}

/** Checks a message body according to its kind. */
export function checkBody (body: MessageBody): MessageBody {
  switch (body.kind) {
    case 'text':
      checkText(body.text, 'bad-text', 'text')
      return body
    case 'reply':
      checkMessageId(body.target, 'reply.target')
      checkText(body.text, 'bad-text', 'reply.text')
      return body
    case 'reaction':
      checkMessageId(body.target, 'reaction.target')
      try {
        validateReactionEmoji(body.emoji)
      } catch (err) {
        throw new InvalidMessageError('bad-emoji', (err as Error).message, { cause: err })
      }
      if (body.action !== 'add' && body.action !== 'remove') fail('bad-emoji', 'reaction.action must be add or remove')
      return body
    case 'edit':
      checkMessageId(body.target, 'edit.target')
      checkText(body.text, 'bad-text', 'edit.text')
      return body
    case 'delete':
      checkMessageId(body.target, 'delete.target')
      return body
    case 'delivered':
    case 'read':
      checkReceiptIds(body.ids)
      return body
    case 'typing':
      if (typeof body.on !== 'boolean') fail('bad-kind', 'typing.on must be a boolean')
      return body
    case 'attachment':
      checkAttachments(body.attachments)
      return body
    case 'call':
      if (!['missed', 'declined', 'busy', 'ended'].includes(body.outcome)) fail('bad-call', 'call.outcome must be missed, declined, busy or ended')
      checkSafeInteger(body.durationMs, 0, 'bad-call', 'call.durationMs')
      if (body.outcome !== 'ended' && body.durationMs !== 0) fail('bad-call', `a ${body.outcome} call has no duration`)
      if (typeof body.video !== 'boolean') fail('bad-call', 'call.video must be a boolean')
      return body
    default:
      return fail('bad-kind', `unknown message kind ${String((body as { kind: unknown }).kind)}`)
  }
}

/** Checks a whole message; returns it unchanged or throws {@link InvalidMessageError}. */
export function validateMessage<M extends Message> (message: M): M {
  checkMessageId(message.id)
  checkAuthor(message.author)
  checkSafeInteger(message.timestamp, 0, 'bad-timestamp', 'timestamp')
  checkSafeInteger(message.lamport, 1, 'bad-lamport', 'lamport')
  if (message.body == null) fail('missing-field', 'body is missing')
  checkBody(message.body)
  return message
}
