/**
 * What a messenger is made from (its init), its defaults, and what its
 * sending operations return: apart from messenger.ts so that its parts can
 * name them without importing the messenger.
 */
import type { PeerId } from '@libp2p/interface'
import type { Crypto, KeyPair } from '../crypto/index.js'
import type { PrekeyState } from '../crypto/prekeys.js'
import type { Directory } from '../net/directory.js'
import type { Store } from '../store/index.js'
import type { MessageStatus } from './outbox.js'
import type { RemoteDevice } from './devices.js'
import type { AttachmentHost, AttachmentLimits } from './attachment-transfer.js'
import type { DeliveryTransport } from './transport.js'
import type { SkipBudgetInit } from './skip-budget.js'
import type { BucketInit } from './token-bucket.js'
import type { RequestLimits } from './request-budget.js'

/** How long relays hold a message before its sender is told it expired. */
export const DEFAULT_RETENTION_MS = 30 * 24 * 60 * 60_000
/** How often the mailboxes are read when nothing else triggers it. */
export const DEFAULT_FETCH_INTERVAL_MS = 30_000
/** How soon a failed send is tried again. */
export const DEFAULT_RETRY_INTERVAL_MS = 5_000
/** How long one direct attempt may take. */
export const DEFAULT_DIRECT_TIMEOUT_MS = 5_000

/** This device, as the messenger needs it. */
export interface MessengerIdentity {
  handleName: string
  tag: string
  accountSecretKey: Uint8Array
  accountPublicKey: Uint8Array
  peerId: PeerId
  identityKey: KeyPair
  identityKeySignature: Uint8Array
  prekeys(): PrekeyState
  /**
   * This device's latest signed device record, if one was made yet: the
   * first messages of a session carry it, so that the recipient can check
   * that our account vouches for this device (payload.ts).
   */
  deviceRecord?(): Uint8Array | undefined
}

export interface MessengerInit {
  crypto: Crypto
  store: Store
  directory: Pick<Directory, 'resolve' | 'resolveOne' | 'lookupDevice'>
  transport: DeliveryTransport
  identity: MessengerIdentity
  /** Our relays: where our mailbox is read, and where we hand envelopes when the recipient's are unknown. */
  relays(): Array<{ peerId: PeerId, addrs: RemoteDevice['addrs'] }>
  now?(): number
  retentionMs?: number
  fetchIntervalMs?: number
  retryIntervalMs?: number
  directTimeoutMs?: number
  /** What message requests may keep until accepted (defaults in request-budget.ts). */
  requestLimits?: Partial<RequestLimits>
  /** Where attachments live and how to pull them (absent: attachments refused). */
  attachments?: AttachmentHost
  /** Skipped message keys senders may make us derive (default DEFAULT_SKIP_BUDGET). */
  skipBudget?: SkipBudgetInit
  /** First messages (PQXDH) answered for strangers, all together (default DEFAULT_FIRST_MESSAGE_BUDGET). */
  firstMessageBudget?: BucketInit
  /** What others can make us fetch and keep (default DEFAULT_ATTACHMENT_LIMITS). */
  attachmentLimits?: Partial<AttachmentLimits>
}

/** What `send` and friends return. */
export interface SendResult {
  id: string
  handle: string
  state: MessageStatus['state']
  /** A Note to Self: stored on this device only, sent to nobody. */
  note?: true
}
