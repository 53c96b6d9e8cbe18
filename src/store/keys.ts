/**
 * Keys that sort correctly as bytes (LevelDB and IndexedDB compare keys
 * byte-wise).
 *
 * order key   = lamport (u64 big-endian, 8) || author account key (32) || message id (16)
 * message key = length of conversation id (1) || conversation id || order key
 *
 * Byte order of order keys is the conversation order (lamport, author, id):
 * big-endian makes numeric and byte order agree, and fixed-width author and
 * id make the fields line up.
 */
import { InvalidStoreKeyError } from './errors.js'
import type { Range } from './store.js'

/** Author field width: an Ed25519 account key. */
export const ORDER_AUTHOR_BYTES = 32
/** Message id width. */
export const ORDER_ID_BYTES = 16
/** Total order key width. */
export const ORDER_KEY_BYTES = 8 + ORDER_AUTHOR_BYTES + ORDER_ID_BYTES
/** Longest conversation id a message key can carry. */
export const MAX_CONVERSATION_ID_BYTES = 255

/** The parts of an order key. */
export interface OrderKeyParts {
  lamport: number
  author: Uint8Array
  id: Uint8Array
}

/** Encodes (lamport, author, id) so that byte order is conversation order. */
export function encodeOrderKey (lamport: number, author: Uint8Array, id: Uint8Array): Uint8Array {
  if (!Number.isSafeInteger(lamport) || lamport < 0) throw new InvalidStoreKeyError(`lamport must be a non-negative safe integer, got ${lamport}`)
  if (author.length !== ORDER_AUTHOR_BYTES) throw new InvalidStoreKeyError(`author must be ${ORDER_AUTHOR_BYTES} bytes, got ${author.length}`)
  if (id.length !== ORDER_ID_BYTES) throw new InvalidStoreKeyError(`id must be ${ORDER_ID_BYTES} bytes, got ${id.length}`)
  const key = new Uint8Array(ORDER_KEY_BYTES)
  new DataView(key.buffer).setBigUint64(0, BigInt(lamport), false)
  key.set(author, 8)
  key.set(id, 8 + ORDER_AUTHOR_BYTES)
  return key
}

/** Splits an order key into its parts. */
export function decodeOrderKey (key: Uint8Array): OrderKeyParts {
  if (key.length !== ORDER_KEY_BYTES) throw new InvalidStoreKeyError(`an order key is ${ORDER_KEY_BYTES} bytes, got ${key.length}`)
  const view = new DataView(key.buffer, key.byteOffset, key.byteLength)
  return {
    lamport: Number(view.getBigUint64(0, false)),
    author: key.slice(8, 8 + ORDER_AUTHOR_BYTES),
    id: key.slice(8 + ORDER_AUTHOR_BYTES)
  }
}

function conversationPrefix (conversation: Uint8Array): Uint8Array {
  if (conversation.length === 0 || conversation.length > MAX_CONVERSATION_ID_BYTES) {
    throw new InvalidStoreKeyError(`a conversation id is 1..${MAX_CONVERSATION_ID_BYTES} bytes, got ${conversation.length}`)
  }
  const prefix = new Uint8Array(1 + conversation.length)
  prefix[0] = conversation.length
  prefix.set(conversation, 1)
  return prefix
}

/** Key of a message in the `messages` namespace. */
export function messageKey (conversation: Uint8Array, orderKey: Uint8Array): Uint8Array {
  const prefix = conversationPrefix(conversation)
  const key = new Uint8Array(prefix.length + orderKey.length)
  key.set(prefix)
  key.set(orderKey, prefix.length)
  return key
}

/** The conversation a message key is of. */
export function conversationOfMessageKey (key: Uint8Array): Uint8Array {
  return key.subarray(1, 1 + key[0])
}

/** The order key inside a message key. */
export function orderKeyOfMessageKey (key: Uint8Array): Uint8Array {
  return key.subarray(1 + key[0])
}

/** The range holding every key that starts with `prefix`. */
export function prefixRange (prefix: Uint8Array): Range {
  // Upper bound: the prefix with its last byte below 0xff incremented and the rest dropped.
  let end = prefix.length
  while (end > 0 && prefix[end - 1] === 0xff) end--
  if (end === 0) return { gte: prefix }
  const lt = prefix.slice(0, end)
  lt[end - 1]++
  return { gte: prefix, lt }
}

/**
 * The messages of one conversation in order; with `after`, only those whose
 * order key is greater (for paging).
 */
export function conversationRange (conversation: Uint8Array, after?: Uint8Array): Range {
  const range = prefixRange(conversationPrefix(conversation))
  if (after === undefined) return range
  return { gt: messageKey(conversation, after), lt: range.lt }
}
