/**
 * Group commit: many writers, few fsyncs. `commit(ops)` queues the caller's
 * operations; while one synced batch is in flight, everything queued goes
 * out together in the next single synced batch. Each caller resolves only
 * once the batch holding its operations is durable, and a caller's
 * operations are never split across batches (its commit stays atomic).
 *
 * One synced LevelDB put costs about one fsync (~0.4 ms here, ~2,400/s);
 * a synced batch of 100 costs little more, so throughput grows with the
 * number of concurrent writers.
 */
import { logger } from '@libp2p/logger'
import type { BatchOp, Store } from './store.js'

const log = logger('starling:store:group-commit')

/** Default cap on operations in one batch (a single caller may exceed it). */
export const DEFAULT_MAX_BATCH_OPS = 10_000

/** Options of a {@link GroupCommitWriter}. */
export interface GroupCommitInit {
  /** fsync each batch (default true). */
  sync?: boolean
  /** Start a new batch once this many operations are gathered (default {@link DEFAULT_MAX_BATCH_OPS}). */
  maxBatchOps?: number
}

/** Counters of a {@link GroupCommitWriter}. */
export interface GroupCommitStats {
  /** Batches written. */
  batches: number
  /** `commit` calls resolved. */
  commits: number
  /** Operations written. */
  ops: number
}

/**
 * Operations whose values depend on what the disk holds (counters shared
 * by many writers): computed as their batch forms, once every earlier
 * batch has been written or has failed and been told so, so that commits
 * completing in any order never write an older value last.
 */
export interface LateOps {
  /** The operations, computed as the batch forms (once). */
  ops(): readonly BatchOp[]
  /** The batch is durable (true), or failed or never formed (false); called once, before the next batch forms. Must not throw. */
  settled(durable: boolean): void
}

interface Pending {
  ops: readonly BatchOp[]
  late: readonly LateOps[]
  sync: boolean
  resolve(): void
  reject(err: unknown): void
}

/** Coalesces concurrent commits into single (synced) batches. */
export class GroupCommitWriter {
  private readonly store: Pick<Store, 'batch'>
  private readonly sync: boolean
  private readonly maxBatchOps: number
  private queue: Pending[] = []
  private writing = false
  private syncInFlight = false
  private scheduled = false
  private waiters: Array<() => void> = []
  readonly stats: GroupCommitStats = { batches: 0, commits: 0, ops: 0 }

  constructor (store: Pick<Store, 'batch'>, init: GroupCommitInit = {}) {
    this.store = store
    this.sync = init.sync ?? true
    this.maxBatchOps = init.maxBatchOps ?? DEFAULT_MAX_BATCH_OPS
  }

  /**
   * Resolves once `ops` are written, and synced unless the writer or this
   * call says `sync: false`; rejects if their batch failed. Commits reach the
   * store in call order whether synced or not, so a later commit never lands
   * under an earlier one. An unsynced commit survives a crash of the process
   * (LevelDB has handed it to the OS) but not a power cut; a later synced
   * batch usually makes it durable too, but not always (LevelDB does not
   * sync the log it leaves at a memtable switch), so what must survive a
   * power cut is written synced itself. A batch is synced when any commit in
   * it asks. `late` operations join the commit's ops, computed as its batch
   * forms ({@link LateOps}); they are not counted against `maxBatchOps`.
   */
  async commit (ops: readonly BatchOp[], options: { sync?: boolean, late?: readonly LateOps[] } = {}): Promise<void> {
    const done = new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, late: options.late ?? [], sync: options.sync ?? true, resolve, reject })
    })
    this.schedule()
    await done
  }

  /** True when a synced batch is being written or a synced commit waits: a new commit would wait for an fsync. */
  get syncing (): boolean {
    return this.syncInFlight || (this.sync && this.queue.some(p => p.sync))
  }

  /** Resolves when nothing is queued or in flight. */
  async flush (): Promise<void> {
    if (!this.writing && !this.scheduled && this.queue.length === 0) return
    await new Promise<void>(resolve => {
      this.waiters.push(resolve)
    })
  }

  private schedule (): void {
    if (this.writing || this.scheduled) return
    this.scheduled = true
    // Let the writers of the current tick join the first batch too.
    queueMicrotask(() => {
      this.scheduled = false
      void this.drain()
    })
  }

  private take (): Pending[] {
    let n = 0
    let count = 0
    while (n < this.queue.length && (n === 0 || count + this.queue[n].ops.length <= this.maxBatchOps)) {
      count += this.queue[n].ops.length
      n++
    }
    return this.queue.splice(0, n)
  }

  private async drain (): Promise<void> {
    if (this.writing) return
    this.writing = true
    try {
      while (this.queue.length > 0) {
        const group = this.take()
        let ops: BatchOp[] = []
        try {
          ops = group.flatMap(p => [...p.ops, ...p.late.flatMap(l => l.ops())])
          const sync = this.sync && group.some(p => p.sync)
          this.syncInFlight = sync
          try {
            await this.store.batch(ops, { sync })
          } finally {
            this.syncInFlight = false
          }
        } catch (err) {
          log.error('batch of %d commits failed: %e', group.length, err)
          settle(group, false)
          for (const p of group) p.reject(err)
          continue
        }
        settle(group, true)
        this.stats.batches++
        this.stats.commits += group.length
        this.stats.ops += ops.length
        for (const p of group) p.resolve()
      }
    } finally {
      this.writing = false
      const idle = this.waiters
      this.waiters = []
      for (const resolve of idle) resolve()
    }
  }
}

/** Tells every commit's late operations how their batch went (before the next batch forms). */
function settle (group: readonly Pending[], durable: boolean): void {
  for (const p of group) {
    for (const l of p.late) {
      try {
        l.settled(durable)
      } catch (err) {
        log.error('settling a commit failed: %e', err)
      }
    }
  }
}
