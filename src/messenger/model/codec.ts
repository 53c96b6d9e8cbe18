/**
 * Protobuf wire format of a message (`pb/message.proto`): the plaintext that
 * travels inside an encrypted session. Encoding validates first; decoding
 * bounds the size, then validates every field, and throws
 * {@link InvalidMessageError} for anything malformed, never anything else.
 */
import { MAX_ATTACHMENTS_PER_MESSAGE, MAX_MESSAGE_BYTES, MAX_RECEIPT_IDS } from './constants.js'
import { InvalidMessageError } from './errors.js'
import * as pb from './pb/message.js'
import { validateMessage } from './validate.js'
import type { AttachmentDescriptor, AttachmentKind, CallBody, Message, MessageBody } from './types.js'

/** Options for {@link decodeMessage}. */
export interface DecodeMessageOptions {
  /** Largest encoded size accepted, in bytes (default {@link MAX_MESSAGE_BYTES}). */
  maxBytes?: number
}

const ATTACHMENT_KINDS: Record<AttachmentKind, pb.AttachmentKind> = {
  image: pb.AttachmentKind.ATTACHMENT_KIND_IMAGE,
  gif: pb.AttachmentKind.ATTACHMENT_KIND_GIF,
  audio: pb.AttachmentKind.ATTACHMENT_KIND_AUDIO,
  file: pb.AttachmentKind.ATTACHMENT_KIND_FILE
}

function attachmentKindFromPb (kind: pb.AttachmentKind): AttachmentKind {
  for (const [name, value] of Object.entries(ATTACHMENT_KINDS)) {
    if (value === kind) return name as AttachmentKind
  }
  throw new InvalidMessageError('bad-attachment', `attachment.kind is unknown: ${kind}`)
}

// Copies into fresh buffers so no decoded value keeps the whole input alive.
function copy (bytes: Uint8Array): Uint8Array {
  return bytes.slice()
}

function bodyToPb (body: MessageBody): Partial<pb.Message> {
  switch (body.kind) {
    case 'text': return { text: { text: body.text } }
    case 'reply': return { reply: { target: body.target as Uint8Array<ArrayBuffer>, text: body.text } }
    case 'reaction': return { reaction: { target: body.target as Uint8Array<ArrayBuffer>, emoji: body.emoji, remove: body.action === 'remove' } }
    case 'edit': return { edit: { target: body.target as Uint8Array<ArrayBuffer>, text: body.text } }
    case 'delete': return { delete: { target: body.target as Uint8Array<ArrayBuffer> } }
    case 'delivered': return { delivered: { ids: body.ids as Array<Uint8Array<ArrayBuffer>> } }
    case 'read': return { read: { ids: body.ids as Array<Uint8Array<ArrayBuffer>> } }
    case 'typing': return { typing: { on: body.on } }
    case 'attachment': return { attachments: body.attachments.map(attachmentToPb) }
    case 'call': return {
      call: {
        outcome: CALL_OUTCOMES[body.outcome],
        durationMs: body.durationMs,
        video: body.video
      }
    }
  }
}

function attachmentToPb (a: AttachmentDescriptor): pb.Attachment {
  return {
    id: a.id as Uint8Array<ArrayBuffer>,
    fileName: a.fileName,
    mimeType: a.mimeType,
    kind: ATTACHMENT_KINDS[a.kind],
    size: a.size,
    sha256: a.sha256 as Uint8Array<ArrayBuffer>,
    key: a.key as Uint8Array<ArrayBuffer>,
    chunkSize: a.chunkSize,
    caption: a.caption
  }
}

function attachmentFromPb (a: pb.Attachment): AttachmentDescriptor {
  const out: AttachmentDescriptor = {
    id: copy(a.id),
    fileName: a.fileName,
    mimeType: a.mimeType,
    kind: attachmentKindFromPb(a.kind),
    size: a.size,
    sha256: copy(a.sha256),
    key: copy(a.key),
    chunkSize: a.chunkSize
  }
  if (a.caption !== undefined) out.caption = a.caption
  return out
}

const CALL_OUTCOMES: Record<CallBody['outcome'], pb.CallOutcome> = {
  missed: pb.CallOutcome.CALL_OUTCOME_MISSED,
  declined: pb.CallOutcome.CALL_OUTCOME_DECLINED,
  busy: pb.CallOutcome.CALL_OUTCOME_BUSY,
  ended: pb.CallOutcome.CALL_OUTCOME_ENDED
}

