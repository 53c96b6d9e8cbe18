/**
 * How an {@link EnvelopeStore} removes envelopes and keeps tombstones: one
 * synced batch holds the envelopes' keys going, the tombstones coming, the
 * proof (once) and the books' changes; the sync table follows once the
 * batch is durable. The caller holds the mailbox's lock.
 */
import type { GroupCommitWriter } from '../store/group-commit.js'
import type { BatchOp, Store } from '../store/store.js'
import { bytesEqual, toHex } from '../crypto/bytes.js'
import type { EnvelopeRef, PutSource } from '../protocols/store/store.js'
import type { DigestTable } from './digest-table.js'
import type { EnvelopeStoreMetrics } from './envelope-store.js'
import { decodeIndexValue, envelopeKey, expiryKey, idIndexRange, indexKey, tombstoneKey } from './keys.js'
import type { Entry, Ledger, Removed } from './ledger.js'
import { TOMBSTONE_CHARGE, itemKey, proofOf, tombstoneOps } from './tombstones.js'
import type { DeleteProof } from './tombstones.js'
import type { TombstoneFilter } from './tombstone-filter.js'

/** One version of an envelope to remove: by id and the hash of its bytes (and only if it is held at `position`, when given). */
export interface Removal {
  id: Uint8Array
  hash: Uint8Array
  position?: Uint8Array
}

/** What {@link Removals} works on: the store's parts. */
export interface RemovalContext {
  store: Store
  writer: GroupCommitWriter
  ledger: Ledger
  table: DigestTable
  metrics: Pick<EnvelopeStoreMetrics, 'hashMismatches' | 'tombstones'>
  tombstoneLifetimeMs: number
  /** Told of every tombstone before its batch is committed (puts ask it before reading one). */
  tombstones: TombstoneFilter
}

/** A change of the sync table, applied once the batch is durable. */
interface TableChange {
  key: Uint8Array
  tombstone: boolean
  remove: boolean
}

/** Removes envelopes, with or without tombstones (see the file comment). */
export class Removals {
  constructor (private readonly ctx: RemovalContext) {}

  /** Removes the versions named (by id and hash); `extra` joins the batch. Resolves to the number removed. */
  async remove (mailbox: Uint8Array, removals: readonly Removal[], extra: readonly BatchOp[] = []): Promise<number> {
    const { store, ledger } = this.ctx
    const ops: BatchOp[] = [...extra]
    const removed: Removed[] = []
    const changes: TableChange[] = []
    const seen = new Set<string>()
    for (const { id, hash, position } of removals) {
      const item = itemKey(mailbox, id, hash)
      if (seen.has(toHex(item))) continue
      seen.add(toHex(item))
      const value = await store.get('relay', indexKey(mailbox, id, hash))
      if (value === undefined) {
        // A delete naming bytes other than those held under the id is counted (junk served elsewhere); the sweep names positions.
        if (position === undefined) await this.countMismatch(mailbox, id)
        continue
      }
      const entry = decodeIndexValue(value)
      if (position !== undefined && !bytesEqual(entry.position, position)) continue
      ops.push(...removalOps(mailbox, id, hash, entry.position))
      removed.push({ source: entry.source, size: entry.size })
      changes.push({ key: item, tombstone: false, remove: true })
    }
    if (ops.length === 0) return 0
    await this.commit(ops, removed.length > 0 ? [await ledger.refund(mailbox, removed)] : [], changes)
    return removed.length
  }

