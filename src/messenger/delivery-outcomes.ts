/**
 * What ends an outbox entry: the device acknowledged it directly, a delivery
 * or read receipt from the device arrived, or it expired. Each takes the
 * entry (and the copies it makes needless) out of the outbox, moves the
 * message's send state forward and tells the user. Relays holding an entry
 * never end it (relay-handoff.ts): only the device can say it has it.
 */
import { confirmSession } from '../crypto/session.js'
import { equalBytes, fromHex, toHex } from './bytes.js'
import type { MessengerIdentity } from './init.js'
import type { Outbox, OutboxEntry, SendState } from './outbox.js'
import type { Sessions } from './sessions.js'
import type { History } from './history.js'
import type { Commit } from './commit.js'
import type { MessengerEvent } from './events.js'
import type { DeliveryQueue } from './delivery-queue.js'

/** The `status` event of an entry's message. */
export function statusEvent (entry: OutboxEntry, state: SendState, relays: number): MessengerEvent {
  return { type: 'status', id: entry.messageId, conversation: entry.conversation, state, relays }
}

/** What {@link DeliveryOutcomes} works with. */
export interface DeliveryOutcomesComponents {
  /** This device's account: receipts count only for its own messages. */
  identity: Pick<MessengerIdentity, 'accountPublicKey'>
  outbox: Pick<Outbox, 'removeOp' | 'statusOp'>
  /** Sessions confirmed by a direct ack. */
  sessions: Pick<Sessions, 'with'>
  /** Receipts are checked against our own messages. */
  history: Pick<History, 'find'>
  commit: Commit
  emit(event: MessengerEvent): void
  now(): number
  /** The entries being delivered (delivery-queue.ts). */
  queue: DeliveryQueue
}

/** Ends entries: acknowledged, receipted or expired. */
export class DeliveryOutcomes {
  private readonly queue: DeliveryQueue

  constructor (private readonly components: DeliveryOutcomesComponents) {
    this.queue = components.queue
  }

  /**
   * The device acknowledged the envelope (direct ack): the entry is done, and
   * a session it was the initial message of is confirmed. Not synced: if the
   * write is lost, the envelope is sent again and acknowledged as a duplicate.
   */
  async delivered (entry: OutboxEntry): Promise<void> {
    const { outbox, sessions, commit, now, emit } = this.components
    if (!this.queue.has(entry)) return
    this.queue.untrack(entry)
    const ops = [outbox.removeOp(entry)]
    // Other copies of the message for this device (encrypted again under a new session) are done too.
    for (const sibling of this.queue.copies(entry.messageId)) {
      if (sibling.device !== entry.device || this.queue.inFlight.has(sibling.seq)) continue
      this.queue.untrack(sibling)
      ops.push(outbox.removeOp(sibling))
    }
    const status = entry.kind === 'content' ? await outbox.statusOp(fromHex(entry.messageId), 'delivered', 0, now()) : undefined
    if (status != null) ops.push(status.op)
    if (entry.confirms != null) {
      const identityKey = fromHex(entry.confirms.identityKey)
      const baseKey = fromHex(entry.confirms.baseKey)
      const { ops: sessionOps, release } = await sessions.with(identityKey, async (record) => {
        const confirmed = record.current != null ? confirmSession(record.current, baseKey) : undefined
        return { record: confirmed != null ? { current: confirmed, archived: record.archived } : undefined, result: undefined }
      })
      try {
        await commit([...ops, ...sessionOps], sessionOps.length > 0 ? [identityKey] : [], { sync: false, release: [release] })
      } finally {
        release()
      }
    } else {
      await commit(ops, [], { sync: false })
    }
    if (status != null) emit(statusEvent(entry, 'delivered', status.status.relays))
  }

  /**
   * A delivery or read receipt from `device` (of the account `conversation`) for our messages: their entries
   * for that device leave the outbox; their state moves forward.
   */
  async acknowledged (messageIds: string[], device: string, state: 'delivered' | 'read', conversation: Uint8Array): Promise<void> {
    const { identity, outbox, history, commit, now, emit } = this.components
    const ops = []
    const changed: Array<{ id: string, state: SendState, relays: number }> = []
    for (const id of messageIds) {
      // A receipt speaks only for our own messages in the conversation with
      // its sender: nobody else can mark a message delivered or read.
      const found = await history.find(fromHex(id))
      if (found == null || !equalBytes(found.conversation, conversation) || !equalBytes(found.message.author.account, identity.accountPublicKey)) continue
      for (const entry of this.queue.copies(id)) {
        if (entry.device !== device) continue
        this.queue.untrack(entry)
        ops.push(outbox.removeOp(entry))
      }
      const status = await outbox.statusOp(fromHex(id), state, 0, now())
      if (status != null) {
        ops.push(status.op)
        changed.push({ id, state: status.status.state, relays: status.status.relays })
      }
    }
    // Not synced: if lost, the entries are sent again and acknowledged as duplicates.
    if (ops.length > 0) await commit(ops, [], { sync: false })
    for (const c of changed) emit({ type: 'status', id: c.id, conversation: toHex(conversation), state: c.state, relays: c.relays })
  }

  /** The entry outlived the retention time: it leaves the outbox and its message is marked failed. */
  async expired (entry: OutboxEntry): Promise<void> {
    const { outbox, commit, now, emit } = this.components
    if (!this.queue.has(entry)) return
    this.queue.untrack(entry)
    const ops = [outbox.removeOp(entry)]
    const status = entry.kind === 'content' ? await outbox.statusOp(fromHex(entry.messageId), 'failed', 0, now()) : undefined
    if (status != null) ops.push(status.op)
    await commit(ops)
    if (status != null) emit(statusEvent(entry, 'failed', 0))
  }
}
