/**
 * The conversation reducer: from the set of messages of one conversation
 * (sent and received, in any order, possibly duplicated) to the view both
 * peers show. A pure function of the set: the same messages give the same
 * view on every peer, whatever order they arrived in.
 *
 * Rules:
 * - Timeline: text, reply, attachment and call messages, ordered by
 *   (lamport, author account, id) ({@link compareMessages}).
 * - Replies resolve to their target when it is a timeline message that comes
 *   earlier; otherwise the reply is kept and marked `found: false`.
 * - Reactions: per target, per person (account), per emoji, the last
 *   reaction in conversation order wins (add or remove).
 * - Edits: only the author's account may edit; the text history is kept.
 * - Delete for everyone: only the author's account; the content goes, a
 *   tombstone stays.
 * - Receipts from anyone but the author move a message sent -> delivered -> read.
 * - Edits, deletes, reactions and receipts whose target is not known yet wait
 *   (listed in `waiting`) and apply once the target is in the set.
 * - Typing indicators are ephemeral and ignored here.
 */
import { compare } from 'uint8arrays/compare'
import { encodeMessage } from './codec.js'
import { idToHex } from './ids.js'
import { compareMessages } from './order.js'
import type { AttachmentDescriptor, Author, CallBody, Message } from './types.js'

/** Delivery state of a message, as receipts from others report it. */
export type DeliveryStatus = 'sent' | 'delivered' | 'read'

/** One version of a message's text (or caption). */
export interface TextVersion {
  /** Id (hex) of the message that set this text: the original, then each edit. */
  id: string
  text: string
  lamport: number
  timestamp: number
}

/** People (account keys, hex, sorted) who reacted with one emoji. */
export interface ReactionView {
  emoji: string
  by: string[]
}

/** A timeline entry. */
export interface MessageView {
  /** Message id, hex. */
  id: string
  author: Author
  timestamp: number
  lamport: number
  kind: 'text' | 'reply' | 'attachment' | 'call'
  /** Current text (text, reply) or caption (attachment); absent once deleted. */
  text?: string
  /** The files of an attachment message, in the order sent (one or more). */
  attachments?: AttachmentDescriptor[]
  call?: Omit<CallBody, 'kind'>
  /** For replies: the target id (hex) and whether it is an earlier timeline message. */
  replyTo?: { id: string, found: boolean }
  /** Every version of the text, oldest first (empty once deleted, or for calls). */
  history: TextVersion[]
  edited: boolean
  /** Deleted for everyone: only this tombstone is left. */
  deleted: boolean
  /** Sorted by emoji. */
  reactions: ReactionView[]
  status: DeliveryStatus
  /** Accounts (hex, sorted) that acknowledged delivery or read it. */
  deliveredTo: string[]
  /** Accounts (hex, sorted) that read it. */
  readBy: string[]
}

/** What a peer shows for one conversation. */
export interface ConversationView {
  messages: MessageView[]
  /** Ids (hex, sorted) of edits, deletes, reactions and receipts waiting for their target. */
  waiting: string[]
  /** Ids (hex, sorted) of edits, deletes and reactions that break a rule (not the author, wrong kind of target). */
  refused: string[]
}

interface Entry {
  message: Message
  view: MessageView
  reactions: Map<string, { emoji: string, account: string, add: boolean }>
  deliveredTo: Set<string>
  readBy: Set<string>
}

const TIMELINE_KINDS = new Set(['text', 'reply', 'attachment', 'call'])

/** Of two different messages with the same id, the one every peer keeps. */
function preferred (a: Message, b: Message): Message {
  const byOrder = compareMessages(a, b)
  if (byOrder !== 0) return byOrder < 0 ? a : b
  return compare(encodeMessage(a), encodeMessage(b)) <= 0 ? a : b
}

/** Unique messages with their hex ids, in conversation order. */
function dedupe (messages: Iterable<Message>): Array<{ m: Message, hex: string }> {
  const byId = new Map<string, Message>()
  for (const m of messages) {
    const key = idToHex(m.id)
    const seen = byId.get(key)
    byId.set(key, seen == null || seen === m ? m : preferred(seen, m))
  }
  return [...byId.entries()].map(([hex, m]) => ({ m, hex })).sort((a, b) => compareMessages(a.m, b.m))
}