  /**
   * Removes the envelopes named whose bytes match, keeping a tombstone of
   * each; with `from` (a linked relay's delete, from sync), keeps a
   * tombstone of every other ref too, charged to `from`.
   *
   * @throws {QuotaExceededError} when `from`'s budget or the relay's is used up (nothing changes)
   */
  async tombstone (mailbox: Uint8Array, refs: readonly EnvelopeRef[], proof: DeleteProof, from?: PutSource): Promise<{ tombstones: number, removed: number }> {
    const { store, ledger } = this.ctx
    const stored = proofOf(proof, this.ctx.tombstoneLifetimeMs)
    const proofHeld = await store.get('relay', stored.op.key) !== undefined
    // The proof's bytes are charged once, with the first tombstone that needs it.
    let proofCharge = proofHeld ? 0 : stored.bytes
    const ops: BatchOp[] = []
    const removed: Removed[] = []
    const fresh: Uint8Array[] = []
    const changes: TableChange[] = []
    const seen = new Set<string>()
    for (const { id, hash } of refs) {
      const item = itemKey(mailbox, id, hash)
      if (seen.has(toHex(item))) continue
      seen.add(toHex(item))
      if (this.ctx.tombstones.mightHold(item) && await store.get('relay', tombstoneKey(item)) !== undefined) continue
      const value = await store.get('relay', indexKey(mailbox, id, hash))
      if (value !== undefined) {
        const entry = decodeIndexValue(value)
        // The envelope's source keeps its count and a tombstone's charge.
        const keep = TOMBSTONE_CHARGE + proofCharge
        proofCharge = 0
        this.ctx.tombstones.add(item)
        ops.push(...removalOps(mailbox, id, hash, entry.position), ...tombstoneOps(item, stored, entry.source, keep))
        removed.push({ source: entry.source, size: entry.size, keep })
        changes.push({ key: item, tombstone: false, remove: true }, { key: item, tombstone: true, remove: false })
        continue
      }
      if (from === undefined) await this.countMismatch(mailbox, id)
      else fresh.push(item)
    }
    if (removed.length === 0 && fresh.length === 0) return { tombstones: 0, removed: 0 }
    const entries: Entry[] = []
    if (from !== undefined && fresh.length > 0) {
      const tag = ledger.tag(from.source)
      let bytes = 0
      for (const item of fresh) {
        this.ctx.tombstones.add(item)
        ops.push(...tombstoneOps(item, stored, tag, TOMBSTONE_CHARGE + proofCharge))
        changes.push({ key: item, tombstone: true, remove: false })
        bytes += TOMBSTONE_CHARGE + proofCharge
        proofCharge = 0
      }
      // First, since it may refuse: nothing has changed yet.
      entries.push(await ledger.chargeSources([{ tag, count: fresh.length, bytes }], from))
    }
    try {
      if (removed.length > 0) entries.push(await ledger.refund(mailbox, removed))
    } catch (err) {
      for (const e of entries) e.settled(false)
      throw err
    }
    if (!proofHeld) ops.push(stored.op)
    await this.commit(ops, entries, changes)
    this.ctx.metrics.tombstones += removed.length + fresh.length
    return { tombstones: removed.length + fresh.length, removed: removed.length }
  }

  /** Commits `ops` with the books' changes (the group commit settles them: tally.ts), then updates the sync table. */
  async commit (ops: readonly BatchOp[], entries: readonly Entry[], changes: readonly TableChange[]): Promise<void> {
    await this.ctx.writer.commit(ops, { late: entries })
    for (const c of changes) this.ctx.table.apply({ key: c.key, tombstone: c.tombstone }, c.remove)
  }

  /** A delete named an id this relay holds only with other bytes (junk served elsewhere under a real id): counted. */
  private async countMismatch (mailbox: Uint8Array, id: Uint8Array): Promise<void> {
    for await (const entry of this.ctx.store.iterate('relay', { ...idIndexRange(mailbox, id), limit: 1 })) {
      if (entry != null) this.ctx.metrics.hashMismatches++
    }
  }
}

/** The operations that remove one version's keys. */
export function removalOps (mailbox: Uint8Array, id: Uint8Array, hash: Uint8Array, position: Uint8Array): BatchOp[] {
  return [
    { type: 'del', namespace: 'relay', key: envelopeKey(mailbox, position, id) },
    { type: 'del', namespace: 'relay', key: indexKey(mailbox, id, hash) },
    { type: 'del', namespace: 'relay', key: expiryKey(position, mailbox, id, hash) }
  ]
}
