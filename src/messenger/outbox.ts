/**
 * The persistent outbox (DESIGN.md, Messages): a message is encrypted and
 * written here, in the same batch as the message itself and the session
 * state, before any send attempt, and leaves only on an end-to-end
 * acknowledgement: the recipient device's direct ack, or its delivery
 * receipt after it fetched the envelope from a relay. An entry holds the
 * session message and its envelope id; delivery seals it for each attempt
 * (a fresh ephemeral key for relays, the device's direct one otherwise),
 * always under the same outer id, so duplicates are recognised without
 * decrypting.
 *
 * Sender-side state per message: queued -> held by N relays -> delivered ->
 * read, or failed when the retention time ran out undelivered (the user may
 * send it again: queued once more). A receipt that arrives after "failed"
 * still shows the truth: delivered.
 */
import type { BatchOp, Store } from '../store/index.js'
import { concat, jsonBytes, parseJson, toHex, u64, utf8 } from './bytes.js'
import { setNewest } from '../bounded.js'

const QUEUE = utf8('q/')
const STATUS = utf8('st/')

/** How a message stands, as its sender sees it. */
export type SendState = 'queued' | 'relayed' | 'failed' | 'delivered' | 'read'

/** One envelope waiting for its acknowledgement. */
export interface OutboxEntry {
  seq: number
  /** Message id, hex. */
  messageId: string
  /** Conversation (recipient account key), hex. */
  conversation: string
  /** Recipient device peer id. */
  device: string
  /** Outer envelope id, hex. */
  envelopeId: string
  /** The recipient device's identity key, hex: present when the entry holds `inner`. */
  identityKey?: string
  /** The session message, sealed on each attempt (stored after the JSON fields, as raw bytes). */
  inner?: Uint8Array
  /** A sealed envelope, in entries stored before sealing moved to delivery (raw bytes after the JSON fields). */
  envelope?: Uint8Array
  /**
   * Set when the message was sealed in an initial (PQXDH) message of a
   * session the device had not answered yet: its direct acknowledgement
   * shows the device has the session (hex keys).
   */
  confirms?: { identityKey: string, baseKey: string }
  /** Receipts and typing need no end-to-end ack of their own. */
  kind: 'content' | 'receipt'
  createdAt: number
  /** Relays that signed custody of it. */
  relays: string[]
}

/** Sender-side state of one message. */
export interface MessageStatus {
  state: SendState
  relays: number
  updatedAt: number
}

