/**
 * The messenger: conversations with handles, over sessions, the outbox and
 * the two delivery paths (DESIGN.md, Messages and Paths a message takes).
 *
 * Sending writes the message, its sealed envelope (outbox) and the new
 * session state in one synced batch, then tries the recipient device
 * directly and, failing that, hands the envelope to two relays. Receiving
 * stores the message, the session state and the envelope's de-duplication
 * marker in one synced batch before the sender is acknowledged.
 *
 * @example
 * ```ts
 * const messenger = new Messenger({ crypto, store, directory, transport, identity, relays })
 * await messenger.start()
 * const { id } = await messenger.send('bob', { kind: 'text', text: 'hi' })
 * messenger.on('message', (e) => { ... })
 * ```
 */
import type { PeerId } from '@libp2p/interface'
import { formatHandle } from '../identity/index.js'
import type { GroupCommitWriter } from '../store/index.js'
import { encodeMessage } from './model/index.js'
import type { ConversationView, Message, MessageBody } from './model/index.js'
import type { Contact, Contacts } from './contacts.js'
import type { Sessions } from './sessions.js'
import type { History } from './history.js'
import type { MessageStatus, Outbox } from './outbox.js'
import { encodePayload } from './payload.js'
import type { RemoteDevice } from './devices.js'
import type { Delivery } from './delivery.js'
import type { Recipient, RecipientOptions, Recipients } from './recipients.js'
import type { Inbox } from './inbox.js'
import type { Outgoing } from './outgoing.js'
import type { Mailboxes } from './mailboxes.js'
import type { AttachmentTransfer } from './attachment-transfer.js'
import type { Unsent } from './unsent.js'
import type { Resends } from './resends.js'
import type { Composer } from './composer.js'
import type { RequestBudget } from './request-budget.js'
import type { NetworkRelays, RelayRef } from './network-relays.js'
import { NotFailedError, UnknownMessageError } from './errors.js'
import { equalBytes, fromHex, toHex } from './bytes.js'
import { peerIdFromText } from './devices.js'
import { emitMessengerEvent, onMessengerEvent } from './events.js'
import type { MessengerEvent, MessengerEventOf, MessengerEventType } from './events.js'
import type { Commit } from './commit.js'
import { messengerParts } from './parts.js'
import type { MessengerInit, SendResult } from './init.js'
export type { Recipient } from './recipients.js'
export type { MessengerEvent } from './events.js'
export { DEFAULT_DIRECT_TIMEOUT_MS, DEFAULT_FETCH_INTERVAL_MS, DEFAULT_RETENTION_MS, DEFAULT_RETRY_INTERVAL_MS } from './init.js'
export type { MessengerIdentity, MessengerInit, SendResult } from './init.js'

/** The messenger of one device. */
export class Messenger extends EventTarget {
  readonly contacts: Contacts
  /** What message requests may make us keep. */
  readonly requests: RequestBudget
  readonly sessions: Sessions
  readonly history: History
  readonly outbox: Outbox
  readonly writer: GroupCommitWriter
  /**
   * Commits a batch, durably unless `sync: false` (for writes whose loss
   * only means work done again: a delivery state, an outbox entry already
   * acknowledged); on failure the cached sessions involved are dropped.
   */
  readonly commit: Commit
  readonly now: () => number
  readonly delivery: Delivery
  private readonly inbox: Inbox
  private readonly mailboxes: Mailboxes
  readonly attachments?: AttachmentTransfer
  readonly retryIntervalMs: number
  running = false
  /** Incoming messages stored since start, and when the last one was (performance.timeOrigin + now(), ms). */
  readonly received = { messages: 0, lastStoredAt: 0 }
  private readonly recipients: Recipients
  private readonly outgoing: Outgoing
  private readonly unsent: Unsent
  private readonly network: NetworkRelays
  private readonly resends: Resends
  private readonly composer: Composer

