/**
 * The receiving side: envelopes that arrive directly or are fetched from
 * relay mailboxes (mailboxes.ts reads those). An envelope is opened, its ratchet message decrypted, its
 * message validated, and message + session state + de-duplication marker
 * are written in one synced batch; only then does the caller acknowledge
 * (the direct ack, or the relay delete and an end-to-end delivery receipt).
 * An envelope id already stored is acknowledged again without decrypting;
 * anything that does not open, decrypt or validate is rejected and stores
 * nothing.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { EphemeralSecrets, openEnvelope, parseEnvelopeHeader } from '../crypto/envelope.js'
import { decrypt, isPrekeyMessage, respondToSession } from '../crypto/session.js'
import type { SessionState } from '../crypto/session.js'
import { decodePrekeyMessage } from '../crypto/pqxdh.js'
import { formatHandle, handleTag, validateHandleName } from '../identity/index.js'
import { decodeMessage, MAX_LAMPORT_JUMP } from './model/index.js'
import type { Message } from './model/index.js'
import { decodePayload } from './payload.js'
import type { Payload } from './payload.js'
import { bodyToJson } from './json.js'
import { peerIdFromBytes } from './devices.js'
import { promote } from './sessions.js'
import type { SessionRecord } from './sessions.js'
import { envelopeMarkerKey, envelopeMarkerValue } from './history.js'
import { DuplicateEnvelopeError, FirstMessageBudgetError, RejectedEnvelopeError, SkipBudgetExceededError, UnverifiedDeviceError } from './errors.js'
import { DeviceBindings } from './device-binding.js'
import type { DeviceBindingsInit, DeviceClaim } from './device-binding.js'
import { SkipBudget, isAcceptedDevice } from './skip-budget.js'
import { FirstMessageBudget } from './first-message-budget.js'
import { RetryLater } from './retry-later.js'
import { SerialTasks } from './serial-tasks.js'
import type { SkipLimits } from '../crypto/session.js'
import { concat, equalBytes, toHex, utf8 } from './bytes.js'
import type { BatchOp, Store } from '../store/index.js'
import type { Crypto } from '../crypto/index.js'
import type { MessengerIdentity } from './init.js'
import type { Sessions } from './sessions.js'
import type { History } from './history.js'
import type { Contacts } from './contacts.js'
import type { Delivery } from './delivery.js'
import type { AttachmentTransfer } from './attachment-transfer.js'
import type { Commit } from './commit.js'
import type { MessengerEvent } from './events.js'
import type { SkipBudgetInit } from './skip-budget.js'
import type { BucketInit } from './token-bucket.js'
import type { RequestBudget } from './request-budget.js'

const log = logger('starling:messenger:inbox')

const READ = utf8('read/')

/** Message kinds that get a delivery receipt when they came through a relay. */
export const RECEIPTED = new Set(['text', 'reply', 'reaction', 'edit', 'delete', 'attachment', 'call'])

/** A decrypted ratchet message and the session state that decrypted it. */
interface Decrypted {
  plaintext: Uint8Array
  state: SessionState
  /** Set when the message started a new session with a device we already had one with. */
  restarted?: boolean
}

/** A message stored from an envelope: the message, its author's device and that device's identity key. */
export interface Stored {
  message: Message
  device: PeerId
  identityKey: Uint8Array
}

/** A session's replay guard with its writes (see Sessions.replayGuard). */
type ReplayGuardOps = ReturnType<Sessions['replayGuard']>

/** An envelope opened and decrypted, on its way to the store. */
interface DecryptedEnvelope {
  /** The envelope id. */
  id: Uint8Array
  /** The account its session proves, and the identity key the envelope proves. */
  sender: { accountKey: Uint8Array, identityKey: Uint8Array }
  plaintext: Uint8Array
  /** The session's new state, written with the message. */
  sessionOps: BatchOp[]
  guard: ReplayGuardOps
  /** Unlocks the sender's session once the commit is queued. */
  release: () => void
  via: 'direct' | 'relay'
  from?: PeerId
}

