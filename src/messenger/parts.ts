/**
 * The messenger's parts, built in dependency order, each given the few
 * collaborators it uses (STYLE.md: no part reaches through the whole
 * messenger): stores first, then who people are (recipients) and which
 * relays make our network, then attachments, delivery, the way out
 * (outgoing), the way in (inbox) and the mailboxes that feed it, and the
 * restored messages still to encrypt (unsent). What only the messenger as a
 * whole does (compose and send a message, resend under a new session) is
 * handed in as {@link MessengerOperations}.
 */
import type { PeerId } from '@libp2p/interface'
import { GroupCommitWriter, watchWrites } from '../store/index.js'
import { Composer } from './composer.js'
import type { WriteObserver } from '../store/index.js'
import { encodeMessage } from './model/index.js'
import type { Message, MessageBody } from './model/index.js'
import { Contacts } from './contacts.js'
import { RequestBudget } from './request-budget.js'
import { Resends } from './resends.js'
import { Sessions } from './sessions.js'
import { History } from './history.js'
import { Outbox } from './outbox.js'
import { Recipients } from './recipients.js'
import { NetworkRelays } from './network-relays.js'
import { AttachmentTransfer } from './attachment-transfer.js'
import { Delivery } from './delivery.js'
import { Outgoing } from './outgoing.js'
import { Inbox } from './inbox.js'
import { Mailboxes } from './mailboxes.js'
import { Unsent } from './unsent.js'
import { encodePayload } from './payload.js'
import { committer } from './commit.js'
import type { Commit } from './commit.js'
import type { RemoteDevice } from './devices.js'
import type { MessengerEvent } from './events.js'
import { DEFAULT_DIRECT_TIMEOUT_MS, DEFAULT_FETCH_INTERVAL_MS, DEFAULT_RETENTION_MS, DEFAULT_RETRY_INTERVAL_MS } from './init.js'
import type { MessengerInit, SendResult } from './init.js'

/** What the messenger as a whole does, for the parts that call back into it. */
export interface MessengerOperations {
  emit(event: MessengerEvent): void
  /** False once stopped. */
  running(): boolean
  /** Composes and sends a message to a handle (an attachment's descriptor). */
  send(handle: string, body: MessageBody): Promise<SendResult>
  /** Composes and sends to a known account's devices (delivery receipts). */
  sendToAccount(account: Uint8Array, devices: RemoteDevice[], body: MessageBody, kind: 'content' | 'receipt'): Promise<Message>
  /** Queues one encrypted attachment chunk for each device. */
  enqueueChunk(account: Uint8Array, devices: RemoteDevice[], payload: Uint8Array): Promise<void>
  /** A device restarted its session with us: what waits for it goes again under the new one. */
  resendPending(identityKey: Uint8Array, peer: PeerId): void
  /** A device of a conversation's pinned contact, with prekeys to start a session. */
  pinnedDevice(peer: string, conversation: Uint8Array): Promise<RemoteDevice | undefined>
  /** A message was stored (performance.timeOrigin + performance.now(), ms). */
  onStored(storedAt: number): void
}

/** The parts of one messenger. */
export interface MessengerParts {
  now: () => number
  retryIntervalMs: number
  contacts: Contacts
  /** What message requests may make us keep. */
  requests: RequestBudget
  sessions: Sessions
  history: History
  outbox: Outbox
  writer: GroupCommitWriter
  commit: Commit
  recipients: Recipients
  network: NetworkRelays
  attachments?: AttachmentTransfer
  delivery: Delivery
  outgoing: Outgoing
  inbox: Inbox
  mailboxes: Mailboxes
  unsent: Unsent
  /** Messages sent again under a device's new session. */
  resends: Resends
  /** Message bodies made into messages and put on their way. */
  composer: Composer
}

