/**
 * Attachments inside conversations. The sender encrypts the file into its
 * blob store (own key, authenticated chunks) and sends a message with the
 * descriptor. Up to MAX_RELAY_ATTACHMENT_BYTES, the encrypted chunks also
 * travel as chunk payloads through the outbox, so they reach an offline
 * recipient through relays like any message. Larger files (up to
 * MAX_DIRECT_ATTACHMENT_BYTES) are pulled by the recipient straight from the
 * sender's device over `/starling/attachment/1.0.0`, resuming from the
 * chunks it already has after any interruption. Only the recipient devices
 * may pull; nothing partly received is reported complete.
 *
 * What others can make us store or fetch is bounded (issue 9, item 4):
 * a message request's attachments are neither kept (the inbox drops its
 * chunks) nor fetched until the user accepts the request, and are then
 * pulled from the sender; automatic downloads take from a per-contact byte
 * budget and stop after a number of attempts that made no progress (the
 * user can still ask, see {@link AttachmentTransfer.download}); chunks whose
 * descriptor never comes, and partial attachments nobody fetches any more,
 * expire (attachment-orphans.ts).
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  MAX_DIRECT_ATTACHMENT_BYTES, MAX_RELAY_ATTACHMENT_BYTES, acceptChunkPayload, decodeChunkPayload, prepareAttachment, relayChunkPayloads
} from './attachments/index.js'
import type { AttachmentInput, BlobStore } from './attachments/index.js'
import { MAX_ATTACHMENTS_PER_MESSAGE } from './model/index.js'
import type { AttachmentDescriptor, AttachmentKind, MessageBody } from './model/index.js'
import type { BatchOp } from '../store/index.js'
import { concat, fromHex, jsonBytes, parseJson, toHex, utf8 } from './bytes.js'
import type { SendResult } from './init.js'
import type { Crypto } from '../crypto/index.js'
import type { Store } from '../store/index.js'
import type { Commit } from './commit.js'
import type { MessengerEvent } from './events.js'
import type { Contacts } from './contacts.js'
import type { Recipient } from './recipients.js'
import type { RemoteDevice } from './devices.js'
import { OrphanChunks } from './attachment-orphans.js'
import type { OrphanLimits } from './attachment-orphans.js'
import { DescriptorRecords, fromStored, putRecordOp, toStored } from './attachment-records.js'
import type { AttachmentWait, StoredDescriptor } from './attachment-records.js'
import { Downloads } from './attachment-downloads.js'
import type { DownloadLimits } from './attachment-downloads.js'

export type { AttachmentWait } from './attachment-records.js'

const log = logger('starling:messenger:attachments')

const ALLOWED = utf8('atta/')
/** Attachments of message requests: atth/ || account (32) || attachment id (16) -> empty. */
const HELD = utf8('atth/')

/** How often expired waiting chunks and partial attachments are looked for. */
const SWEEP_INTERVAL_MS = 60 * 60_000

/** Limits of what others can make us fetch and keep. */
export interface AttachmentLimits extends DownloadLimits {
  /** Chunks waiting for their descriptor, and partial attachments nobody fetches: how long, how much. */
  orphans: OrphanLimits
}

/** The defaults: about 3 hours of retries; 500 MB per contact per day; 3 days, 20 MB per contact waiting. */
export const DEFAULT_ATTACHMENT_LIMITS: AttachmentLimits = {
  maxDownloadAttempts: 12,
  maxRetryDelayMs: 60 * 60_000,
  downloadBudget: { capacity: 5 * MAX_DIRECT_ATTACHMENT_BYTES, refillMs: 24 * 60 * 60_000 },
  orphans: { ttlMs: 3 * 24 * 60 * 60_000, maxBytesPerAccount: 2 * MAX_RELAY_ATTACHMENT_BYTES }
}

/** What the platform gives: where blobs live and how to pull from a device. */
export interface AttachmentHost {
  blobs: BlobStore
  /** Pulls `d` from `peer`, at `addrs` (its direct addresses as far as known; may be empty). */
  download(peer: PeerId, d: AttachmentDescriptor, signal: AbortSignal, addrs: Multiaddr[]): Promise<void>
}

