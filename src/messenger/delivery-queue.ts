/**
 * The outbox entries being delivered, in memory: which wait, which have an
 * attempt under way, when each may go next, and when each one relays hold is
 * handed to relays again. The outbox (outbox.ts) is what is durable; this is
 * the schedule over it, shared by the delivery loop (delivery.ts), the relay
 * hand-off (relay-handoff.ts) and what ends an entry (delivery-outcomes.ts),
 * so that each of them changes an entry's place in one way only.
 */
import type { OutboxEntry } from './outbox.js'

/** When an entry relays hold is handed to relays again, and how many times it was so far. */
export interface Rehand {
  at: number
  count: number
}

/** The entries waiting for delivery and their schedule. */
export class DeliveryQueue {
  /** Entries waiting, by seq, in the order they are tried. */
  readonly pending = new Map<number, OutboxEntry>()
  /** Entries with an attempt under way. */
  readonly inFlight = new Set<number>()
  /** Per entry: no attempt before this time (absent: now). */
  readonly notBefore = new Map<number, number>()
  /** Per entry held by relays: when, and how many times so far, it is handed to relays again. */
  readonly rehand = new Map<number, Rehand>()
  /** Entries by message id: a message has a copy per device, and copies encrypted again under a new session. */
  private readonly byMessage = new Map<string, Set<number>>()

  /** Whether the entry still waits (it was not delivered, dropped or expired meanwhile). */
  has (entry: OutboxEntry): boolean {
    return this.pending.has(entry.seq)
  }

  track (entry: OutboxEntry): void {
    this.pending.set(entry.seq, entry)
    const set = this.byMessage.get(entry.messageId) ?? new Set()
    set.add(entry.seq)
    this.byMessage.set(entry.messageId, set)
  }

  untrack (entry: OutboxEntry): void {
    this.pending.delete(entry.seq)
    this.notBefore.delete(entry.seq)
    this.rehand.delete(entry.seq)
    const set = this.byMessage.get(entry.messageId)
    set?.delete(entry.seq)
    if (set?.size === 0) this.byMessage.delete(entry.messageId)
  }

  /** The waiting entries of a message, as they are now. */
  copies (messageId: string): OutboxEntry[] {
    const out: OutboxEntry[] = []
    for (const seq of this.byMessage.get(messageId) ?? []) {
      const entry = this.pending.get(seq)
      if (entry != null) out.push(entry)
    }
    return out
  }

  /**
   * The entry goes to the back of the queue: it is tried after all the
   * others. One that left meanwhile (a receipt ended it while its direct
   * send was under way) stays out.
   */
  toBack (entry: OutboxEntry): void {
    if (!this.pending.delete(entry.seq)) return
    this.pending.set(entry.seq, entry)
  }

  /** The entries `which` selects may go at once (their wait ended). */
  wake (which: (entry: OutboxEntry) => boolean): void {
    for (const entry of this.pending.values()) if (which(entry)) this.notBefore.delete(entry.seq)
  }
}
