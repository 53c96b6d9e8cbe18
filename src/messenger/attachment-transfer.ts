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
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import {
  MAX_DIRECT_ATTACHMENT_BYTES, MAX_RELAY_ATTACHMENT_BYTES, acceptChunkPayload, decodeChunkPayload, prepareAttachment, relayChunkPayloads
} from './attachments/index.js'
import type { AttachmentInput, BlobStore } from './attachments/index.js'
import type { AttachmentDescriptor, AttachmentKind } from './model/index.js'
import { concat, fromHex, jsonBytes, parseJson, toHex, utf8 } from './bytes.js'
import { fromBase64, toBase64 } from './outbox.js'
import type { Messenger, SendResult } from './messenger.js'

const log = logger('starling:messenger:attachments')

const DESCRIPTOR = utf8('attd/')
const ALLOWED = utf8('atta/')
const EARLY = utf8('attp/')

/** What the platform gives: where blobs live and how to pull from a device. */
export interface AttachmentHost {
  blobs: BlobStore
  download(peer: PeerId, d: AttachmentDescriptor, signal: AbortSignal): Promise<void>
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
}

interface StoredDescriptor {
  id: string
  fileName: string
  mimeType: string
  kind: AttachmentKind
  size: number
  sha256: string
  key: string
  chunkSize: number
  caption?: string
  /** Device that can serve it (for downloads). */
  from?: string
}

function toStored (d: AttachmentDescriptor, from?: string): StoredDescriptor {
  return { id: toHex(d.id), fileName: d.fileName, mimeType: d.mimeType, kind: d.kind, size: d.size, sha256: toHex(d.sha256), key: toBase64(d.key), chunkSize: d.chunkSize, caption: d.caption, from }
}

function fromStored (s: StoredDescriptor): AttachmentDescriptor {
  return { id: fromHex(s.id), fileName: s.fileName, mimeType: s.mimeType, kind: s.kind, size: s.size, sha256: fromHex(s.sha256), key: fromBase64(s.key), chunkSize: s.chunkSize, ...(s.caption != null ? { caption: s.caption } : {}) }
}

/** Attachment sending, serving and receiving for one messenger. */
export class AttachmentTransfer {
  private readonly downloads = new Map<string, Promise<void>>()

  constructor (private readonly m: Messenger, readonly host: AttachmentHost) {}

  /** Encrypts a file into the blob store and sends its descriptor (and, when small enough, its chunks). */
  async send (handle: string, file: AttachmentFile, caption?: string): Promise<SendResult> {
    const to = await this.m.recipient(handle)
    const d = await prepareAttachment(this.m.init.crypto, file.input, { fileName: file.fileName, mimeType: file.mimeType, kind: file.kind }, this.host.blobs, { maxBytes: MAX_DIRECT_ATTACHMENT_BYTES })
    const descriptor: AttachmentDescriptor = caption != null && caption !== '' ? { ...d, caption } : d
    await this.m.commit([
      { type: 'put', namespace: 'dedup', key: concat(DESCRIPTOR, d.id), value: jsonBytes(toStored(descriptor)) },
      { type: 'put', namespace: 'dedup', key: concat(ALLOWED, d.id), value: jsonBytes(to.devices.map(x => x.peerId.toString())) }
    ])
    const result = await this.m.send(handle, { kind: 'attachment', attachment: descriptor })
    if (d.size <= MAX_RELAY_ATTACHMENT_BYTES) {
      for await (const payload of relayChunkPayloads(this.m.init.crypto, d, this.host.blobs)) {
        await this.m.enqueueChunk(to.account, to.devices, payload)
      }
    }
    return result
  }

  /** Whether `peer` may pull attachment `id` (it was sent to that device). */
  async authorise (id: Uint8Array, peer: PeerId): Promise<boolean> {
    const bytes = await this.m.init.store.get('dedup', concat(ALLOWED, id))
    return bytes != null && parseJson<string[]>(bytes).includes(peer.toString())
  }

  /** The descriptor of an attachment sent or received here. */
  async descriptor (id: Uint8Array): Promise<AttachmentDescriptor | undefined> {
    const stored = await this.stored(id)
    return stored == null ? undefined : fromStored(stored)
  }