  constructor (readonly init: MessengerInit) {
    super()
    const parts = messengerParts(init, {
      emit: (event) => { this.emit(event) },
      running: () => this.running,
      send: async (handle, body) => await this.send(handle, body),
      sendToAccount: async (account, devices, body, kind) => await this.sendToAccount(account, devices, body, kind),
      enqueueChunk: async (account, devices, payload) => { await this.enqueueChunk(account, devices, payload) },
      resendPending: (identityKey, peer) => { this.resendPending(identityKey, peer) },
      pinnedDevice: async (peer, conversation) => await this.pinnedDevice(peer, conversation),
      onStored: (storedAt) => {
        this.received.messages++
        this.received.lastStoredAt = storedAt
      }
    })
    this.now = parts.now
    this.retryIntervalMs = parts.retryIntervalMs
    this.contacts = parts.contacts
    this.requests = parts.requests
    this.resends = parts.resends
    this.sessions = parts.sessions
    this.history = parts.history
    this.outbox = parts.outbox
    this.writer = parts.writer
    this.commit = parts.commit
    this.recipients = parts.recipients
    this.network = parts.network
    this.attachments = parts.attachments
    this.delivery = parts.delivery
    this.outgoing = parts.outgoing
    this.inbox = parts.inbox
    this.mailboxes = parts.mailboxes
    this.unsent = parts.unsent
    this.composer = parts.composer
  }

  /** Loads the outbox and starts delivering and reading mailboxes. */
  async start (): Promise<void> {
    this.running = true
    await this.delivery.start()
    this.mailboxes.start()
    // A restored backup's unsent messages, encrypted again under fresh sessions (unsent.ts).
    this.unsent.start()
    await this.attachments?.resumeAll()
  }

  async stop (): Promise<void> {
    this.running = false
    this.unsent.stop()
    await this.unsent.settled()
    this.mailboxes.stop()
    this.delivery.stop()
    this.attachments?.stop()
    await this.writer.flush()
  }

  /** Emits an event to listeners. */
  emit (event: MessengerEvent): void {
    emitMessengerEvent(this, event)
  }

  /** Listens for the events of one type, typed (see events.ts); returns the function that stops listening. */
  on<T extends MessengerEventType> (type: T, listener: (event: MessengerEventOf<T>) => void): () => void {
    return onMessengerEvent(this, type, listener)
  }

  /** Handles an envelope that arrived on the direct path (resolves once stored). */
  async receiveDirect (envelope: Uint8Array, from: PeerId): Promise<void> {
    await this.inbox.receive(envelope, 'direct', from)
  }

  /** A sign that a device is reachable (it connected to us): messages waiting for it are tried at once. */
  reachable (peer: PeerId): void {
    this.delivery.reachable(peer.toString())
  }

  /** Every relay we know in our network: our own, then those their signed relay sets name. */
  networkRelays (): RelayRef[] {
    return this.network.relays()
  }

  /** Reads the mailboxes now; resolves when that pass is over (a "refresh"). */
  async readMailboxes (): Promise<void> {
    await this.mailboxes.fetchNow()
  }

  /** Reads the mailboxes now (after a reconnect, say). */
  fetchSoon (): void {
    this.mailboxes.fetchSoon()
  }

  /**
   * Resolves (or recalls) a handle to one pinned account and its devices; see
   * {@link Recipients}. A bare name that is not a contact yet is refused
   * (UnconfirmedHandleError) unless `confirm`.
   */
  async recipient (handle: string, options: RecipientOptions = {}): Promise<Recipient> {
    return this.recipients.recipient(handle, options)
  }

  /**
   * Opens a conversation by handle. A bare name that is not a contact yet is
   * refused with the `name~tag` and fingerprint it resolves to
   * (UnconfirmedHandleError), unless `confirm`, which pins it (only if it
   * still resolves to `expect`, when given); any other handle is returned as
   * given, nothing resolved. Returns the handle to use.
   */
  async open (handle: string, options: RecipientOptions = {}): Promise<{ handle: string }> {
    if (handle.includes('~') || await this.contacts.alias(handle) != null) return { handle }
    return { handle: (await this.recipient(handle, options)).handle }
  }

  /** A device we learned about (or, with its account, a contact's kept record of it), refreshed from the DHT when asked. */
  async device (peerId: PeerId, refresh = false, account?: Uint8Array, options: { dht?: boolean } = {}): Promise<RemoteDevice | undefined> {
    return this.recipients.device(peerId, refresh, account, options)
  }

