/**
 * Files on this machine as attachments: size checked before anything is
 * read, MIME type and kind from the file name (the content is then checked
 * against the kind by sniffing its first bytes).
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { basename, extname } from 'node:path'
import { AttachmentTooLargeError, MAX_DIRECT_ATTACHMENT_BYTES } from '../../src/messenger/attachments/index.js'
import type { AttachmentFile } from '../../src/messenger/attachment-transfer.js'
import type { AttachmentKind } from '../../src/messenger/model/index.js'

const TYPES: Record<string, [string, AttachmentKind]> = {
  '.png': ['image/png', 'image'],
  '.jpg': ['image/jpeg', 'image'],
  '.jpeg': ['image/jpeg', 'image'],
  '.webp': ['image/webp', 'image'],
  '.gif': ['image/gif', 'gif'],
  '.ogg': ['audio/ogg', 'audio'],
  '.opus': ['audio/ogg', 'audio'],
  '.mp3': ['audio/mpeg', 'audio'],
  '.m4a': ['audio/mp4', 'audio'],
  '.wav': ['audio/wav', 'audio'],
  '.txt': ['text/plain', 'file'],
  '.md': ['text/markdown', 'file'],
  '.csv': ['text/csv', 'file'],
  '.pdf': ['application/pdf', 'file'],
  '.json': ['application/json', 'file'],
  '.zip': ['application/zip', 'file'],
  '.mp4': ['video/mp4', 'file'],
  '.webm': ['video/webm', 'file']
}

/** Describes a file for sending; throws for a missing file or one over the size limit. */
export async function attachmentFile (path: string): Promise<AttachmentFile> {
  let size: number
  try {
    const s = await stat(path)
    if (!s.isFile()) throw new TypeError(`${path} is not a file`)
    size = s.size
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new TypeError(`no such file: ${path}`, { cause: err })
    throw err
  }
  if (size > MAX_DIRECT_ATTACHMENT_BYTES) {
    throw new AttachmentTooLargeError(`${basename(path)} is ${(size / 1e6).toFixed(1)} MB; attachments are limited to ${MAX_DIRECT_ATTACHMENT_BYTES / 1e6} MB`)
  }
  const [mimeType, kind] = TYPES[extname(path).toLowerCase()] ?? ['application/octet-stream', 'file']
  return { input: createReadStream(path, { highWaterMark: 64 * 1024 }) as AsyncIterable<Uint8Array>, fileName: basename(path), mimeType, kind }
}