  private async stored (id: Uint8Array): Promise<StoredDescriptor | undefined> {
    const bytes = await this.m.init.store.get('dedup', concat(DESCRIPTOR, id))
    return bytes == null ? undefined : parseJson<StoredDescriptor>(bytes)
  }

  /** A descriptor arrived in a message: remember it, use chunks that came first, pull the rest if large. */
  async received (d: AttachmentDescriptor, from: PeerId): Promise<void> {
    if (await this.stored(d.id) == null) {
      await this.m.commit([{ type: 'put', namespace: 'dedup', key: concat(DESCRIPTOR, d.id), value: jsonBytes(toStored(d, from.toString())) }])
    }
    for await (const [key, payload] of this.m.init.store.iterate('dedup', { gte: concat(EARLY, d.id), lt: concat(EARLY, d.id, new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff])) })) {
      await this.acceptPayload(d, payload)
      await this.m.init.store.del('dedup', key)
    }
    if (d.size > MAX_RELAY_ATTACHMENT_BYTES) this.pull(d, from)
  }

  /** A chunk payload arrived (direct or through a relay). */
  async chunk (payload: Uint8Array): Promise<void> {
    const p = decodeChunkPayload(payload)
    const d = await this.descriptor(p.attachmentId)
    if (d == null) {
      // Relays may deliver chunks before the descriptor message: keep them.
      const index = new Uint8Array(4)
      new DataView(index.buffer).setUint32(0, p.index)
      const key = concat(EARLY, p.attachmentId, index)
      await this.m.init.store.put('dedup', key, payload, { sync: true })
      // The descriptor may have been stored meanwhile, its early chunks already swept.
      const now = await this.descriptor(p.attachmentId)
      if (now == null) return
      await this.acceptPayload(now, payload)
      await this.m.init.store.del('dedup', key)
      return
    }
    await this.acceptPayload(d, payload)
  }

  private async acceptPayload (d: AttachmentDescriptor, payload: Uint8Array): Promise<void> {
    const { complete } = await acceptChunkPayload(this.m.init.crypto, d, this.host.blobs, payload)
    if (complete) this.m.emit({ type: 'attachment', id: toHex(d.id), fileName: d.fileName, complete: true })
  }

  /** Pulls a large attachment from the sender's device, retrying (and resuming) until complete. */
  pull (d: AttachmentDescriptor, from: PeerId): void {
    const id = toHex(d.id)
    if (this.downloads.has(id)) return
    const run = (async () => {
      for (let attempt = 0; attempt < 1000 && this.m.running; attempt++) {
        if (await this.host.blobs.isComplete(d.id)) break
        try {
          await this.host.download(from, d, AbortSignal.timeout(10 * 60_000))
          this.m.emit({ type: 'attachment', id, fileName: d.fileName, complete: true })
          return
        } catch (err) {
          log('download of %s from %p failed (attempt %d): %s', id, from, attempt, (err as Error).message)
          await new Promise(resolve => setTimeout(resolve, this.m.retryIntervalMs))
        }
      }
    })().finally(() => this.downloads.delete(id))
    this.downloads.set(id, run)
  }

  /** Resumes every incomplete large download (at start). */
  async resumeAll (): Promise<void> {
    for await (const [, value] of this.m.init.store.iterate('dedup', { gte: DESCRIPTOR, lt: utf8('attd0') })) {
      const s = parseJson<StoredDescriptor>(value)
      if (s.from == null || s.size <= MAX_RELAY_ATTACHMENT_BYTES) continue
      const d = fromStored(s)
      if (!(await this.host.blobs.isComplete(d.id))) this.pull(d, peerIdFromString(s.from))
    }
  }

  /** How far an attachment got. */
  async state (id: Uint8Array): Promise<AttachmentState | undefined> {
    const d = await this.descriptor(id)
    if (d == null) return undefined
    const total = d.size === 0 ? 0 : Math.ceil(d.size / d.chunkSize)
    const complete = await this.host.blobs.isComplete(id)
    return { id: toHex(id), fileName: d.fileName, size: d.size, complete, receivedChunks: complete ? total : (await this.host.blobs.listChunks(id)).length, totalChunks: total }
  }
}