  /**
   * A device of a conversation's pinned contact, with prekeys to start a
   * session: its current record if the DHT has it, else the contact's kept
   * one; only while its identity key is the pinned one and the contact is
   * neither blocked nor waiting for a trust decision.
   */
  private async pinnedDevice (peer: string, conversation: Uint8Array): Promise<RemoteDevice | undefined> {
    const contact = await this.contacts.get(conversation)
    if (contact == null || contact.keyChange != null || contact.state === 'blocked') return undefined
    const peerId = peerIdFromText(peer)
    for (const device of [await this.device(peerId, true), await this.device(peerId, false, conversation, { dht: false })]) {
      if (device?.bundle != null && contact.devices[peer] === toHex(device.identityKey)) return device
    }
    return undefined
  }

  /**
   * Accepts a message request (or confirms a contact): its sender may write
   * to us from now on, and the attachments it sent as a request, whose
   * chunks were not kept, are fetched now. Undefined if `account` is no
   * contact or request.
   */
  async accept (account: Uint8Array): Promise<Contact | undefined> {
    const contact = await this.contacts.setState(account, 'accepted')
    if (contact != null) await this.attachments?.accepted(account)
    return contact
  }

  /**
   * Sends a message body to a handle; resolves once it is stored in the
   * outbox. To our own handle it is a Note to Self (composer.ts).
   */
  async send (handle: string, body: MessageBody): Promise<SendResult> {
    if (await this.isSelf(handle)) return await this.composer.noteToSelf(body, this.handle)
    const to = await this.recipient(handle)
    await this.composer.checkTarget(to.account, body)
    // Writing to someone whose message request is pending accepts it, as a
    // reply does in other messengers (receipts and typing, which go out by
    // themselves, do not). Whether the contact was pinned through a fresh
    // resolution or, with the DHT slow, from what is kept, must not matter.
    if (to.contact.state === 'request' && body.kind !== 'delivered' && body.kind !== 'read' && body.kind !== 'typing') await this.accept(to.account)
    const message = await this.compose(to.account, body)
    await this.enqueue(to.account, to.devices, message, body.kind === 'delivered' || body.kind === 'read' ? 'receipt' : 'content')
    return { id: toHex(message.id), handle: to.handle, state: 'queued' }
  }

  /**
   * Sends a message that failed (its retention ran out undelivered) once
   * more: encrypted again for the contact's devices under new envelope ids,
   * the same message id (a recipient that has it keeps one copy), queued
   * again.
   */
  async resend (id: Uint8Array): Promise<SendResult> {
    const found = await this.history.find(id)
    if (found == null || !equalBytes(found.message.author.account, this.init.identity.accountPublicKey)) throw new UnknownMessageError(`no message ${toHex(id)} of yours`)
    const state = (await this.outbox.status(id))?.state
    if (state !== 'failed') throw new NotFailedError(`message ${toHex(id)} is ${state ?? 'not sent'}: only a failed message is sent again`)
    const contact = await this.contacts.get(found.conversation)
    if (contact == null) throw new UnknownMessageError(`no contact for the conversation of message ${toHex(id)}`)
    const to = await this.recipient(contact.handle)
    const status = await this.outbox.statusOp(id, 'queued', 0, this.now(), false, { again: true })
    const plaintext = encodePayload(this.init.identity.handleName, encodeMessage(found.message))
    await this.outgoing.plaintext(found.conversation, to.devices, plaintext, id, 'content', status != null ? [status.op] : [])
    this.emit({ type: 'status', id: toHex(id), conversation: toHex(found.conversation), state: 'queued', relays: 0 })
    return { id: toHex(id), handle: to.handle, state: 'queued' }
  }

  /**
   * A device started a new session with us while we had one with it: what
   * waits for it is encrypted again under the new session (resends.ts).
   */
  resendPending (identityKey: Uint8Array, peer: PeerId): void {
    this.resends.request(identityKey, peer)
  }

  /** Sends to a known account (replies to requests, receipts). */
  async sendToAccount (account: Uint8Array, devices: RemoteDevice[], body: MessageBody, kind: 'content' | 'receipt'): Promise<Message> {
    const message = await this.compose(account, body)
    await this.enqueue(account, devices, message, kind)
    return message
  }