/** What {@link Inbox} works with. */
export interface InboxComponents {
  crypto: Crypto
  /** This device: the key envelopes are sealed to, and the prekeys first messages use. */
  identity: Pick<MessengerIdentity, 'accountPublicKey' | 'identityKey' | 'prekeys'>
  /** Where device records are read to bind a new device to its account (device-binding.ts). */
  directory: DeviceBindingsInit['directory']
  /** Read marks (`dedup` namespace). */
  store: Pick<Store, 'get'>
  history: Pick<History, 'hasEnvelope' | 'lamport' | 'find' | 'putOps' | 'observeOp' | 'messages'>
  sessions: Pick<Sessions, 'replayGuard' | 'with' | 'forget'>
  contacts: Pick<Contacts, 'get' | 'pinIncoming' | 'saveDevices'>
  /** What message requests may make us keep (request-budget.ts). */
  requests: Pick<RequestBudget, 'admit' | 'countOp'>
  /** A device that wrote to us directly is reachable; receipts acknowledge our messages. */
  delivery: Pick<Delivery, 'reachable' | 'acknowledged'>
  /** Attachment descriptors and chunks (absent: attachments are refused). */
  attachments?: Pick<AttachmentTransfer, 'received' | 'chunk'>
  commit: Commit
  emit(event: MessengerEvent): void
  now(): number
  /**
   * A device started a new session while we had one with it (a restored
   * backup): what waits for it is sent again under the new one.
   */
  restarted(identityKey: Uint8Array, device: PeerId): void
  /** Called for each message stored (storedAt: performance.timeOrigin + performance.now()). */
  onStored?(storedAt: number): void
  /** Skipped message keys senders may make us derive (default DEFAULT_SKIP_BUDGET). */
  skipBudget?: SkipBudgetInit
  /** First messages (PQXDH) answered for strangers, all together (default DEFAULT_FIRST_MESSAGE_BUDGET). */
  firstMessageBudget?: BucketInit
}

/** Receives envelopes, from the direct path or from mailboxes (see mailboxes.ts). */
export class Inbox {
  /** Envelopes being opened, by id (hex), with the hash of their bytes. */
  private readonly inProgress = new Map<string, { hash: Uint8Array, work: Promise<void> }>()
  /** DH results for the ephemeral keys direct senders reuse (see DirectEphemerals). */
  private readonly ephemeralSecrets = new EphemeralSecrets()
  /** Skipped message keys each sender may still make us derive. */
  private readonly skipBudget: SkipBudget
  /** First messages (PQXDH) are answered one at a time, each in its own event-loop task. */
  private readonly firstMessages = new SerialTasks()
  /** First messages from strangers answered (PQXDH runs), shared by all of them. */
  private readonly firstMessageBudget: FirstMessageBudget
  /** Envelopes refused for now, not opened again until their wait is over. */
  private readonly retryLater: RetryLater

  private readonly bindings: DeviceBindings

  private readonly crypto: Crypto
  private readonly identity: InboxComponents['identity']
  private readonly store: InboxComponents['store']
  private readonly history: InboxComponents['history']
  private readonly sessions: InboxComponents['sessions']
  private readonly contacts: InboxComponents['contacts']
  private readonly requests: InboxComponents['requests']
  private readonly delivery: InboxComponents['delivery']
  private readonly attachments?: InboxComponents['attachments']
  private readonly commit: Commit
  private readonly emit: (event: MessengerEvent) => void
  private readonly now: () => number
  private readonly restarted: InboxComponents['restarted']
  private readonly onStored?: (storedAt: number) => void

  constructor (components: InboxComponents) {
    this.crypto = components.crypto
    this.identity = components.identity
    this.store = components.store
    this.history = components.history
    this.sessions = components.sessions
    this.contacts = components.contacts
    this.requests = components.requests
    this.delivery = components.delivery
    this.attachments = components.attachments
    this.commit = components.commit
    this.emit = components.emit
    this.now = components.now
    this.restarted = components.restarted
    this.onStored = components.onStored
    this.bindings = new DeviceBindings({ crypto: this.crypto, directory: components.directory, now: this.now })
    this.skipBudget = new SkipBudget(this.now, components.skipBudget)
    this.firstMessageBudget = new FirstMessageBudget(this.now, components.firstMessageBudget)
    this.retryLater = new RetryLater(this.now, (bytes) => this.crypto.hash.sha256(bytes))
  }

