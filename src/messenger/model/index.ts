/**
 * The message model: types, wire format, validation and the conversation
 * view. Pure: no I/O, no clocks, no randomness except through an injected
 * {@link Crypto}.
 *
 * @example
 * ```ts
 * const bytes = encodeMessage({ id: newMessageId(crypto), author, timestamp: Date.now(), lamport: clock.next(), body: { kind: 'text', text: 'hi' } })
 * const message = decodeMessage(bytes) // throws InvalidMessageError on anything malformed
 * ```
 */
export type {
  AttachmentBody, AttachmentDescriptor, AttachmentKind, Author, CallBody, DeleteBody, DeliveredBody, EditBody,
  Message, MessageBody, MessageId, MessageKind, ReactionBody, ReadBody, ReplyBody, TextBody, TypingBody
} from './types.js'
export * from './constants.js'
export { InvalidEmojiError, InvalidMessageError, InvalidTextError } from './errors.js'
export type { InvalidMessageReason } from './errors.js'
export { countCodePoints, validateText } from './text.js'
export { isRgiEmoji, rgiEmojiSet, validateReactionEmoji } from './emoji.js'
export { RGI_EMOJI_SOURCE } from './rgi-emoji.js'
export { validateMessage } from './validate.js'
export { decodeMessage, encodeMessage } from './codec.js'
export type { DecodeMessageOptions } from './codec.js'
export { idToHex, newMessageId } from './ids.js'
export { LamportClock } from './lamport.js'
export { compareMessages } from './order.js'
export { reduceConversation } from './conversation.js'
export type { ConversationView, DeliveryStatus, MessageView, ReactionView, TextVersion } from './conversation.js'