/** Base64 without padding rules fuss (standard alphabet). */
export function toBase64 (bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

/** Inverse of {@link toBase64}. */
export function fromBase64 (b64: string): Uint8Array {
  const s = atob(b64)
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

/**
 * An entry as stored: u32 length of the JSON fields | JSON fields | bytes:
 * the session message when the fields name `identityKey`, else (older
 * entries) the sealed envelope.
 */
function encodeEntry (entry: OutboxEntry): Uint8Array {
  const { envelope, inner, ...fields } = entry
  const body = fields.identityKey != null ? inner : envelope
  if (body == null) throw new TypeError('an outbox entry holds a session message and its identity key, or an envelope')
  const json = jsonBytes(fields)
  const out = new Uint8Array(4 + json.length + body.length)
  new DataView(out.buffer).setUint32(0, json.length)
  out.set(json, 4)
  out.set(body, 4 + json.length)
  return out
}

/** Reads an entry as stored (see encodeEntry); backups read old entries with it. */
export function decodeOutboxEntry (bytes: Uint8Array): OutboxEntry {
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0)
  const fields = parseJson<Omit<OutboxEntry, 'envelope' | 'inner'>>(bytes.subarray(4, 4 + length))
  const body = bytes.slice(4 + length)
  return fields.identityKey != null ? { ...fields, inner: body } : { ...fields, envelope: body }
}

/** Whether an `outbox` key is a queued entry's (`q/` || seq), as opposed to a message state or an unsent message. */
export function isOutboxEntryKey (key: Uint8Array): boolean {
  return key.length === QUEUE.length + 8 && key[0] === QUEUE[0] && key[1] === QUEUE[1]
}

/** Whether an `outbox` key is a message state's (`st/` || message id). */
export function isStatusKey (key: Uint8Array): boolean {
  return key.length > STATUS.length && STATUS.every((b, i) => key[i] === b)
}

function entryKey (seq: number): Uint8Array {
  return concat(QUEUE, u64(seq))
}

function statusKey (messageId: Uint8Array): Uint8Array {
  return concat(STATUS, messageId)
}

const RANK: Record<SendState, number> = { queued: 0, relayed: 1, failed: 2, delivered: 3, read: 4 }

/** States written before 'failed' had its name. */
function current (status: MessageStatus): MessageStatus {
  return (status.state as string) === 'expired' ? { ...status, state: 'failed' } : status
}

/**
 * Message states kept in memory, most recently changed last. Older ones are
 * read back from the store when they change again; the bound is far above
 * what can change between a state's write being queued and landing.
 */
export const MAX_CACHED_STATUSES = 65_536

/** The outbox over the `outbox` namespace. */
export class Outbox {
  private nextSeq = 0
  private readonly statuses = new Map<string, MessageStatus>()

  constructor (private readonly store: Store) {}

  /** Every entry still waiting, oldest first; also sets the next sequence number. */
  async load (): Promise<OutboxEntry[]> {
    const out: OutboxEntry[] = []
    for await (const [, value] of this.store.iterate('outbox', { gte: QUEUE, lt: utf8('q0') })) {
      const entry = decodeOutboxEntry(value)
      out.push(entry)
      this.nextSeq = Math.max(this.nextSeq, entry.seq + 1)
    }
    return out
  }

  /** A new entry and the op that stores it. */
  add (fields: Omit<OutboxEntry, 'seq' | 'relays'>): { entry: OutboxEntry, op: BatchOp } {
    const entry: OutboxEntry = { ...fields, seq: this.nextSeq++, relays: [] }
    return { entry, op: this.putOp(entry) }
  }

  putOp (entry: OutboxEntry): BatchOp {
    return { type: 'put', namespace: 'outbox', key: entryKey(entry.seq), value: encodeEntry(entry) }
  }

  removeOp (entry: OutboxEntry): BatchOp {
    return { type: 'del', namespace: 'outbox', key: entryKey(entry.seq) }
  }

  async status (messageId: Uint8Array): Promise<MessageStatus | undefined> {
    const cached = this.statuses.get(toHex(messageId))
    if (cached != null) return cached
    const bytes = await this.store.get('outbox', statusKey(messageId))
    return bytes == null ? undefined : current(parseJson<MessageStatus>(bytes))
  }

  /** Message states held in memory (at most MAX_CACHED_STATUSES). */
  get cachedStatuses (): number {
    return this.statuses.size
  }

  private remember (id: string, status: MessageStatus): void {
    setNewest(this.statuses, id, status, MAX_CACHED_STATUSES)
  }

  /**
   * The op that moves a message's state forward (never back: a late custody
   * receipt does not undo "delivered"), or undefined when nothing changes.
   */
  async statusOp (messageId: Uint8Array, state: SendState, relays: number, now: number, fresh = false, options: { again?: boolean } = {}): Promise<{ op: BatchOp, status: MessageStatus } | undefined> {
    const id = toHex(messageId)
    // A message just composed has no stored state: no read needed.
    if (!fresh && !this.statuses.has(id)) {
      const stored = await this.status(messageId)
      if (stored != null && !this.statuses.has(id)) this.remember(id, stored)
    }
    // No await from here on: concurrent updates of one message see each other.
    const known = this.statuses.get(id)
    // `again`: a failed message sent once more starts over as queued.
    const restart = options.again === true && known?.state === 'failed'
    if (known != null && !restart && (RANK[known.state] > RANK[state] || (known.state === state && known.relays >= relays))) return undefined
    const status: MessageStatus = { state, relays: restart ? relays : Math.max(relays, known?.relays ?? 0), updatedAt: now }
    this.remember(id, status)
    return { op: { type: 'put', namespace: 'outbox', key: statusKey(messageId), value: jsonBytes(status) }, status }
  }
}
