/**
 * What someone who is not a contact can make us keep (message requests).
 * Relays bound what one source keeps in a mailbox, but a stranger's session
 * is as good as a contact's once its first message is answered, and fresh
 * accounts cost nothing. So until the user accepts a request, it keeps at
 * most a few messages and bytes, and all requests together a stated amount
 * (the number of pending requests included). What does not fit is refused:
 * not stored, not acknowledged; an honest sender keeps the message in its
 * outbox and tries again, and gets through once the user accepts.
 *
 * The counts live in the contact record (`request`), so a restart gives no
 * request a new budget; the totals over all requests are counted once at
 * the first use and kept up to date.
 */
import type { Contact, Contacts } from './contacts.js'
import { RejectedEnvelopeError } from './errors.js'
import type { BatchOp } from '../store/index.js'

/** Messages one request keeps until accepted. */
export const MAX_REQUEST_MESSAGES = 50
/** Bytes (encoded messages) one request keeps until accepted. */
export const MAX_REQUEST_BYTES = 256 * 1024
/** Requests pending at once; a stranger beyond them is refused until the user accepts, blocks or deletes some. */
export const MAX_PENDING_REQUESTS = 200
/** Bytes all pending requests keep together. */
export const MAX_REQUESTS_BYTES = 16 * 1024 * 1024

export interface RequestLimits {
  messages: number
  bytes: number
  pending: number
  totalBytes: number
}

export const DEFAULT_REQUEST_LIMITS: RequestLimits = { messages: MAX_REQUEST_MESSAGES, bytes: MAX_REQUEST_BYTES, pending: MAX_PENDING_REQUESTS, totalBytes: MAX_REQUESTS_BYTES }

/** Admits (or refuses) what a request may store. */
export class RequestBudget {
  private totals?: { pending: number, bytes: number }
  /** The last of the steps queued by {@link serially}. */
  private tail: Promise<unknown> = Promise.resolve()
  private readonly limits: RequestLimits

  constructor (private readonly contacts: Contacts, limits: Partial<RequestLimits> = {}) {
    this.limits = { ...DEFAULT_REQUEST_LIMITS, ...limits }
  }

  /**
   * Runs `fn` after the ones queued before it: a stranger's message is
   * admitted, its request saved and its count queued before the next one
   * is weighed (incoming.ts), so that messages arriving side by side cannot
   * all pass against the same counts.
   */
  async serially<T> (fn: () => Promise<T>): Promise<T> {
    const turn = this.tail.then(fn)
    this.tail = turn.catch(() => {})
    return await turn
  }

  private async counted (): Promise<{ pending: number, bytes: number }> {
    if (this.totals == null) {
      let pending = 0
      let bytes = 0
      for (const c of await this.contacts.list()) {
        if (c.state !== 'request') continue
        pending++
        bytes += c.request?.bytes ?? 0
      }
      this.totals ??= { pending, bytes }
    }
    return this.totals
  }

  /**
   * Throws RejectedEnvelopeError when a message of `size` bytes from
   * `existing` (undefined: someone who is not known yet) does not fit.
   * Contacts (accepted) are never limited here; blocked ones store nothing.
   */
  async admit (existing: Contact | undefined, size: number): Promise<void> {
    if (existing != null && existing.state !== 'request') return
    const totals = await this.counted()
    if (existing == null && totals.pending >= this.limits.pending) throw new RejectedEnvelopeError(`${totals.pending} message requests are waiting: a new one waits until you accept, block or clear some`)
    const used = existing?.request ?? { messages: 0, bytes: 0 }
    if (used.messages + 1 > this.limits.messages || used.bytes + size > this.limits.bytes) throw new RejectedEnvelopeError(`this message request keeps ${used.messages} messages (${used.bytes} bytes) until it is accepted`)
    if (totals.bytes + size > this.limits.totalBytes) throw new RejectedEnvelopeError(`message requests keep ${totals.bytes} bytes together: more waits until some are accepted or blocked`)
  }

  /**
   * The write that counts a message a request stores (the contact as
   * `pinIncoming` returned it), to commit with the message; undefined for a
   * contact that is not a request.
   */
  async countOp (contact: Contact, size: number): Promise<BatchOp | undefined> {
    if (contact.state !== 'request') return undefined
    const totals = await this.counted()
    contact.request = { messages: (contact.request?.messages ?? 0) + 1, bytes: (contact.request?.bytes ?? 0) + size }
    totals.bytes += size
    return this.contacts.putOp(contact)
  }

  /** A contact record changed state (see Contacts.onStateChange): requests opened and closed. */
  changed (before: Contact | undefined, after: Contact): void {
    if (this.totals == null) return
    const was = before?.state === 'request'
    const is = after.state === 'request'
    if (!was && is) this.totals.pending++
    if (was && !is) {
      this.totals.pending = Math.max(0, this.totals.pending - 1)
      this.totals.bytes = Math.max(0, this.totals.bytes - (before?.request?.bytes ?? 0))
    }
  }
}
