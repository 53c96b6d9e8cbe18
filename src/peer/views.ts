/**
 * What a user is shown, as plain JSON (bytes as hex), the same for the
 * CLI's daemon API and the web app: who this device is, how it is
 * connected, a conversation's history with each message's delivery state,
 * the safety number of a contact, the contact list, a handle's resolution.
 */
import type { Crypto } from '../crypto/index.js'
import { safetyNumber } from '../crypto/safety-number.js'
import { formatHandle } from '../identity/index.js'
import { accountFingerprint } from '../net/directory.js'
import type { Resolution } from '../net/directory.js'
import type { ReservationStatus } from '../net/reservations.js'
import { messageViewToJson } from '../messenger/index.js'
import type { AttachmentState, Contact, Messenger, SendState } from '../messenger/index.js'
import { fromHex, toHex } from '../messenger/bytes.js'
import type { LocalIdentity } from './identity.js'

/** Who this device is. */
export interface WhoAmI {
  /** Canonical `name~tag`. */
  handle: string
  name: string
  tag: string
  peerId: string
  /** Digest of the account key, as others are shown it on first contact. */
  fingerprint: string
  multiaddrs: string[]
}

/** One attachment request this device served: which chunk ranges a peer asked for. */
export interface ServedRequest {
  peer: string
  id: string
  ranges: Array<[number, number]>
}

/** How the device is connected and what it is doing. */
export interface PeerStatus {
  peerId: string
  connections: Array<{ peerId: string, addr: string, direction: string, limited: boolean }>
  reservations: ReservationStatus[]
  routingTableSize: number
  published: { at: number, expiresAt: number, seq: number } | null
  publishError: string | null
  /** Outbox entries waiting. */
  outbox: number
  /** Of those, entries no relay holds yet. */
  unrelayed: number
  /** Incoming messages stored since start, and when the last one was. */
  received: { messages: number, lastStoredAt: number }
  /** The latest attachment requests served. */
  attachmentRequests: ServedRequest[]
  multiaddrs: string[]
}

/**
 * One message of a history: the timeline entry, and for our own messages
 * their delivery state, `sendState` (the only state field: no `status`).
 */
export type HistoryEntry = Record<string, unknown> & {
  id: string
  /** Our messages: queued, relayed (held by `relays` relays), delivered, read, failed. */
  sendState?: SendState
  relays?: number
  /** For an attachment message: how far each file got on this device, in the order of `attachments`. */
  attachmentStates?: AttachmentState[]
  /** The first of `attachmentStates` (for readers from before messages carried several files). */
  attachmentState?: AttachmentState
}

/** A conversation as shown. */
export interface HistoryView {
  /** The contact's canonical handle. */
  handle: string
  /** The contact's account key, hex. */
  account: string
  /** Our own conversation (Note to Self): every message in it is ours. */
  self: boolean
  messages: HistoryEntry[]
  /** Ids of edits, deletes, reactions and receipts waiting for their target. */
  waiting: string[]
}

/** A contact's safety number (Signal's 60 digits) and its QR payload. */
export interface SafetyNumberView {
  handle: string
  digits: string
  /** The scannable form (hex), for a QR code. */
  qr: string
  keyChange: Contact['keyChange'] | null
}

/** One contact or message request. */
export interface ContactView {
  handle: string
  state: Contact['state']
  keyChange: Contact['keyChange'] | null
  /** Device peer ids. */
  devices: string[]
}

/** A handle's resolution (bare names may have several claims). */
export interface ResolutionView {
  query: string
  unique: boolean
  claims: Array<{
    handle: string
    fingerprint: string
    /** Account key, hex. */
    accountKey: string
    devices: Array<{ peerId: string, addrs: string[], online: boolean }>
  }>
}

/** Who `identity` is, listening on `multiaddrs`. */
export function whoamiView (crypto: Crypto, identity: LocalIdentity, multiaddrs: string[]): WhoAmI {
  return {
    handle: formatHandle(identity.handleName, identity.tag),
    name: identity.handleName,
    tag: identity.tag,
    peerId: identity.peerId.toString(),
    fingerprint: accountFingerprint(crypto, identity.accountPublicKey),
    multiaddrs
  }
}