function callFromPb (c: pb.CallEvent): MessageBody {
  switch (c.outcome) {
    case pb.CallOutcome.CALL_OUTCOME_MISSED: return { kind: 'call', outcome: 'missed', durationMs: c.durationMs, video: c.video }
    case pb.CallOutcome.CALL_OUTCOME_DECLINED: return { kind: 'call', outcome: 'declined', durationMs: c.durationMs, video: c.video }
    case pb.CallOutcome.CALL_OUTCOME_BUSY: return { kind: 'call', outcome: 'busy', durationMs: c.durationMs, video: c.video }
    case pb.CallOutcome.CALL_OUTCOME_ENDED: return { kind: 'call', outcome: 'ended', durationMs: c.durationMs, video: c.video }
    case pb.CallOutcome.CALL_OUTCOME_UNSPECIFIED: throw new InvalidMessageError('bad-call', 'call.outcome is not set')
    default: throw new InvalidMessageError('bad-call', `unknown call outcome ${String(c.outcome)}`)
  }
}

function bodyFromPb (m: pb.Message): MessageBody {
  const bodies: MessageBody[] = []
  if (m.text != null) bodies.push({ kind: 'text', text: m.text.text })
  if (m.reply != null) bodies.push({ kind: 'reply', target: copy(m.reply.target), text: m.reply.text })
  if (m.reaction != null) bodies.push({ kind: 'reaction', target: copy(m.reaction.target), emoji: m.reaction.emoji, action: m.reaction.remove ? 'remove' : 'add' })
  if (m.edit != null) bodies.push({ kind: 'edit', target: copy(m.edit.target), text: m.edit.text })
  if (m.delete != null) bodies.push({ kind: 'delete', target: copy(m.delete.target) })
  if (m.delivered != null) bodies.push({ kind: 'delivered', ids: m.delivered.ids.map(copy) })
  if (m.read != null) bodies.push({ kind: 'read', ids: m.read.ids.map(copy) })
  if (m.typing != null) bodies.push({ kind: 'typing', on: m.typing.on })
  if (m.attachments.length > 0) bodies.push({ kind: 'attachment', attachments: m.attachments.map(attachmentFromPb) })
  if (m.call != null) bodies.push(callFromPb(m.call))
  if (bodies.length !== 1) throw new InvalidMessageError('bad-kind', `a message has exactly one body, got ${bodies.length}`)
  return bodies[0]
}

/** Validates `message` and encodes it as protobuf bytes. */
export function encodeMessage (message: Message): Uint8Array {
  validateMessage(message)
  const bytes = pb.Message.encode({
    id: message.id as Uint8Array<ArrayBuffer>,
    author: {
      account: message.author.account as Uint8Array<ArrayBuffer>,
      device: message.author.device as Uint8Array<ArrayBuffer>
    },
    timestamp: message.timestamp,
    lamport: message.lamport,
    ...bodyToPb(message.body)
  })
  if (bytes.length > MAX_MESSAGE_BYTES) throw new InvalidMessageError('too-large', `encoded message is ${bytes.length} bytes, at most ${MAX_MESSAGE_BYTES}`)
  return bytes
}

/**
 * Decodes and validates a message. Throws {@link InvalidMessageError} when the
 * input is larger than `maxBytes`, is not a protobuf `Message`, or breaks any
 * rule of the model.
 */
export function decodeMessage (bytes: Uint8Array, options: DecodeMessageOptions = {}): Message {
  const maxBytes = options.maxBytes ?? MAX_MESSAGE_BYTES
  if (bytes.length > maxBytes) throw new InvalidMessageError('too-large', `message is ${bytes.length} bytes, at most ${maxBytes}`)
  let raw: pb.Message
  try {
    // The decoder stops at the descriptor after the limit: a hostile count costs nothing more.
    raw = pb.Message.decode(bytes, {
      limits: { delivered: { ids: MAX_RECEIPT_IDS }, read: { ids: MAX_RECEIPT_IDS }, attachments: MAX_ATTACHMENTS_PER_MESSAGE }
    })
  } catch (err) {
    if ((err as Error).name === 'MaxLengthError' && /attachments/.test((err as Error).message)) {
      throw new InvalidMessageError('bad-attachment', `a message carries at most ${MAX_ATTACHMENTS_PER_MESSAGE} attachments`, { cause: err })
    }
    throw new InvalidMessageError('malformed', `not a protobuf message: ${(err as Error).message}`, { cause: err })
  }
  if (raw.author == null) throw new InvalidMessageError('missing-field', 'author is missing')
  const message: Message = {
    id: copy(raw.id),
    author: { account: copy(raw.author.account), device: copy(raw.author.device) },
    timestamp: raw.timestamp,
    lamport: raw.lamport,
    body: bodyFromPb(raw)
  }
  return validateMessage(message)
}
