/** Message ids: random 128-bit values, compared and keyed as lowercase hex. */
import { toString } from 'uint8arrays/to-string'
import type { Crypto } from '../../crypto/index.js'
import { MESSAGE_ID_BYTES } from './constants.js'
import type { MessageId } from './types.js'

/** A fresh random message id. */
export function newMessageId (crypto: Pick<Crypto, 'randomBytes'>): MessageId {
  return crypto.randomBytes(MESSAGE_ID_BYTES)
}

/** Lowercase hex of an id (or any bytes): the key used in maps and views. */
export function idToHex (id: Uint8Array): string {
  return toString(id, 'base16')
}