function newEntry (m: Message, hex: string): Entry {
  const view: MessageView = {
    id: hex,
    author: m.author,
    timestamp: m.timestamp,
    lamport: m.lamport,
    kind: m.body.kind as MessageView['kind'],
    history: [],
    edited: false,
    deleted: false,
    reactions: [],
    status: 'sent',
    deliveredTo: [],
    readBy: []
  }
  const version = (text: string): TextVersion => ({ id: view.id, text, lamport: m.lamport, timestamp: m.timestamp })
  const body = m.body
  if (body.kind === 'text') {
    view.text = body.text
    view.history.push(version(body.text))
  } else if (body.kind === 'reply') {
    view.text = body.text
    view.history.push(version(body.text))
    view.replyTo = { id: idToHex(body.target), found: false }
  } else if (body.kind === 'attachment') {
    view.attachments = body.attachments
    const caption = body.attachments[0]?.caption
    if (caption !== undefined) {
      view.text = caption
      view.history.push(version(caption))
    }
  } else if (body.kind === 'call') {
    view.call = { outcome: body.outcome, durationMs: body.durationMs, video: body.video }
  }
  return { message: m, view, reactions: new Map(), deliveredTo: new Set(), readBy: new Set() }
}

function sameAccount (a: Author, b: Author): boolean {
  return compare(a.account, b.account) === 0
}

/** Builds the view of one conversation from all its messages. */
export function reduceConversation (messages: Iterable<Message>): ConversationView {
  const sorted = dedupe(messages)
  const timeline = new Map<string, Entry>()
  const known = new Set<string>()
  for (const { m, hex } of sorted) {
    known.add(hex)
    if (TIMELINE_KINDS.has(m.body.kind)) timeline.set(hex, newEntry(m, hex))
  }
  const waiting = new Set<string>()
  const refused = new Set<string>()

  // Target of an edit, delete or reaction: a timeline entry, or it waits / is refused.
  const target = (hex: string, id: Uint8Array): Entry | undefined => {
    const targetHex = idToHex(id)
    const entry = timeline.get(targetHex)
    if (entry == null) (known.has(targetHex) ? refused : waiting).add(hex)
    return entry
  }

  // Deletes first: a delete wins over every edit and reaction, whatever their order.
  for (const { m, hex } of sorted) {
    if (m.body.kind !== 'delete') continue
    const entry = target(hex, m.body.target)
    if (entry == null) continue
    if (!sameAccount(entry.message.author, m.author)) {
      refused.add(hex)
      continue
    }
    entry.view.deleted = true
  }

  for (const { m, hex } of sorted) {
    const body = m.body
    if (body.kind === 'edit') {
      const entry = target(hex, body.target)
      if (entry == null || entry.view.deleted) continue
      // Only the author, only text-bearing messages (an attachment's caption), only after the original.
      if (!sameAccount(entry.message.author, m.author) || entry.view.kind === 'call' || compareMessages(entry.message, m) >= 0) {
        refused.add(hex)
        continue
      }
      entry.view.text = body.text
      entry.view.edited = true
      entry.view.history.push({ id: hex, text: body.text, lamport: m.lamport, timestamp: m.timestamp })
    } else if (body.kind === 'reaction') {
      const entry = target(hex, body.target)
      if (entry == null || entry.view.deleted) continue
      const account = idToHex(m.author.account)
      // Messages are visited in order, so the last one seen is the last writer.
      entry.reactions.set(`${account} ${body.emoji}`, { emoji: body.emoji, account, add: body.action === 'add' })
    } else if (body.kind === 'delivered' || body.kind === 'read') {
      const from = idToHex(m.author.account)
      for (const id of body.ids) {
        const targetHex = idToHex(id)
        const entry = timeline.get(targetHex)
        if (entry == null) {
          if (!known.has(targetHex)) waiting.add(hex)
          continue
        }
        if (sameAccount(entry.message.author, m.author)) continue
        entry.deliveredTo.add(from)
        if (body.kind === 'read') entry.readBy.add(from)
      }
    }
  }

  const views: MessageView[] = []
  for (const entry of timeline.values()) {
    views.push(finish(entry, timeline))
  }
  return { messages: views, waiting: [...waiting].sort(), refused: [...refused].sort() }
}

function finish (entry: Entry, timeline: Map<string, Entry>): MessageView {
  const view = entry.view
  view.deliveredTo = [...entry.deliveredTo].sort()
  view.readBy = [...entry.readBy].sort()
  view.status = view.readBy.length > 0 ? 'read' : view.deliveredTo.length > 0 ? 'delivered' : 'sent'
  if (view.deleted) {
    delete view.text
    delete view.attachments
    delete view.call
    delete view.replyTo
    view.history = []
    view.edited = false
    return view
  }
  if (view.replyTo != null) {
    const replied = timeline.get(view.replyTo.id)
    view.replyTo.found = replied != null && compareMessages(replied.message, entry.message) < 0
  }
  const byEmoji = new Map<string, string[]>()
  for (const r of entry.reactions.values()) {
    if (!r.add) continue
    const list = byEmoji.get(r.emoji) ?? []
    list.push(r.account)
    byEmoji.set(r.emoji, list)
  }
  view.reactions = [...byEmoji.entries()]
    .map(([emoji, by]) => ({ emoji, by: by.sort() }))
    .sort((a, b) => (a.emoji < b.emoji ? -1 : a.emoji > b.emoji ? 1 : 0))
  return view
}
