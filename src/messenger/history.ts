/**
 * The messages of every conversation, in the `messages` namespace under
 * (conversation, Lamport order key), with an id index and the Lamport
 * counter of each conversation in `dedup`. A conversation with one person is
 * keyed by their account key.
 *
 * The decoded messages and reduced view of the conversations read last are
 * kept (at most {@link MAX_CACHED_CONVERSATIONS}): a screen refreshed on every
 * event read and reduced every message of every conversation each time. Every
 * write to `messages` is shown to {@link History.written} (the store the
 * messenger's parts write through is watched, src/store/watched-store.ts),
 * which drops the conversations it touches.
 */
import { conversationOfMessageKey, conversationRange, encodeOrderKey, messageKey, ReadCache } from '../store/index.js'
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

/** Conversations whose decoded messages and view are kept. */
export const MAX_CACHED_CONVERSATIONS = 32

/** Conversation histories. */
export class History {
  private readonly lamports = new Map<string, number>()
  /** Decoded messages (and their view once asked for) by conversation. */
  private readonly cached = new ReadCache<{ messages: Message[], view?: ConversationView }>(MAX_CACHED_CONVERSATIONS)

  constructor (private readonly store: Store) {}

  /** Told of every write to the store, before and after it is applied: drops the conversations it touches. */
  written (ops: readonly BatchOp[]): void {
    for (const op of ops) {
      if (op.namespace === 'messages') this.cached.drop(conversationId(conversationOfMessageKey(op.key)))
    }
  }

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
    return { conversation: conversationOfMessageKey(key), message: decodeMessage(bytes) }
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

  /** Every message of a conversation in order (shared with the cache: read, never change). */
  async messages (conversation: Uint8Array): Promise<readonly Message[]> {
    return (await this.entry(conversation)).messages
  }

  /** The view both sides agree on (order, replies, reactions, edits, deletes, receipts); shared with the cache: read, never change. */
  async view (conversation: Uint8Array): Promise<ConversationView> {
    const entry = await this.entry(conversation)
    entry.view ??= reduceConversation(entry.messages)
    return entry.view
  }

  private async entry (conversation: Uint8Array): Promise<{ messages: Message[], view?: ConversationView }> {
    return await this.cached.get(conversationId(conversation), async () => {
      const messages: Message[] = []
      for await (const [, value] of this.store.iterate('messages', conversationRange(conversation))) messages.push(decodeMessage(value))
      return { messages }
    })
  }

  /** The highest Lamport counter used or seen in a conversation. */
  async lamport (conversation: Uint8Array): Promise<number> {
    const id = conversationId(conversation)
    const cached = this.lamports.get(id)
    if (cached != null) return cached
    const bytes = await this.store.get('dedup', concat(LAMPORT, conversation))
    const value = bytes == null ? 0 : Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0))
    this.lamports.set(id, value)
    return value
  }

  /** Raises the conversation's counter to at least `n`; returns the op that persists it. */
  observeOp (conversation: Uint8Array, n: number): BatchOp {
    const id = conversationId(conversation)
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
    const id = conversationId(conversation)
    const next = (this.lamports.get(id) ?? 0) + 1
    this.lamports.set(id, next)
    return next
  }
}

/** A conversation's key bytes as a string, to key maps by. */
export function conversationId (conversation: Uint8Array): string {
  return String.fromCharCode(...conversation)
}
