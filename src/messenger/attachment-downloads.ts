/**
 * Pulling received attachments from their senders' devices, within budgets
 * (issue 9, item 4): an automatic download takes its size from the
 * sender's byte budget (a token bucket per account), and stops after a
 * number of attempts in a row that stored nothing new, with a doubling
 * delay between attempts; the count is kept with the record, so a restart
 * does not renew it. What the user asks for skips the byte budget.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { BlobStore } from './attachments/index.js'
import type { AttachmentDescriptor } from './model/index.js'
import { setNewest } from '../bounded.js'
import { fromStored } from './attachment-records.js'
import type { DescriptorRecords, StoredDescriptor } from './attachment-records.js'
import { TokenBucket } from './token-bucket.js'
import type { BucketInit } from './token-bucket.js'
import type { MessengerEvent } from './events.js'

const log = logger('starling:messenger:attachments')

/** How long one download attempt may take. */
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000
/** Accounts whose download budgets are remembered (the oldest is forgotten, i.e. refilled). */
const MAX_BUDGETS = 1_024

/** Limits of {@link Downloads}. */
export interface DownloadLimits {
  /** Download attempts in a row that store nothing new, before the attachment waits for the user. */
  maxDownloadAttempts: number
  /** Longest wait between attempts (they start at the retry interval and double). */
  maxRetryDelayMs: number
  /** Bytes each sender account may have us download without asking. */
  downloadBudget: BucketInit
}

/** What {@link Downloads} works with. */
export interface DownloadsInit {
  blobs: Pick<BlobStore, 'isComplete' | 'listChunks'>
  download(peer: PeerId, d: AttachmentDescriptor, signal: AbortSignal): Promise<void>
  records: Pick<DescriptorRecords, 'save'>
  now(): number
  retryIntervalMs: number
  /** False once the messenger stopped. */
  running(): boolean
  emit(event: MessengerEvent): void
}

/** The downloads in progress, and the budgets they take from. */
export class Downloads {
  private readonly running = new Map<string, Promise<void>>()
  private readonly budgets = new Map<string, TokenBucket>()
  private stopping = new AbortController()

  constructor (private readonly init: DownloadsInit, private readonly limits: DownloadLimits) {}

  /** Whether attachment `id` (hex) is being downloaded. */
  has (id: string): boolean {
    return this.running.has(id)
  }

  /** Allows downloads again after {@link Downloads.stop}. */
  start (): void {
    if (this.stopping.signal.aborted) this.stopping = new AbortController()
  }

  /** Stops downloads and their retries. */
  stop (): void {
    this.stopping.abort()
  }

  /**
   * Starts pulling `s` from its sender, unless it is being pulled already.
   * Automatic ones (`asked` false) take its size from the sender's budget
   * first (once: a resumed download was charged when it started); without
   * enough, the record waits for the user ('budget').
   */
  async fetch (s: StoredDescriptor, asked: boolean): Promise<void> {
    if (s.from == null || this.running.has(s.id)) return
    if (!asked && s.charged !== true && !this.budget(s.account ?? '').take(s.size, this.init.now())) {
      log('attachment %s of %d bytes waits: automatic download budget of %s spent', s.id, s.size, s.account)
      await this.init.records.save({ ...s, waiting: 'budget' })
      this.init.emit({ type: 'attachment', id: s.id, fileName: s.fileName, complete: false, waiting: 'budget' })
      return
    }
    const record: StoredDescriptor = { ...s, charged: true }
    delete record.waiting
    await this.init.records.save(record)
    this.pull(record)
  }

  private budget (account: string): TokenBucket {
    const bucket = this.budgets.get(account) ?? new TokenBucket(this.limits.downloadBudget, this.init.now())
    setNewest(this.budgets, account, bucket, MAX_BUDGETS)
    return bucket
  }

  private pull (s: StoredDescriptor): void {
    const d = fromStored(s)
    const from = peerIdFromString(s.from ?? '')
    const stop = this.stopping.signal
    const { blobs, records } = this.init
    const run = (async () => {
      let failed = s.attempts ?? 0
      while (this.init.running() && !stop.aborted && failed < this.limits.maxDownloadAttempts) {
        if (await blobs.isComplete(d.id)) return
        const before = (await blobs.listChunks(d.id)).length
        try {
          await this.init.download(from, d, AbortSignal.any([stop, AbortSignal.timeout(DOWNLOAD_TIMEOUT_MS)]))
          await records.save({ ...s, attempts: 0 })
          this.init.emit({ type: 'attachment', id: s.id, fileName: d.fileName, complete: true })
          return
        } catch (err) {
          // Progress (a flaky link, a sender that went away half way) starts the count again.
          failed = (await blobs.listChunks(d.id)).length > before ? 0 : failed + 1
          log('download of %s from %p failed (%d in a row without progress): %s', s.id, from, failed, (err as Error).message)
          await records.save({ ...s, attempts: failed })
          if (failed < this.limits.maxDownloadAttempts) await this.sleep(Math.min(this.init.retryIntervalMs * 2 ** Math.max(0, failed - 1), this.limits.maxRetryDelayMs))
        }
      }
      if (failed >= this.limits.maxDownloadAttempts) {
        await records.save({ ...s, attempts: failed, waiting: 'attempts' })
        this.init.emit({ type: 'attachment', id: s.id, fileName: d.fileName, complete: false, waiting: 'attempts' })
      }
    })().catch(err => { log.error('download of %s stopped: %s', s.id, (err as Error).message) })
      .finally(() => this.running.delete(s.id))
    this.running.set(s.id, run)
  }

  private async sleep (ms: number): Promise<void> {
    const stop = this.stopping.signal
    if (stop.aborted) return
    await new Promise<void>(resolve => {
      const timer = setTimeout(done, ms)
      function done (): void {
        clearTimeout(timer)
        stop.removeEventListener('abort', done)
        resolve()
      }
      stop.addEventListener('abort', done)
    })
  }
}
