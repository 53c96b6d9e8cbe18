/**
 * What becomes of a message body before delivery: it is checked against
 * the conversation (a reply, reaction, edit or delete names a message of it;
 * only the author edits or deletes), given this device as author and the
 * conversation's next Lamport counter, and either queued for the
 * recipient's devices (outgoing.ts) with its history entry and "queued"
 * state in the same batch, or, for a Note to Self, stored as it is.
 */
import type { Crypto } from '../crypto/index.js'
import type { BatchOp } from '../store/index.js'
import { encodeMessage, newMessageId, validateMessage } from './model/index.js'
import type { Message, MessageBody } from './model/index.js'
import type { MessengerIdentity, SendResult } from './init.js'
import type { History } from './history.js'
import type { Outbox } from './outbox.js'
import type { Outgoing } from './outgoing.js'
import type { RemoteDevice } from './devices.js'
import type { Commit } from './commit.js'
import type { MessengerEvent } from './events.js'
import { encodeChunkPayloadEnvelope, encodePayload } from './payload.js'
import { NotAuthorError, UnknownMessageError } from './errors.js'
import { equalBytes, toHex } from './bytes.js'

/** What a {@link Composer} works with. */
export interface ComposerComponents {
  crypto: Crypto
  identity: Pick<MessengerIdentity, 'accountPublicKey' | 'peerId' | 'handleName'>
  history: Pick<History, 'find' | 'reserve' | 'putOps' | 'observeOp'>
  outbox: Pick<Outbox, 'statusOp'>
  outgoing: Pick<Outgoing, 'plaintext'>
  commit: Commit
  emit: (event: MessengerEvent) => void
  now: () => number
}

/** Builds messages from this device and puts them on their way. */
export class Composer {
  constructor (private readonly components: ComposerComponents) {}

  /** Builds a message from this device with the conversation's next Lamport counter. */
  async compose (conversation: Uint8Array, body: MessageBody): Promise<Message> {
    const { crypto, identity, history, now } = this.components
    const message: Message = {
      id: newMessageId(crypto),
      author: { account: identity.accountPublicKey, device: identity.peerId.toMultihash().bytes },
      timestamp: now(),
      lamport: await history.reserve(conversation),
      body
    }
    validateMessage(message)
    return message
  }

  /** Reply, reaction, edit and delete must point at a message of this conversation; edit and delete at our own. */
  async checkTarget (conversation: Uint8Array, body: MessageBody): Promise<void> {
    if (!('target' in body)) return
    const found = await this.components.history.find(body.target)
    if (found == null || !equalBytes(found.conversation, conversation)) {
      throw new UnknownMessageError(`no message ${toHex(body.target)} in this conversation`)
    }
    if ((body.kind === 'edit' || body.kind === 'delete') && !equalBytes(found.message.author.account, this.components.identity.accountPublicKey)) {
      throw new NotAuthorError('only the author can edit or delete a message')
    }
  }

  /**
   * Encrypts for every device, seals, and commits message + sessions +
   * outbox entries in one batch (see outgoing.ts); then hands the entries to
   * delivery.
   */
  async enqueue (conversation: Uint8Array, devices: RemoteDevice[], message: Message, kind: 'content' | 'receipt'): Promise<void> {
    const { identity, history, outbox, outgoing, emit, now } = this.components
    const encoded = encodeMessage(message)
    const plaintext = encodePayload(identity.handleName, encoded)
    const extra: BatchOp[] = []
    if (kind === 'content') {
      extra.push(...history.putOps(conversation, message, encoded), history.observeOp(conversation, message.lamport))
      const status = await outbox.statusOp(message.id, 'queued', 0, now(), true)
      if (status != null) extra.push(status.op)
    }
    await outgoing.plaintext(conversation, devices, plaintext, message.id, kind, extra)
    if (kind === 'content') emit({ type: 'message', direction: 'out', conversation: toHex(conversation), id: toHex(message.id), kind: message.body.kind })
  }

  /** Queues one encrypted attachment chunk for each device (custody by a relay is enough). */
  async enqueueChunk (conversation: Uint8Array, devices: RemoteDevice[], chunk: Uint8Array): Promise<void> {
    await this.components.outgoing.plaintext(conversation, devices, encodeChunkPayloadEnvelope(chunk), newMessageId(this.components.crypto), 'receipt', [])
  }

  /**
   * A Note to Self: stored in our own conversation as ours, never encrypted
   * for anyone nor handed to a relay (we are no contact of ourselves, and
   * there is no other device to carry it to yet). It has no outbox state: it
   * is where it is going. Replies, reactions, edits and deletes of notes
   * take the same path.
   */
  async noteToSelf (body: MessageBody, handle: string): Promise<SendResult> {
    const { identity, history, commit, emit } = this.components
    const account = identity.accountPublicKey
    await this.checkTarget(account, body)
    const message = await this.compose(account, body)
    const encoded = encodeMessage(message)
    await commit([...history.putOps(account, message, encoded), history.observeOp(account, message.lamport)])
    emit({ type: 'message', direction: 'out', conversation: toHex(account), id: toHex(message.id), kind: message.body.kind })
    return { id: toHex(message.id), handle, state: 'delivered', note: true }
  }
}