  /** Builds a message from this device with the conversation's next Lamport counter (composer.ts). */
  async compose (conversation: Uint8Array, body: MessageBody): Promise<Message> {
    return await this.composer.compose(conversation, body)
  }

  /** Encrypts a message for every device and queues it (composer.ts). */
  async enqueue (conversation: Uint8Array, devices: RemoteDevice[], message: Message, kind: 'content' | 'receipt'): Promise<void> {
    await this.composer.enqueue(conversation, devices, message, kind)
  }

  /** Queues one encrypted attachment chunk for each device (composer.ts). */
  async enqueueChunk (conversation: Uint8Array, devices: RemoteDevice[], chunk: Uint8Array): Promise<void> {
    await this.composer.enqueueChunk(conversation, devices, chunk)
  }

  /** The conversation with a handle, as both sides see it, plus our messages' delivery states. */
  async conversation (handle: string): Promise<{ handle: string, account: string, view: ConversationView, statuses: Record<string, MessageStatus> }> {
    const account = await this.accountOf(handle)
    const view = await this.history.view(account)
    const statuses: Record<string, MessageStatus> = {}
    for (const m of view.messages) {
      if (!equalBytes(m.author.account, this.init.identity.accountPublicKey)) continue
      const status = await this.outbox.status(fromHex(m.id))
      if (status != null) statuses[m.id] = status
    }
    const contact = await this.contacts.get(account)
    return { handle: contact?.handle ?? handle, account: toHex(account), view, statuses }
  }

  /**
   * Whether `handle` names this account: our `name~tag`, or our bare name
   * when no contact is pinned under it (a contact's alias wins: that is who
   * the user means).
   */
  async isSelf (handle: string): Promise<boolean> {
    if (handle === this.handle) return true
    return handle === this.init.identity.handleName && await this.contacts.alias(handle) == null
  }

  /** The account of a handle: a contact's pinned account, else a fresh resolution. */
  async accountOf (handle: string): Promise<Uint8Array> {
    if (await this.isSelf(handle)) return this.init.identity.accountPublicKey
    if (!handle.includes('~')) {
      const pinned = await this.contacts.alias(handle)
      if (pinned != null) return pinned
    } else {
      for (const c of await this.contacts.list()) if (c.handle === handle) return fromHex(c.account)
    }
    return (await this.init.directory.resolveOne(handle)).accountKey
  }

  /**
   * Marks every incoming message of a conversation read and, unless
   * `receipt: false` (the user turned read receipts off), tells the sender.
   */
  async markRead (handle: string, options: { receipt?: boolean } = {}): Promise<number> {
    if (await this.isSelf(handle)) return 0
    const to = await this.recipient(handle)
    const ids = await this.inbox.unread(to.account)
    if (ids.length === 0) return 0
    if (options.receipt !== false) await this.sendToAccount(to.account, to.devices, { kind: 'read', ids: [...ids] }, 'receipt')
    await this.inbox.markRead(ids)
    return ids.length
  }

  /** How many incoming messages of a conversation (an account key) are not marked read yet. */
  async unreadCount (conversation: Uint8Array): Promise<number> {
    return (await this.inbox.unread(conversation)).length
  }

  /** Sends a typing indicator (direct only; nothing is stored). */
  async typing (handle: string, on: boolean): Promise<void> {
    if (await this.isSelf(handle)) return
    const to = await this.recipient(handle)
    const message = await this.compose(to.account, { kind: 'typing', on })
    await this.delivery.sendEphemeral(to.account, to.devices, message)
  }

  /**
   * Accepts the keys a handle has now: clears the warning, unblocks sending.
   * A bare name pins only an account the user has seen under it (see
   * Recipients.trust); `expect` is the `name~tag` the user confirmed for it.
   */
  async trust (handle: string, options: { expect?: string } = {}): Promise<Contact> {
    return await this.recipients.trust(handle, options)
  }

  /** Our canonical handle. */
  get handle (): string {
    return formatHandle(this.init.identity.handleName, this.init.identity.tag)
  }
}
