/**
 * Where a put places an envelope in its mailbox: position = storedAt (ms)
 * || sequence (u32). Two versions of one id at one position would share
 * one envelope key and one would overwrite the other, so a position must
 * be free. The sequence restarts with the process, and a linked relay
 * names the time of what it hands over, so a position can come round
 * again; reading the store for every put to rule that out was one of the
 * put's four reads.
 *
 * What needs no read: a position whose time is later than every envelope
 * the store held when it opened (the newest expiry key, read once), made
 * by this process's sequence before it wrapped: no earlier process wrote
 * at that time, and this process never gives one sequence number twice.
 * Anything else (a linked relay's older time, a clock set back, a wrapped
 * sequence) is read as before.
 */
import type { Store } from '../store/store.js'
import { decodeExpiryKey, encodePosition, envelopeKey, expiryRangeBefore, positionTime } from './keys.js'

/** Positions of one store (see the file comment). The caller holds the mailbox's lock. */
export class Positions {
  private sequence = 0
  private wrapped = false
  /** The latest time the store held at open; until read, every position is checked. */
  private heldUntil = Number.POSITIVE_INFINITY

  constructor (private readonly store: Store) {}

  /** Reads the newest envelope's time (once, when the store opens, before any put). */
  async open (): Promise<void> {
    let latest = 0
    const everything = expiryRangeBefore(Number.MAX_SAFE_INTEGER)
    for await (const [key] of this.store.iterate('relay', { ...everything, reverse: true, limit: 1 })) {
      latest = positionTime(decodeExpiryKey(key).position)
    }
    this.heldUntil = latest
  }

  /** The next position at `storedAt` that no other version of `id` holds in the mailbox. */
  async free (mailbox: Uint8Array, id: Uint8Array, storedAt: number): Promise<Uint8Array> {
    while (true) {
      const position = encodePosition(storedAt, this.sequence)
      this.sequence = (this.sequence + 1) >>> 0
      if (this.sequence === 0) this.wrapped = true
      if (storedAt > this.heldUntil && !this.wrapped) return position
      if (await this.store.get('relay', envelopeKey(mailbox, position, id)) === undefined) return position
    }
  }
}
