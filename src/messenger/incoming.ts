/**
 * The way in for one decrypted message (the counterpart of outgoing.ts):
 * its payload and message validated against the sender the envelope and
 * session proved, a new device of the sender bound to its account, a
 * stranger's request admitted within its budget, then message + session
 * state + replay keys + envelope marker written in one synced batch. Only
 * after that commit does anything follow from it: events, the sender's
 * device counting as reachable, attachment downloads, receipts for our own
 * messages. Attachment chunks take their own way (see `chunk`).
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { formatHandle, handleTag, validateHandleName } from '../identity/index.js'
import { decodeMessage, MAX_LAMPORT_JUMP } from './model/index.js'
import type { Message } from './model/index.js'
import { decodePayload } from './payload.js'
import type { Payload } from './payload.js'
import { bodyToJson } from './json.js'
import { peerIdFromBytes } from './devices.js'
import { envelopeMarkerKey, envelopeMarkerValue } from './history.js'
import { RejectedEnvelopeError } from './errors.js'
import { DeviceBindings } from './device-binding.js'
import type { DeviceBindingsInit, DeviceClaim } from './device-binding.js'
import { isAcceptedDevice } from './skip-budget.js'
import { RECEIPTED } from './receipts.js'
import { equalBytes, toHex } from './bytes.js'
import type { BatchOp } from '../store/index.js'
import type { Crypto } from '../crypto/index.js'
import type { Sessions } from './sessions.js'
import type { History } from './history.js'
import type { Contacts } from './contacts.js'
import type { Delivery } from './delivery.js'
import type { AttachmentTransfer } from './attachment-transfer.js'
import type { Commit } from './commit.js'
import type { MessengerEvent } from './events.js'
import type { RequestBudget } from './request-budget.js'
import type { ReplayGuard } from './inbox-ratchet.js'

const log = logger('starling:messenger:inbox')

/** A message stored from an envelope: the message, its author's device and that device's identity key. */
export interface Stored {
  message: Message
  device: PeerId
  identityKey: Uint8Array
}

/** An envelope opened and decrypted, on its way to the store. */
export interface DecryptedEnvelope {
  /** The envelope id. */
  id: Uint8Array
  /** The account its session proves, and the identity key the envelope proves. */
  sender: { accountKey: Uint8Array, identityKey: Uint8Array }
  plaintext: Uint8Array
  /** The session's new state, written with the message. */
  sessionOps: BatchOp[]
  guard: ReplayGuard
  /** Unlocks the sender's session once the commit is queued. */
  release: () => void
  via: 'direct' | 'relay'
  from?: PeerId
}

/** What {@link Incoming} works with. */
export interface IncomingComponents {
  crypto: Crypto
  /** Where device records are read to bind a new device to its account (device-binding.ts). */
  directory: DeviceBindingsInit['directory']
  history: Pick<History, 'lamport' | 'find' | 'putOps' | 'observeOp'>
  /** A chunk that does not store leaves nothing of its session state. */
  sessions: Pick<Sessions, 'forget'>
  contacts: Pick<Contacts, 'get' | 'pinIncoming' | 'saveDevices' | 'exclusive'>
  /** What message requests may make us keep (request-budget.ts). */
  requests: Pick<RequestBudget, 'admit' | 'countOp' | 'serially'>
  /** A device that wrote to us directly is reachable; receipts acknowledge our messages. */
  delivery: Pick<Delivery, 'reachable' | 'acknowledged'>
  /** Attachment descriptors and chunks (absent: attachments are refused). */
  attachments?: Pick<AttachmentTransfer, 'received' | 'chunk'>
  commit: Commit
  emit(event: MessengerEvent): void
  now(): number
  /** Called for each message stored (storedAt: performance.timeOrigin + performance.now()). */
  onStored?(storedAt: number): void
}

/** Validates and stores decrypted messages, and acts on them once stored. */
export class Incoming {
  private readonly bindings: DeviceBindings

  constructor (private readonly components: IncomingComponents) {
    this.bindings = new DeviceBindings({ crypto: components.crypto, directory: components.directory, now: components.now })
  }

