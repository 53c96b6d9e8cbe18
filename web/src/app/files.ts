/** Files the user picks, as attachments: kind from the MIME type (the content is sniffed again by src/). */
import type { AttachmentFile } from '../../../src/messenger/index.js'
import type { AttachmentKind } from '../../../src/messenger/model/index.js'
import { AttachmentTooLargeError, MAX_DIRECT_ATTACHMENT_BYTES } from '../../../src/messenger/attachments/index.js'

/** What kind of attachment a MIME type is shown as. */
export function kindOf (mimeType: string): AttachmentKind {
  if (mimeType === 'image/gif') return 'gif'
  if (['image/png', 'image/jpeg', 'image/webp'].includes(mimeType)) return 'image'
  if (mimeType.startsWith('audio/')) return 'audio'
  return 'file'
}

/** A picked file as an attachment, read in pieces (never whole into memory); throws for one over the size limit. */
export function attachmentFromFile (file: File): AttachmentFile {
  if (file.size > MAX_DIRECT_ATTACHMENT_BYTES) {
    throw new AttachmentTooLargeError(`${file.name} is ${(file.size / 1e6).toFixed(1)} MB; attachments are limited to ${MAX_DIRECT_ATTACHMENT_BYTES / 1e6} MB`)
  }
  const mimeType = file.type !== '' ? file.type : 'application/octet-stream'
  const kind = kindOf(mimeType)
  return {
    input: file.stream() as unknown as AsyncIterable<Uint8Array>,
    fileName: file.name,
    mimeType: kind === 'file' ? 'application/octet-stream' : mimeType,
    kind
  }
}