  /**
   * Opens, decrypts, validates and stores one envelope. Resolves with the
   * stored message (undefined when it was dropped: typing, blocked sender,
   * a message id already stored); throws DuplicateEnvelopeError for an
   * envelope id already stored and RejectedEnvelopeError for anything bad.
   */
  async receive (envelope: Uint8Array, via: 'direct' | 'relay', from?: PeerId): Promise<Stored | undefined> {
    let id: Uint8Array
    try {
      id = parseEnvelopeHeader(envelope).id
    } catch (err) {
      throw new RejectedEnvelopeError(`not an envelope: ${(err as Error).message}`)
    }
    const key = toHex(id)
    const hash = this.crypto.hash.sha256(envelope)
    for (let running = this.inProgress.get(key); running != null; running = this.inProgress.get(key)) {
      if (equalBytes(running.hash, hash)) {
        // The same envelope from another relay, received side by side: it
        // shares the first copy's fate. Only a stored first copy makes it a
        // duplicate; a copy refused for now (or that failed here) must stay on
        // its relay, since deleting it there (same id, same bytes) deletes the
        // message from every relay of the network.
        await running.work
        throw new DuplicateEnvelopeError('envelope already being stored')
      }
      // Other bytes under the same id (another sealing, or junk a relay put
      // under a real id): never the first one's fate, or junk refused first
      // would get the real envelope refused and deleted. Once it settles,
      // this one is a duplicate if that one was stored, else opened itself.
      await running.work.catch(() => {})
    }
    if (await this.history.hasEnvelope(id)) throw new DuplicateEnvelopeError('envelope already stored')
    // Refused for now a moment ago: refused again without repeating the work.
    const later = this.retryLater.refusal(id, envelope)
    if (later != null) throw later
    let result: Stored | undefined
    const work = this.open(id, envelope, via, from).then(r => { result = r })
    this.inProgress.set(key, { hash, work })
    try {
      await work
      this.retryLater.settled(id)
    } catch (err) {
      if (isNotNow(err)) this.retryLater.refused(id, envelope, err)
      else this.retryLater.settled(id)
      throw err
    } finally {
      this.inProgress.delete(key)
    }
    return result
  }

  private async open (id: Uint8Array, envelope: Uint8Array, via: 'direct' | 'relay', from?: PeerId): Promise<Stored | undefined> {
    const me = this.identity
    let opened
    try {
      // Direct senders reuse an ephemeral key for a while; relayed envelopes never do.
      opened = await openEnvelope(this.crypto, me.identityKey, envelope, via === 'direct' ? this.ephemeralSecrets : undefined)
    } catch (err) {
      throw new RejectedEnvelopeError(`envelope does not open with our key: ${(err as Error).message}`)
    }
    const guard = this.sessions.replayGuard()
    // The budget is looked up by the identity key the envelope proves; the account it names only finds the contact to check that key against.
    const contact = await this.contacts.get(opened.sender.accountKey)
    const skip = this.skipBudget.limits(opened.sender.identityKey, contact)
    const accepted = isAcceptedDevice(contact, opened.sender.identityKey)
    let decrypted: Decrypted
    let sessionOps: BatchOp[]
    let release: () => void
    try {
      const out = await this.sessions.with(opened.sender.identityKey, async (record) => this.decryptWith(record, opened.inner, guard, skip, accepted))
      decrypted = out.result
      sessionOps = out.ops
      release = out.release
    } catch (err) {
      guard.discard()
      // Over budget is "not now", not "bad": the envelope is received again later.
      if (err instanceof SkipBudgetExceededError || err instanceof FirstMessageBudgetError) throw err
      throw new RejectedEnvelopeError(`ratchet refused the message: ${(err as Error).name}: ${(err as Error).message}`)
    }
    // The session stays locked until this message's commit is queued (or it is refused).
    try {
      // The envelope proves its sender holds this identity key; the session
      // proves which account signed it (the PQXDH header, or the record we
      // started it from). The account the sender block names is only a claim.
      const account = decrypted.state.remoteAccountKey
      if (!equalBytes(opened.sender.accountKey, account)) throw new RejectedEnvelopeError('the envelope names another account than the one its session is with')
      const stored = await this.storeMessage({ id, sender: { accountKey: account, identityKey: opened.sender.identityKey }, plaintext: decrypted.plaintext, sessionOps, guard, release, via, from })
      if (decrypted.restarted === true && stored != null) this.restarted(opened.sender.identityKey, stored.device)
      return stored
    } catch (err) {
      // Nothing of a refused message stays: not its session state, not its replay marker.
      this.sessions.forget(opened.sender.identityKey)
      throw err
    } finally {
      release()
      // Committed (the replay keys are on disk now) or refused: either way
      // the in-memory note is no longer needed.
      guard.discard()
    }
  }

