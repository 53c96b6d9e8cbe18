/**
 * What this device remembers of each attachment it sent or received: the
 * descriptor and, for received ones, who sent it and how fetching it
 * stands. JSON in the `dedup` namespace under `attd/ || attachment id`.
 */
import type { AttachmentDescriptor, AttachmentKind } from './model/index.js'
import type { BatchOp, Store } from '../store/index.js'
import { concat, fromHex, jsonBytes, parseJson, toHex, utf8 } from './bytes.js'
import { fromBase64, toBase64 } from './outbox.js'

const DESCRIPTOR = utf8('attd/')

/**
 * Why a received attachment is not being fetched: its sender is a message
 * request; the sender's automatic download budget is spent; the attempts
 * are spent; or it was partly received and expired.
 */
export type AttachmentWait = 'request' | 'budget' | 'attempts' | 'expired'

/** One attachment as stored. */
export interface StoredDescriptor {
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
  /** Sender account, hex (received attachments stored since issue 9). */
  account?: string
  receivedAt?: number
  waiting?: AttachmentWait
  /** Download attempts in a row that stored nothing new. */
  attempts?: number
  /** Its size was taken from the sender's download budget (or the user asked for it). */
  charged?: boolean
}

/** The record of a descriptor (`from`: the device that can serve it). */
export function toStored (d: AttachmentDescriptor, from?: string): StoredDescriptor {
  return { id: toHex(d.id), fileName: d.fileName, mimeType: d.mimeType, kind: d.kind, size: d.size, sha256: toHex(d.sha256), key: toBase64(d.key), chunkSize: d.chunkSize, caption: d.caption, from }
}

/** The descriptor of a record. */
export function fromStored (s: StoredDescriptor): AttachmentDescriptor {
  return { id: fromHex(s.id), fileName: s.fileName, mimeType: s.mimeType, kind: s.kind, size: s.size, sha256: fromHex(s.sha256), key: fromBase64(s.key), chunkSize: s.chunkSize, ...(s.caption != null ? { caption: s.caption } : {}) }
}

/** The descriptor stored under a `dedup` key, when the key is a descriptor record's (a backup's entries hold them). */
export function descriptorOfEntry (key: Uint8Array, value: Uint8Array): AttachmentDescriptor | undefined {
  if (key.length !== DESCRIPTOR.length + 16 || !DESCRIPTOR.every((b, i) => key[i] === b)) return undefined
  return fromStored(parseJson<StoredDescriptor>(value))
}

/** The write that stores a record. */
export function putRecordOp (s: StoredDescriptor): BatchOp {
  return { type: 'put', namespace: 'dedup', key: concat(DESCRIPTOR, fromHex(s.id)), value: jsonBytes(s) }
}

/** Reads and writes the records. */
export class DescriptorRecords {
  constructor (private readonly store: Store, private readonly commit: (ops: BatchOp[], options: { sync?: boolean }) => Promise<void>) {}

  async get (id: Uint8Array): Promise<StoredDescriptor | undefined> {
    const bytes = await this.store.get('dedup', concat(DESCRIPTOR, id))
    return bytes == null ? undefined : parseJson<StoredDescriptor>(bytes)
  }

  /** Rewrites a record (not synced: losing it only means a few more attempts, or asking again). */
  async save (s: StoredDescriptor): Promise<void> {
    await this.commit([putRecordOp(s)], { sync: false })
  }

  /** Every record (sent and received). */
  async all (): Promise<StoredDescriptor[]> {
    const out: StoredDescriptor[] = []
    for await (const [, value] of this.store.iterate('dedup', { gte: DESCRIPTOR, lt: utf8('attd0') })) out.push(parseJson<StoredDescriptor>(value))
    return out
  }
}
