/**
 * The messenger (DESIGN.md, Messages and Paths a message takes):
 * conversations with handles over sessions, the outbox and the two
 * delivery paths, receipts, attachments, backups; its events typed as one
 * union. It sees the network only through {@link DeliveryTransport} and the
 * DHT through the directory it is given: src/peer assembles it over libp2p,
 * tests over fakes.
 *
 * @example
 * ```ts
 * import { Messenger, onMessengerEvent } from './messenger/index.js'
 *
 * const messenger = new Messenger({ crypto, store, directory, transport, identity, relays: () => [] })
 * await messenger.start()
 * const off = messenger.on('status', (e) => { show(e.id, e.state) })
 * const { id } = await messenger.send('bob~k3x7abcd2q', { kind: 'text', text: 'hi' })
 * ```
 */
export {
  DEFAULT_DIRECT_TIMEOUT_MS, DEFAULT_FETCH_INTERVAL_MS, DEFAULT_RETENTION_MS, DEFAULT_RETRY_INTERVAL_MS, Messenger
} from './messenger.js'
export type { MessengerIdentity, MessengerInit, Recipient, SendResult } from './messenger.js'
export { MESSENGER_EVENT_TYPES, emitMessengerEvent, onMessengerEvent } from './events.js'
export type {
  AttachmentEvent, IncomingMessageEvent, KeyChangeEvent, MessengerEvent, MessengerEventOf, MessengerEventType,
  OutgoingMessageEvent, RelayRefusedEvent, StatusEvent, TypingEvent
} from './events.js'
export type { Custody, DeliveryTransport, MailboxItem, MailboxRef } from './transport.js'
export { DEFAULT_ATTACHMENT_LIMITS } from './attachment-transfer.js'
export type { AttachmentFile, AttachmentHost, AttachmentLimits, AttachmentSender, AttachmentState, AttachmentWait } from './attachment-transfer.js'
export type { Contact, ContactState } from './contacts.js'
export type { MessageStatus, SendState } from './outbox.js'
export type { RemoteDevice } from './devices.js'
export { BackupError, collectBackup, restoreBackup } from './backup.js'
export { BACKUP_VERSION, backupFileIds, decodeBackup, encodeBackup, openBackup, writeBackup } from './backup-format.js'
export type { BackupWriteOptions, OpenedBackup } from './backup-format.js'
export type { BackupContents, BackupEntry } from './backup.js'
export { bodyToJson, messageViewToJson, viewToJson } from './json.js'
export {
  BlockedContactError, DuplicateEnvelopeError, KeyChangedError, NoDeviceError, NotAuthorError, NotFailedError,
  RejectedEnvelopeError, SkipBudgetExceededError, UnconfirmedHandleError, UnknownMessageError, UnverifiedDeviceError
} from './errors.js'
export type { AttachmentDescriptor, ConversationView, Message, MessageBody, MessageView } from './model/index.js'