/**
 * The conversation with `handle`: its timeline, our messages' delivery
 * states and attachments' progress; the last `limit` messages when given.
 */
export async function historyView (messenger: Messenger, handle: string, limit?: number): Promise<HistoryView> {
  const c = await messenger.conversation(handle)
  const messages = await Promise.all(c.view.messages.map(async (m): Promise<HistoryEntry> => {
    const states: AttachmentState[] = []
    for (const a of m.attachments ?? []) {
      const state = await messenger.attachments?.state(a.id)
      if (state != null) states.push(state)
    }
    const status = c.statuses[m.id]
    // One state per message: the model's coarse `status` (`sent` for every
    // message, incoming ones too) is left out beside `sendState`.
    const json = messageViewToJson(m)
    delete json.status
    return {
      ...json,
      id: m.id,
      sendState: status?.state,
      relays: status?.relays,
      ...(states.length > 0 ? { attachmentStates: states, attachmentState: states[0] } : {})
    }
  }))
  return {
    handle: c.handle,
    account: c.account,
    self: c.account === toHex(messenger.init.identity.accountPublicKey),
    messages: limit != null && limit > 0 ? messages.slice(-limit) : messages,
    waiting: c.view.waiting
  }
}

/** The safety number of this account and `handle`'s (pinned, else resolved). */
export async function safetyNumberView (messenger: Messenger, crypto: Crypto, handle: string): Promise<SafetyNumberView> {
  const account = await messenger.accountOf(handle)
  const fp = safetyNumber(crypto, messenger.init.identity.accountPublicKey, account)
  const contact = await messenger.contacts.get(account)
  return { handle: contact?.handle ?? handle, digits: fp.digits, qr: toHex(fp.scannable), keyChange: contact?.keyChange ?? null }
}

/** A contact as shown. */
export function contactView (c: Contact): ContactView {
  return { handle: c.handle, state: c.state, keyChange: c.keyChange ?? null, devices: Object.keys(c.devices) }
}

/** Every contact and message request. */
export async function contactsView (messenger: Messenger): Promise<ContactView[]> {
  return (await messenger.contacts.list()).map(contactView)
}

/** One conversation in a list: who, whether a request or blocked, unread count, the last message. */
export interface ConversationSummary extends ContactView {
  /** The contact's account key, hex. */
  account: string
  /** Incoming messages not marked read. */
  unread: number
  /** The newest timeline message, if any. */
  last?: { id: string, kind: string, text?: string, deleted: boolean, timestamp: number, mine: boolean }
}

/** How a message of files reads in a list: the first name, and how many more. */
function attachmentsSummary (list: Array<{ fileName: string }> | undefined): string | undefined {
  if (list == null || list.length === 0) return undefined
  return list.length === 1 ? list[0].fileName : `${list[0].fileName} and ${list.length - 1} more`
}

/**
 * Every contact and message request with its unread count and newest
 * message, the conversation with the newest message first.
 */
export async function conversationsView (messenger: Messenger): Promise<ConversationSummary[]> {
  const me = toHex(messenger.init.identity.accountPublicKey)
  const out: ConversationSummary[] = []
  for (const c of await messenger.contacts.list()) {
    const account = fromHex(c.account)
    const messages = (await messenger.history.view(account)).messages
    const m = messages.at(-1)
    out.push({
      ...contactView(c),
      account: c.account,
      unread: await messenger.unreadCount(account),
      ...(m != null
        ? { last: { id: m.id, kind: m.kind, text: m.text ?? attachmentsSummary(m.attachments), deleted: m.deleted, timestamp: m.timestamp, mine: toHex(m.author.account) === me } }
        : {})
    })
  }
  return out.sort((a, b) => (b.last?.timestamp ?? 0) - (a.last?.timestamp ?? 0))
}

/** A resolution as shown. */
export function resolutionView (r: Resolution): ResolutionView {
  return {
    query: r.query,
    unique: r.unique,
    claims: r.claims.map(c => ({
      handle: c.handle,
      fingerprint: c.fingerprint,
      accountKey: toHex(c.accountKey),
      devices: c.devices.map(d => ({ peerId: d.peerId.toString(), addrs: d.addrs, online: d.record != null }))
    }))
  }
}