  /** Validates and stores a decrypted message; `release` unlocks the sender's session once the commit is queued. */
  async store (d: DecryptedEnvelope): Promise<Stored | undefined> {
    const { crypto, history, contacts, requests, delivery, attachments, commit, emit } = this.components
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
    const highest = await history.lamport(conversation)
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
    const claimed = formatHandle(handleName, handleTag(crypto, handleName, sender.accountKey))
    await this.bind({ account: sender.accountKey, device, identityKey: sender.identityKey }, payload.deviceRecord)
    const size = payload.message.length
    // Someone who is not a contact (yet) may make us keep only so much
    // (request-budget.ts). Strangers are weighed one at a time, each counted
    // (its request record, its counts) before the next is: weighed side by
    // side, a flood of first messages all saw the counts from before any of
    // them and all got in.
    const known = await contacts.get(sender.accountKey)
    const weigh = known == null || known.state === 'request'
      ? async <T>(fn: () => Promise<T>): Promise<T> => await requests.serially(fn)
      : async <T>(fn: () => Promise<T>): Promise<T> => await fn()
    const { contact, drop, written } = await weigh(async () => {
      await requests.admit(await contacts.get(sender.accountKey), size)
      const pinned = await contacts.pinIncoming(sender.accountKey, claimed, device.toString(), sender.identityKey)
      const kind = message.body.kind
      const duplicate = kind !== 'typing' && (await history.find(message.id)) != null
      // What is kept, and a request's count, are decided from the contact as
      // it is when the batch is queued, inside its turn: a change of the
      // contact made meanwhile (accepted, blocked) is queued before or after
      // it, never written over by it, and a block that lands while this
      // message was being opened drops it.
      let written: Promise<void> | undefined
      let contact = pinned
      let drop = true
      await contacts.exclusive(sender.accountKey, async () => {
        contact = await contacts.get(sender.accountKey) ?? pinned
        drop = contact.state === 'blocked' || kind === 'typing' || duplicate
        const marker = !drop && RECEIPTED.has(kind) ? { message: toHex(message.id), account: toHex(sender.accountKey), device: device.toString() } : undefined
        const ops: BatchOp[] = [...sessionOps, ...guard.replayOps(), { type: 'put', namespace: 'dedup', key: envelopeMarkerKey(id), value: envelopeMarkerValue(marker) }]
        if (!drop) ops.push(...history.putOps(conversation, message))
        ops.push(history.observeOp(conversation, message.lamport))
        const counted = drop ? undefined : await requests.countOp(contact, size)
        written = commit(counted != null ? [...ops, counted] : ops, [sender.identityKey], { release: [release] })
      })
      return { contact, drop, written }
    })
    await written
    const handle = contact.handle
    const kind = message.body.kind
    if (contact.state === 'blocked') return undefined
    if (kind === 'typing') {
      emit({ type: 'typing', handle, on: message.body.kind === 'typing' && message.body.on })
      return undefined
    }
    // It wrote to us directly: it is reachable now, so what waits for it goes at once.
    if (via === 'direct') delivery.reachable(device.toString())
    if (drop) return undefined
    if (message.body.kind === 'attachment' && attachments != null) {
      const from = { account: sender.accountKey, accepted: isAcceptedDevice(contact, sender.identityKey) }
      // At most MAX_ATTACHMENTS_PER_MESSAGE (the decoder stops beyond), each on its own budget.
      for (const d of message.body.attachments) await attachments.received(d, device, from)
    }
    if (message.body.kind === 'delivered' || message.body.kind === 'read') {
      await delivery.acknowledged(message.body.ids.map(toHex), device.toString(), message.body.kind, conversation)
    }
    const storedAt = performance.timeOrigin + performance.now()
    this.components.onStored?.(storedAt)
    emit({ type: 'message', direction: 'in', via, handle, conversation: toHex(conversation), id: toHex(message.id), kind, lamport: message.lamport, timestamp: message.timestamp, storedAt, text: 'text' in message.body ? message.body.text : undefined, body: bodyToJson(message.body), request: contact.state === 'request' })
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
    const { contacts, attachments, sessions, commit } = this.components
    const contact = await contacts.get(account)
    const marker: BatchOp = { type: 'put', namespace: 'dedup', key: envelopeMarkerKey(id), value: new Uint8Array([1]) }
    if (attachments == null || !isAcceptedDevice(contact, identityKey)) {
      await commit([...sessionOps, marker], [identityKey], { release: [release] })
      return
    }
    try {
      await attachments.chunk(chunk, account)
    } catch (err) {
      sessions.forget(identityKey)
      throw new RejectedEnvelopeError(`bad attachment chunk: ${(err as Error).message}`)
    }
    await commit([...sessionOps, marker], [identityKey], { release: [release] })
  }

  /**
   * A device the contact has not pinned with this identity key joins it only
   * through a verified device record of that account (device-binding.ts);
   * the record is kept, as those of devices we resolved are.
   */
  private async bind (claim: DeviceClaim, carried?: Uint8Array): Promise<void> {
    const { contacts } = this.components
    const contact = await contacts.get(claim.account)
    if (contact?.devices[claim.device.toString()] === toHex(claim.identityKey)) return
    const record = await this.bindings.verify(claim, carried)
    await contacts.saveDevices(claim.account, [{ peerId: claim.device.toString(), record }])
  }
}