  /** Validates and stores a decrypted message; `release` unlocks the sender's session once the commit is queued. */
  private async storeMessage (d: DecryptedEnvelope): Promise<Stored | undefined> {
    const { id, sender, plaintext, sessionOps, guard, release, via, from } = d
    let message: Message
    let name: string
    let device: PeerId
    let payload: Payload
    try {
      payload = decodePayload(plaintext)
    } catch (err) {
      throw new RejectedEnvelopeError(`bad payload: ${(err as Error).message}`)
    }
    if (payload.type === 'chunk') {
      await this.chunk(id, sender.accountKey, sender.identityKey, payload.chunk, [...sessionOps, ...guard.replayOps()], release)
      return undefined
    }
    try {
      message = decodeMessage(payload.message)
      name = payload.name
      device = peerIdFromBytes(message.author.device)
    } catch (err) {
      throw new RejectedEnvelopeError(`bad message: ${(err as Error).message}`)
    }
    if (!equalBytes(message.author.account, sender.accountKey)) throw new RejectedEnvelopeError('message author is not the envelope sender')
    const conversation = sender.accountKey
    const highest = await this.history.lamport(conversation)
    if (message.lamport > highest + MAX_LAMPORT_JUMP) throw new RejectedEnvelopeError(`Lamport counter ${message.lamport} runs more than ${MAX_LAMPORT_JUMP} ahead of the conversation's ${highest}`)
    if (from != null && via === 'direct' && !from.equals(device)) log('envelope from %p carries a message of device %p', from, device)

    let handleName = 'unknown'
    try {
      handleName = validateHandleName(name)
    } catch {
      // A sender calling itself something invalid is shown as "unknown~tag".
    }
    // The name the sender calls itself names only a new request; a contact
    // is shown by the handle it was pinned by, whatever its messages say.
    const claimed = formatHandle(handleName, handleTag(this.crypto, handleName, sender.accountKey))
    await this.bind({ account: sender.accountKey, device, identityKey: sender.identityKey }, payload.deviceRecord)
    // Someone who is not a contact (yet) may make us keep only so much (request-budget.ts).
    const size = payload.message.length
    await this.requests.admit(await this.contacts.get(sender.accountKey), size)
    const contact = await this.contacts.pinIncoming(sender.accountKey, claimed, device.toString(), sender.identityKey)
    const handle = contact.handle
    const kind = message.body.kind
    const drop = contact.state === 'blocked' || kind === 'typing' || (await this.history.find(message.id)) != null
    const marker = !drop && RECEIPTED.has(kind) ? { message: toHex(message.id), account: toHex(sender.accountKey), device: device.toString() } : undefined
    const ops: BatchOp[] = [...sessionOps, ...guard.replayOps(), { type: 'put', namespace: 'dedup', key: envelopeMarkerKey(id), value: envelopeMarkerValue(marker) }]
    if (!drop) {
      ops.push(...this.history.putOps(conversation, message))
      // A request's count goes in the same batch as what it counts.
      const counted = await this.requests.countOp(contact, size)
      if (counted != null) ops.push(counted)
    }
    ops.push(this.history.observeOp(conversation, message.lamport))
    await this.commit(ops, [sender.identityKey], { release: [release] })
    if (contact.state === 'blocked') return undefined
    if (kind === 'typing') {
      this.emit({ type: 'typing', handle, on: message.body.kind === 'typing' && message.body.on })
      return undefined
    }
    // It wrote to us directly: it is reachable now, so what waits for it goes at once.
    if (via === 'direct') this.delivery.reachable(device.toString())
    if (drop) return undefined
    if (message.body.kind === 'attachment' && this.attachments != null) {
      const from = { account: sender.accountKey, accepted: isAcceptedDevice(contact, sender.identityKey) }
      // At most MAX_ATTACHMENTS_PER_MESSAGE (the decoder stops beyond), each on its own budget.
      for (const d of message.body.attachments) await this.attachments.received(d, device, from)
    }
    if (message.body.kind === 'delivered' || message.body.kind === 'read') {
      await this.delivery.acknowledged(message.body.ids.map(toHex), device.toString(), message.body.kind, conversation)
    }
    const storedAt = performance.timeOrigin + performance.now()
    this.onStored?.(storedAt)
    this.emit({ type: 'message', direction: 'in', via, handle, conversation: toHex(conversation), id: toHex(message.id), kind, lamport: message.lamport, timestamp: message.timestamp, storedAt, text: 'text' in message.body ? message.body.text : undefined, body: bodyToJson(message.body), request: contact.state === 'request' })
    return { message, device, identityKey: sender.identityKey }
  }