/** Builds the parts of a messenger from its init, in dependency order. */
export function messengerParts (init: MessengerInit, ops: MessengerOperations): MessengerParts {
  const { crypto, identity, transport } = init
  // Every part writes through `store`, so that the caches of what was read hear of each write (history.ts, receipts.ts).
  const observers: WriteObserver[] = []
  const store = watchWrites(init.store, (written) => { for (const observe of observers) observe(written) })
  const history = new History(init.store)
  observers.push((written) => { history.written(written) })
  const now = init.now ?? Date.now
  const retryIntervalMs = init.retryIntervalMs ?? DEFAULT_RETRY_INTERVAL_MS
  const retentionMs = init.retentionMs ?? DEFAULT_RETENTION_MS
  const emit = ops.emit
  const contacts = new Contacts(store, now)
  const requests = new RequestBudget(contacts, init.requestLimits)
  contacts.onStateChange = (before, after) => { requests.changed(before, after) }
  const sessions = new Sessions(store, crypto)
  const outbox = new Outbox(store)
  const writer = new GroupCommitWriter(store, { sync: true })
  const commit = committer(writer, sessions)
  contacts.write = async (written) => { await commit(written) }
  const recipients = new Recipients({ directory: init.directory, contacts, now, emit })
  const device = async (peerId: PeerId, refresh?: boolean, account?: Uint8Array, options?: { dht?: boolean }): Promise<RemoteDevice | undefined> =>
    await recipients.device(peerId, refresh, account, options)
  const network = new NetworkRelays({ transport, ownRelays: () => init.relays(), now })
  const attachments = init.attachments == null
    ? undefined
    : new AttachmentTransfer({
      crypto,
      store,
      commit,
      emit,
      now,
      retryIntervalMs,
      running: ops.running,
      contacts,
      recipient: async (handle) => await recipients.recipient(handle),
      send: ops.send,
      enqueueChunk: ops.enqueueChunk,
      device
    }, init.attachments, init.attachmentLimits)
  const delivery = new Delivery({
    crypto, identity, transport, outbox, sessions, history, commit, emit, now, device, relays: () => network.relays()
  }, { retentionMs, retryIntervalMs, directTimeoutMs: init.directTimeoutMs ?? DEFAULT_DIRECT_TIMEOUT_MS })
  const outgoing = new Outgoing({ crypto, identity, sessions, outbox, history, writer, commit, delivery, now })
  const inbox = new Inbox({
    crypto,
    identity,
    directory: init.directory,
    store,
    history,
    sessions,
    contacts,
    requests,
    delivery,
    attachments,
    commit,
    emit,
    now,
    restarted: ops.resendPending,
    onStored: ops.onStored,
    skipBudget: init.skipBudget,
    firstMessageBudget: init.firstMessageBudget
  })
  observers.push((written) => { inbox.written(written) })
  const mailboxes = new Mailboxes({
    transport,
    network,
    inbox,
    history,
    contacts,
    sessions,
    crypto,
    device,
    sendReceipt: async (account, devices, body) => await ops.sendToAccount(account, devices, body, 'receipt'),
    now
  }, { fetchIntervalMs: init.fetchIntervalMs ?? DEFAULT_FETCH_INTERVAL_MS })
  const unsent = new Unsent({
    store,
    retryIntervalMs,
    retentionMs,
    now,
    device: ops.pinnedDevice,
    resend: async (conversation, devices, message, extra) => {
      await outgoing.plaintext(conversation, devices, encodePayload(identity.handleName, encodeMessage(message)), message.id, 'content', extra)
    },
    expireOp: async (message) => (await outbox.statusOp(message.id, 'failed', 0, now()))?.op
  })
  const resends = new Resends({
    pendingFor: (identityKey) => delivery.pendingFor(identityKey),
    drop: async (entries) => { await delivery.drop(entries) },
    find: async (id) => await history.find(id),
    device: async (peer, conversation) => await device(peer, false, conversation, { dht: false }),
    send: async (conversation, to, message) => {
      await outgoing.plaintext(conversation, [to], encodePayload(identity.handleName, encodeMessage(message)), message.id, 'content', [])
    }
  })
  const composer = new Composer({ crypto, identity, history, outbox, outgoing, commit, emit, now })
  return { now, retryIntervalMs, contacts, requests, sessions, history, outbox, writer, commit, recipients, network, attachments, delivery, outgoing, inbox, mailboxes, unsent, resends, composer }
}