/** What {@link AttachmentTransfer} works with. */
export interface AttachmentTransferComponents {
  crypto: Crypto
  /** Descriptor records, chunks waiting for their descriptor, who may pull what. */
  store: Store
  commit: Commit
  emit(event: MessengerEvent): void
  now(): number
  /** Downloads that failed wait from this, doubling. */
  retryIntervalMs: number
  /** False once the messenger stopped (no download starts then). */
  running(): boolean
  /** Whether a sender is an accepted contact. */
  contacts: Pick<Contacts, 'get'>
  /** Who a handle is (its devices may pull what we send them). */
  recipient(handle: string): Promise<Recipient>
  /** Sends the descriptor's message. */
  send(handle: string, body: MessageBody): Promise<SendResult>
  /** Queues one encrypted chunk payload for each device (small attachments travel through relays too). */
  enqueueChunk(account: Uint8Array, devices: RemoteDevice[], payload: Uint8Array): Promise<void>
  /** A device as known: where a large attachment is pulled from. */
  device(peerId: PeerId): Promise<RemoteDevice | undefined>
}

/** How a file is described by the sender. */
export interface AttachmentFile {
  input: AttachmentInput
  fileName: string
  mimeType: string
  kind: AttachmentKind
}

/** Where an attachment stands on this device. */
export interface AttachmentState {
  id: string
  fileName: string
  size: number
  complete: boolean
  receivedChunks: number
  totalChunks: number
  /** Set when it is not being fetched until the user acts (accept the request, or download it). */
  waiting?: AttachmentWait
}

/** Who sent a received descriptor. */
export interface AttachmentSender {
  account: Uint8Array
  /** An accepted contact's device (else a message request, or a device the contact has not got pinned). */
  accepted: boolean
}

/** Attachment sending, serving and receiving for one messenger. */
export class AttachmentTransfer {
  private readonly orphans: OrphanChunks
  private readonly records: DescriptorRecords
  private readonly downloads: Downloads
  private readonly limits: AttachmentLimits
  private lastSweep = Number.NEGATIVE_INFINITY

  private readonly crypto: Crypto
  private readonly store: Store
  private readonly commit: Commit
  private readonly emit: (event: MessengerEvent) => void
  private readonly now: () => number
  private readonly contacts: AttachmentTransferComponents['contacts']
  private readonly recipient: AttachmentTransferComponents['recipient']
  private readonly sendMessage: AttachmentTransferComponents['send']
  private readonly enqueueChunk: AttachmentTransferComponents['enqueueChunk']
  private readonly device: AttachmentTransferComponents['device']

  constructor (components: AttachmentTransferComponents, readonly host: AttachmentHost, limits: Partial<AttachmentLimits> = {}) {
    this.crypto = components.crypto
    this.store = components.store
    this.commit = components.commit
    this.emit = components.emit
    this.now = components.now
    this.contacts = components.contacts
    this.recipient = components.recipient
    this.sendMessage = components.send
    this.enqueueChunk = components.enqueueChunk
    this.device = components.device
    this.limits = { ...DEFAULT_ATTACHMENT_LIMITS, ...limits }
    this.orphans = new OrphanChunks(this.store, this.now, this.limits.orphans)
    this.records = new DescriptorRecords(this.store, async (ops, options) => { await this.commit(ops, [], options) })
    this.downloads = new Downloads({
      blobs: host.blobs,
      download: async (peer, d, signal) => { await host.download(peer, d, signal, await this.directAddrs(peer)) },
      records: this.records,
      now: this.now,
      retryIntervalMs: components.retryIntervalMs,
      running: components.running,
      emit: this.emit
    }, this.limits)
  }

  /** A device's known addresses that reach it directly: large attachments only cross direct connections, never relays. */
  private async directAddrs (peer: PeerId): Promise<Multiaddr[]> {
    const device = await this.device(peer)
    return (device?.addrs ?? []).filter(a => !a.toString().includes('/p2p-circuit'))
  }

