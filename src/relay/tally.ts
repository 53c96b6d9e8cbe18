/**
 * A counter of the relay's books (ledger.ts), kept twice, and the entries
 * that change counters together with the envelopes they count.
 *
 * `live` is what budget checks read: the durable value plus every charge
 * under way (so that concurrent puts see each other), less a refund only
 * once it is durable (so that nothing is handed out again before the disk
 * gave it back). `disk` is what the disk holds once every batch formed so
 * far is written: an entry's writes are computed from it as its batch
 * forms (the group commit's {@link LateOps}), after every earlier batch was
 * written or failed and was told so. A counter written by many mailboxes'
 * batches therefore never gets an older value written last, whatever order
 * their commits complete in, and a batch that fails takes back exactly
 * what it added.
 */
import type { LateOps } from '../store/group-commit.js'
import type { BatchOp } from '../store/store.js'
import type { Usage } from './usage.js'

/** A counter as checks see it and as the disk holds it (see the file comment). */
export interface Tally {
  live: Usage
  disk: Usage
  /** Entries under way that change it: a cache keeps it while any are. */
  busy: number
}

/** A fresh tally of a value read from the disk. */
export function tallyOf (usage: Usage): Tally {
  return { live: { ...usage }, disk: { ...usage }, busy: 0 }
}

/** Adds to a usage, never below zero. */
export function add (usage: Usage, count: number, bytes: number): void {
  usage.count = Math.max(0, usage.count + count)
  usage.bytes = Math.max(0, usage.bytes + bytes)
}

/** One counter's change in an entry. */
export interface Change {
  tally: Tally
  count: number
  bytes: number
  /** The write of the counter's value on disk. */
  write(value: Usage): BatchOp
  /** Told when the counter on disk turns from zero to held (1) or back (-1), and again, reversed, if its batch fails. */
  crossed?(delta: 1 | -1): void
}

/**
 * A change of the books: hand it to the group commit with the batch it
 * belongs to (`late`), or call `settled(false)` if it never gets there.
 */
export type Entry = LateOps

/**
 * An entry of `changes`: what it adds is counted in `live` at once, what it
 * takes away once durable. `release` runs once it is settled (with whether
 * it is durable), to give back what the caller held for it.
 */
export function entryOf (changes: readonly Change[], release: (durable: boolean) => void): Entry {
  for (const c of changes) add(c.tally.live, Math.max(0, c.count), Math.max(0, c.bytes))
  let formed = false
  let settled = false
  const crossings: Array<{ change: Change, delta: 1 | -1 }> = []
  return {
    ops: () => {
      formed = true
      return changes.map(c => {
        const held = c.tally.disk.count > 0
        add(c.tally.disk, c.count, c.bytes)
        if (c.crossed != null && held !== c.tally.disk.count > 0) {
          const delta = held ? -1 : 1
          crossings.push({ change: c, delta })
          c.crossed(delta)
        }
        return c.write({ ...c.tally.disk })
      })
    },
    settled: (durable) => {
      if (settled) return
      settled = true
      for (const c of changes) {
        if (durable) {
          add(c.tally.live, Math.min(0, c.count), Math.min(0, c.bytes))
          continue
        }
        add(c.tally.live, -Math.max(0, c.count), -Math.max(0, c.bytes))
        if (formed) add(c.tally.disk, -c.count, -c.bytes)
      }
      if (!durable) {
        for (const { change, delta } of crossings) change.crossed?.(delta === 1 ? -1 : 1)
      }
      release(durable)
    }
  }
}
