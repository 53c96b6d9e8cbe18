/**
 * The message model: what travels inside an encrypted session, as plain
 * TypeScript values. `codec.ts` turns these into protobuf bytes and back.
 */

/** A random 128-bit message id. */
export type MessageId = Uint8Array

/** Who wrote a message. */
export interface Author {
  /** Account key (Ed25519 public key, 32 bytes). */
  account: Uint8Array
  /** Device: libp2p peer id as multihash bytes. */
  device: Uint8Array
}

/** Plain text. */
export interface TextBody {
  kind: 'text'
  text: string
}

/** Text answering any earlier message of the conversation. */
export interface ReplyBody {
  kind: 'reply'
  target: MessageId
  text: string
}

/** One emoji added to or taken back from a message; several per person allowed. */
export interface ReactionBody {
  kind: 'reaction'
  target: MessageId
  emoji: string
  action: 'add' | 'remove'
}

/** New text for an earlier message of the same author; history is kept. */
export interface EditBody {
  kind: 'edit'
  target: MessageId
  text: string
}

/** Delete for everyone: only the author's own messages. */
export interface DeleteBody {
  kind: 'delete'
  target: MessageId
}

/** The listed messages reached the recipient device. */
export interface DeliveredBody {
  kind: 'delivered'
  ids: MessageId[]
}

/** The listed messages were shown to the recipient. */
export interface ReadBody {
  kind: 'read'
  ids: MessageId[]
}

/** Typing indicator: ephemeral, never stored. */
export interface TypingBody {
  kind: 'typing'
  on: boolean
}

/** What an attachment is, for display. */
export type AttachmentKind = 'image' | 'gif' | 'audio' | 'file'

/** Describes an attachment encrypted with its own key and sent in chunks. */
export interface AttachmentDescriptor {
  /** Random 128-bit attachment id. */
  id: Uint8Array
  fileName: string
  mimeType: string
  kind: AttachmentKind
  /** Plaintext size in bytes. */
  size: number
  /** SHA-256 of the plaintext. */
  sha256: Uint8Array
  /** 32-byte key the attachment is encrypted with. */
  key: Uint8Array
  /** Plaintext bytes per chunk. */
  chunkSize: number
  /** The message's caption: only the first attachment of a message has one. */
  caption?: string
}

/**
 * A message carrying one or more files (an album, as Signal and WhatsApp
 * send several pictures), each with its own descriptor: 1 to
 * MAX_ATTACHMENTS_PER_MESSAGE, distinct ids, the caption on the first.
 */
export interface AttachmentBody {
  kind: 'attachment'
  attachments: AttachmentDescriptor[]
}

/**
 * A call event, written by the caller into both threads when the call is
 * over: missed (nobody answered, or the caller gave up), declined, busy (the
 * callee was in another call), or ended (with how long it was connected).
 */
export interface CallBody {
  kind: 'call'
  outcome: 'missed' | 'declined' | 'busy' | 'ended'
  /** Duration in milliseconds (0 unless ended). */
  durationMs: number
  video: boolean
}

/** Every kind of message body. */
export type MessageBody =
  | TextBody
  | ReplyBody
  | ReactionBody
  | EditBody
  | DeleteBody
  | DeliveredBody
  | ReadBody
  | TypingBody
  | AttachmentBody
  | CallBody

/** The name of a message kind. */
export type MessageKind = MessageBody['kind']

/** One message of a conversation. */
export interface Message<B extends MessageBody = MessageBody> {
  id: MessageId
  author: Author
  /** Milliseconds since the Unix epoch, as the author's clock said. */
  timestamp: number
  /** Per-conversation Lamport counter (>= 1). */
  lamport: number
  body: B
}