  /**
   * Encrypts files into the blob store and sends them as ONE message (an
   * album: 1 to MAX_ATTACHMENTS_PER_MESSAGE files, the caption with the
   * first), then the chunks of each file small enough to travel through
   * relays. Each file keeps its own descriptor, chunks and state.
   */
  async send (handle: string, files: AttachmentFile[], caption?: string): Promise<SendResult> {
    if (files.length === 0 || files.length > MAX_ATTACHMENTS_PER_MESSAGE) throw new RangeError(`a message carries 1 to ${MAX_ATTACHMENTS_PER_MESSAGE} files, got ${files.length}`)
    const to = await this.recipient(handle)
    const devices = jsonBytes(to.devices.map(x => x.peerId.toString()))
    const descriptors: AttachmentDescriptor[] = []
    for (const file of files) {
      const d = await prepareAttachment(this.crypto, file.input, { fileName: file.fileName, mimeType: file.mimeType, kind: file.kind }, this.host.blobs, { maxBytes: MAX_DIRECT_ATTACHMENT_BYTES })
      descriptors.push(descriptors.length === 0 && caption != null && caption !== '' ? { ...d, caption } : d)
    }
    await this.commit(descriptors.flatMap((d): BatchOp[] => [
      putRecordOp(toStored(d)),
      { type: 'put', namespace: 'dedup', key: concat(ALLOWED, d.id), value: devices }
    ]))
    const result = await this.sendMessage(handle, { kind: 'attachment', attachments: descriptors })
    for (const d of descriptors) {
      if (d.size > MAX_RELAY_ATTACHMENT_BYTES) continue
      for await (const payload of relayChunkPayloads(this.crypto, d, this.host.blobs)) {
        await this.enqueueChunk(to.account, to.devices, payload)
      }
    }
    return result
  }

  /** Whether `peer` may pull attachment `id` (it was sent to that device). */
  async authorise (id: Uint8Array, peer: PeerId): Promise<boolean> {
    const bytes = await this.store.get('dedup', concat(ALLOWED, id))
    return bytes != null && parseJson<string[]>(bytes).includes(peer.toString())
  }

  /** The descriptor of an attachment sent or received here. */
  async descriptor (id: Uint8Array): Promise<AttachmentDescriptor | undefined> {
    const stored = await this.records.get(id)
    return stored == null ? undefined : fromStored(stored)
  }

  /**
   * A descriptor arrived in a message. From a message request it is only
   * remembered; from a contact, chunks that came first are used, and a
   * large attachment is pulled (within the budgets).
   */
  async received (d: AttachmentDescriptor, from: PeerId, sender: AttachmentSender): Promise<void> {
    let s = await this.records.get(d.id)
    if (s == null) {
      s = { ...toStored(d, from.toString()), account: toHex(sender.account), receivedAt: this.now(), ...(sender.accepted ? {} : { waiting: 'request' as const }) }
      const ops: BatchOp[] = [putRecordOp(s)]
      if (!sender.accepted) ops.push({ type: 'put', namespace: 'dedup', key: concat(HELD, sender.account, d.id), value: new Uint8Array(0) })
      await this.commit(ops)
    }
    if (!sender.accepted) return
    // Accepted by replying rather than with `accept`: what it sent as a request is fetched now.
    await this.accepted(sender.account)
    await this.useWaiting(d)
    if (d.size > MAX_RELAY_ATTACHMENT_BYTES && s.waiting == null) await this.downloads.fetch(s, false)
  }

  /**
   * A chunk payload from an accepted contact (the inbox drops the others),
   * direct or through a relay. Before its descriptor it waits, within the
   * sender's share and for a limited time.
   */
  async chunk (payload: Uint8Array, account: Uint8Array): Promise<void> {
    const p = decodeChunkPayload(payload)
    const s = await this.records.get(p.attachmentId)
    if (s != null) {
      if (s.waiting !== 'request') await this.acceptPayload(fromStored(s), payload)
      return
    }
    await this.sweepSoon()
    if (!(await this.orphans.keep(p.attachmentId, p.index, account, payload))) return
    // The descriptor may have been stored meanwhile, its waiting chunks already used.
    const now = await this.descriptor(p.attachmentId)
    if (now != null) await this.useWaiting(now)
  }

  private async useWaiting (d: AttachmentDescriptor): Promise<void> {
    for (const { key, payload } of await this.orphans.waiting(d.id)) {
      await this.acceptPayload(d, payload)
      await this.orphans.remove(key)
    }
  }

  private async acceptPayload (d: AttachmentDescriptor, payload: Uint8Array): Promise<void> {
    const { complete } = await acceptChunkPayload(this.crypto, d, this.host.blobs, payload)
    if (complete) this.emit({ type: 'attachment', id: toHex(d.id), fileName: d.fileName, complete: true })
  }