  /**
   * An attachment chunk: stored durably in the blob store first, then the
   * session and the envelope marker, so a crash in between only means the
   * chunk is received (harmlessly) again. Kept only from accepted contacts'
   * devices: a message request's chunks are consumed and dropped (its
   * attachments are pulled from the sender once the user accepts it), so a
   * stranger cannot make us store anything but the request itself.
   */
  private async chunk (id: Uint8Array, account: Uint8Array, identityKey: Uint8Array, chunk: Uint8Array, sessionOps: BatchOp[], release: () => void): Promise<void> {
    const contact = await this.contacts.get(account)
    const marker: BatchOp = { type: 'put', namespace: 'dedup', key: envelopeMarkerKey(id), value: new Uint8Array([1]) }
    if (this.attachments == null || !isAcceptedDevice(contact, identityKey)) {
      await this.commit([...sessionOps, marker], [identityKey], { release: [release] })
      return
    }
    try {
      await this.attachments.chunk(chunk, account)
    } catch (err) {
      this.sessions.forget(identityKey)
      throw new RejectedEnvelopeError(`bad attachment chunk: ${(err as Error).message}`)
    }
    await this.commit([...sessionOps, marker], [identityKey], { release: [release] })
  }

  /**
   * A device the contact has not pinned with this identity key joins it only
   * through a verified device record of that account (device-binding.ts);
   * the record is kept, as those of devices we resolved are.
   */
  private async bind (claim: DeviceClaim, carried?: Uint8Array): Promise<void> {
    const contact = await this.contacts.get(claim.account)
    if (contact?.devices[claim.device.toString()] === toHex(claim.identityKey)) return
    const record = await this.bindings.verify(claim, carried)
    await this.contacts.saveDevices(claim.account, [{ peerId: claim.device.toString(), record }])
  }

  /** Decrypts with the session the message belongs to, or starts one from an initial message. */
  private async decryptWith (record: SessionRecord, inner: Uint8Array, guard: ReplayGuardOps, skip: SkipLimits, accepted: boolean): Promise<{ record: SessionRecord, result: Decrypted }> {
    const crypto = this.crypto
    const states = [record.current, ...record.archived].filter((s): s is SessionState => s != null)
    if (isPrekeyMessage(inner)) {
      const { header } = decodePrekeyMessage(inner)
      const known = states.find(s => equalBytes(s.baseKey, header.baseKey))
      if (known != null) {
        const out = await decrypt(crypto, known, inner, undefined, skip)
        return { record: promote(record, out.state, known), result: out }
      }
      // PQXDH for a stranger: charged before any of its work (first-message-budget.ts).
      if (!accepted) this.firstMessageBudget.charge()
      const me = this.identity
      const out = await this.firstMessages.run(async () => respondToSession(crypto, {
        accountKey: me.accountPublicKey,
        identityKey: me.identityKey,
        prekeys: me.prekeys()
      }, inner, guard, { now: this.now(), skip }))
      // A session replacing one we had: the device may have lost the old one (a restored backup).
      return { record: promote(record, out.state), result: { ...out, restarted: record.current != null } }
    }
    let lastError: unknown = new Error('no session with this device')
    for (const state of states) {
      try {
        const out = await decrypt(crypto, state, inner, undefined, skip)
        return { record: promote(record, out.state, state), result: out }
      } catch (err) {
        lastError = err
      }
    }
    throw lastError
  }

  /** Incoming messages of a conversation not yet marked read. */
  async unread (conversation: Uint8Array): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for (const message of await this.history.messages(conversation)) {
      if (equalBytes(message.author.account, this.identity.accountPublicKey)) continue
      if (!RECEIPTED.has(message.body.kind)) continue
      if ((await this.store.get('dedup', concat(READ, message.id))) != null) continue
      out.push(message.id)
    }
    return out
  }

  /** Remembers that these messages were read. */
  async markReadOps (_conversation: Uint8Array, ids: Uint8Array[]): Promise<void> {
    await this.commit(ids.map(id => ({ type: 'put', namespace: 'dedup', key: concat(READ, id), value: new Uint8Array([1]) })))
  }
}

/** Errors that mean "not now": the envelope is kept (on the relay) and received again later. */
function isNotNow (err: unknown): err is Error {
  return err instanceof SkipBudgetExceededError || err instanceof FirstMessageBudgetError || err instanceof UnverifiedDeviceError
}
