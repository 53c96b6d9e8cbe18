/**
 * The messages of every conversation, in the `messages` namespace under
 * (conversation, Lamport order key), with an id index and the Lamport
 * counter of each conversation in `dedup`. A conversation with one person is
 * keyed by their account key.
 */
import { encodeOrderKey, messageKey, conversationRange } from '../store/index.js'
import type { BatchOp, Store } from '../store/index.js'
import { decodeMessage, encodeMessage, reduceConversation } from './model/index.js'
import type { ConversationView, Message } from './model/index.js'
import { concat, equalBytes, jsonBytes, parseJson, utf8 } from './bytes.js'

const MSG = utf8('msg/')
const ENV = utf8('env/')
const LAMPORT = utf8('lamport/')

/** Key of the id index entry of a message. */
export function messageIndexKey (id: Uint8Array): Uint8Array {
  return concat(MSG, id)
}

/** Key of the marker of an envelope already stored. */
export function envelopeMarkerKey (id: Uint8Array): Uint8Array {
  return concat(ENV, id)
}

/**
 * What the marker of a stored envelope remembers: enough to send the
 * delivery receipt again when the same envelope comes back from a relay
 * (it cannot be decrypted twice), for messages that get one.
 */
export interface EnvelopeMarker {
  /** Message id, hex. */
  message: string
  /** Sender account key, hex. */
  account: string
  /** Sender device peer id. */
  device: string
}

/** The value stored under {@link envelopeMarkerKey}: the marker, or a bare 1 when no receipt is due. */
export function envelopeMarkerValue (marker?: EnvelopeMarker): Uint8Array {
  return marker == null ? new Uint8Array([1]) : jsonBytes(marker)
}

/** Conversation histories. */
export class History {
  private readonly lamports = new Map<string, number>()

  constructor (private readonly store: Store) {}

  /** Writes to store a message (and its index entry) in a conversation; `encoded` is encodeMessage(message) if the caller has it. */
  putOps (conversation: Uint8Array, message: Message, encoded = encodeMessage(message)): BatchOp[] {
    const key = messageKey(conversation, encodeOrderKey(message.lamport, message.author.account, message.id))
    return [
      { type: 'put', namespace: 'messages', key, value: encoded },
      { type: 'put', namespace: 'dedup', key: messageIndexKey(message.id), value: key }
    ]
  }

  /** The conversation a stored message belongs to and the message, if stored. */
  async find (id: Uint8Array): Promise<{ conversation: Uint8Array, message: Message } | undefined> {
    const key = await this.store.get('dedup', messageIndexKey(id))
    if (key == null) return undefined
    const bytes = await this.store.get('messages', key)
    if (bytes == null) return undefined
    return { conversation: key.subarray(1, 1 + key[0]), message: decodeMessage(bytes) }
  }

  /** Whether an envelope id was already stored. */
  async hasEnvelope (id: Uint8Array): Promise<boolean> {
    return (await this.store.get('dedup', envelopeMarkerKey(id))) != null
  }

  /** The receipt details of a stored envelope (undefined if unknown or none is due). */
  async envelopeMarker (id: Uint8Array): Promise<EnvelopeMarker | undefined> {
    const bytes = await this.store.get('dedup', envelopeMarkerKey(id))
    if (bytes == null || bytes.length < 2) return undefined
    try {
      return parseJson<EnvelopeMarker>(bytes)
    } catch {
      return undefined
    }
  }

  /** Every message of a conversation in order. */
  async messages (conversation: Uint8Array): Promise<Message[]> {
    const out: Message[] = []
    for await (const [, value] of this.store.iterate('messages', conversationRange(conversation))) out.push(decodeMessage(value))
    return out
  }

  /** The view both sides agree on (order, replies, reactions, edits, deletes, receipts). */
  async view (conversation: Uint8Array): Promise<ConversationView> {
    return reduceConversation(await this.messages(conversation))
  }

  /** The highest Lamport counter used or seen in a conversation. */
  async lamport (conversation: Uint8Array): Promise<number> {
    const id = String.fromCharCode(...conversation)
    const cached = this.lamports.get(id)
    if (cached != null) return cached
    const bytes = await this.store.get('dedup', concat(LAMPORT, conversation))
    const value = bytes == null ? 0 : Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0))
    this.lamports.set(id, value)
    return value
  }

  /** Raises the conversation's counter to at least `n`; returns the op that persists it. */
  observeOp (conversation: Uint8Array, n: number): BatchOp {
    const id = String.fromCharCode(...conversation)
    const next = Math.max(this.lamports.get(id) ?? 0, n)
    this.lamports.set(id, next)
    const value = new Uint8Array(8)
    new DataView(value.buffer).setBigUint64(0, BigInt(next))
    return { type: 'put', namespace: 'dedup', key: concat(LAMPORT, conversation), value }
  }

  /** Whether `op` is the write of a conversation's Lamport counter (see observeOp). */
  isLamportOp (op: BatchOp): boolean {
    return op.namespace === 'dedup' && op.key.length >= LAMPORT.length && equalBytes(op.key.subarray(0, LAMPORT.length), LAMPORT)
  }

  /** Takes the next counter to send with (never handed out twice, even to concurrent senders). */
  async reserve (conversation: Uint8Array): Promise<number> {
    await this.lamport(conversation)
    const id = String.fromCharCode(...conversation)
    const next = (this.lamports.get(id) ?? 0) + 1
    this.lamports.set(id, next)
    return next
  }
}