  /**
   * The user accepted `account`'s message request: its attachments, whose
   * chunks were not kept, are pulled from the sender's device.
   */
  async accepted (account: Uint8Array): Promise<void> {
    const prefix = concat(HELD, account)
    const keys: Uint8Array[] = []
    for await (const [key] of this.store.iterate('dedup', { gte: prefix, lt: concat(prefix, new Uint8Array(17).fill(0xff)) })) keys.push(key)
    for (const key of keys) {
      const s = await this.records.get(key.subarray(prefix.length))
      await this.store.del('dedup', key)
      if (s == null || s.waiting !== 'request') continue
      if (await this.host.blobs.isComplete(fromHex(s.id))) continue
      await this.downloads.fetch(s, false)
    }
  }

  /**
   * The user asks for an attachment: fetched from its sender whatever the
   * budgets (a message request's too), with a fresh count of attempts.
   */
  async download (id: Uint8Array): Promise<AttachmentState | undefined> {
    const s = await this.records.get(id)
    if (s?.from == null) return await this.state(id)
    if (s.waiting === 'request' && s.account != null) await this.store.del('dedup', concat(HELD, fromHex(s.account), id))
    await this.downloads.fetch({ ...s, attempts: 0 }, true)
    return await this.state(id)
  }

  /**
   * At start: expires what waited too long, fetches what contacts accepted
   * meanwhile sent as requests, and resumes incomplete downloads.
   */
  async resumeAll (): Promise<void> {
    this.downloads.start()
    await this.sweep()
    const requests = new Set<string>()
    for await (const [key] of this.store.iterate('dedup', { gte: HELD, lt: utf8('atth0') })) requests.add(toHex(key.subarray(HELD.length, HELD.length + 32)))
    for (const account of requests) {
      if ((await this.contacts.get(fromHex(account)))?.state === 'accepted') await this.accepted(fromHex(account))
    }
    for (const s of await this.records.all()) {
      if (s.from == null || s.size <= MAX_RELAY_ATTACHMENT_BYTES || s.waiting != null) continue
      if (await this.host.blobs.isComplete(fromHex(s.id))) continue
      // Descriptors stored before budgets existed were pulled at once, so count as charged.
      await this.downloads.fetch({ ...s, charged: s.charged ?? true }, false)
    }
  }

  /** Stops downloads and their retries. */
  stop (): void {
    this.downloads.stop()
  }

  private async sweepSoon (): Promise<void> {
    if (this.now() - this.lastSweep >= SWEEP_INTERVAL_MS) await this.sweep()
  }

  /**
   * Removes chunks that waited too long for their descriptor, and the chunks
   * of partial attachments that nothing fetches any more (arrived through
   * relays with some never coming, or waiting for the user) once they are
   * older than the same limit. The descriptor stays: the user can still ask.
   */
  async sweep (): Promise<void> {
    this.lastSweep = this.now()
    await this.orphans.sweep()
    const cutoff = this.now() - this.limits.orphans.ttlMs
    for (const s of await this.records.all()) {
      if (s.from == null || this.downloads.has(s.id) || s.waiting === 'expired') continue
      if (s.receivedAt == null) {
        // Stored before this bookkeeping: its time starts now.
        await this.records.save({ ...s, receivedAt: this.now() })
        continue
      }
      const id = fromHex(s.id)
      if (s.receivedAt > cutoff || await this.host.blobs.isComplete(id) || (await this.host.blobs.listChunks(id)).length === 0) continue
      await this.host.blobs.delete(id)
      await this.records.save({ ...s, waiting: 'expired' })
      log('partial attachment %s expired', s.id)
    }
  }

  /** How far an attachment got. */
  async state (id: Uint8Array): Promise<AttachmentState | undefined> {
    const s: StoredDescriptor | undefined = await this.records.get(id)
    if (s == null) return undefined
    const d = fromStored(s)
    const total = d.size === 0 ? 0 : Math.ceil(d.size / d.chunkSize)
    const complete = await this.host.blobs.isComplete(id)
    const waiting = !complete && s.waiting != null ? { waiting: s.waiting } : {}
    return { id: toHex(id), fileName: d.fileName, size: d.size, complete, receivedChunks: complete ? total : (await this.host.blobs.listChunks(id)).length, totalChunks: total, ...waiting }
  }
}
