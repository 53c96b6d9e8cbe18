/**
 * The daemon's `attachment` method: a message's files (one or several),
 * or one file by its own id: how far each got, and writing them out. A
 * message id covers every file of the message: `saveTo` writes them all
 * (each under its own name), `save FILE` only works for one file.
 */
import { toHex } from '../../src/messenger/bytes.js'
import type { AttachmentDescriptor } from '../../src/messenger/model/index.js'
import type { AttachmentState } from '../../src/messenger/index.js'
import type { StarlingPeer } from '../../src/peer/index.js'
import type { FileBlobStore } from '../blob-store.js'
import { CommandError } from '../errors.js'
import { saveUnderName } from './downloads.js'
import { resolveMessageId } from './message-ids.js'

/** One file as the method reports it. */
export interface AttachmentInfo extends AttachmentState {
  message?: string
  mimeType?: string
  kind?: string
  /** Our own file (sent from this account). */
  mine: boolean
  /** Where it was saved, or where the plaintext is stored (null: not here, or encrypted at rest). */
  path: string | null
  saved: boolean
  encrypted: boolean
}

/** The method's answer: the first file's fields (as before messages carried several) and every file. */
export type AttachmentAnswer = AttachmentInfo & { files: AttachmentInfo[] }

/** Parameters as the CLI sends them. */
export interface AttachmentParams {
  id: string
  download?: boolean
  /** A new file to write one attachment to. */
  save?: string
  /** A folder to write every file into under its own name ('' = the downloads folder). */
  saveTo?: string
}

/** Answers `attachment` for `p`; `downloads` is the folder `saveTo: ''` means. */
export async function attachmentMethod (peer: StarlingPeer<FileBlobStore>, p: AttachmentParams, downloads?: string): Promise<AttachmentAnswer> {
  const { messenger, blobs } = peer
  // The message's id (as history shows it) or one file's own.
  const found = await resolveMessageId(messenger, p.id, 'id', undefined, true)
  const view = found.view
  if (view != null && (view.attachments ?? []).length === 0) throw new CommandError(`message ${view.id.slice(0, 8)} has no attachment`)
  const files: Array<{ id: Uint8Array, d?: AttachmentDescriptor }> = view == null
    ? [{ id: found.id }]
    : (found.file != null ? [view.attachments?.[found.file]] : view.attachments ?? []).filter(d => d != null).map(d => ({ id: d.id, d }))
  const save = p.save != null && p.save !== '' ? p.save : undefined
  // saveTo: a folder (the downloads folder when empty); each file keeps its own name there.
  const saveTo = p.saveTo != null ? (p.saveTo !== '' ? p.saveTo : downloads) : undefined
  if (p.saveTo != null && saveTo == null) throw new CommandError('this daemon has no downloads folder: name a DIR')
  if (save != null && files.length > 1) throw new CommandError(`message ${view?.id.slice(0, 8) ?? ''} has ${files.length} files: --save FILE writes one (name it by its own id), save [DIR] writes them all`)
  const states: AttachmentState[] = []
  for (const f of files) {
    const state = p.download === true ? await messenger.attachments?.download(f.id) : await messenger.attachments?.state(f.id)
    if (state == null) throw new CommandError(`no attachment ${toHex(f.id)}`)
    states.push(state)
  }
  // Nothing is written unless every file asked for is whole.
  const partial = states.find(s => !s.complete)
  if ((save != null || saveTo != null) && partial != null) throw new CommandError(`attachment ${partial.fileName} (${partial.id}) is not complete yet (${partial.receivedChunks}/${partial.totalChunks} chunks)`)
  const mine = view != null && toHex(view.author.account) === toHex(messenger.init.identity.accountPublicKey)
  const out: AttachmentInfo[] = []
  for (const [i, state] of states.entries()) {
    const id = files[i].id
    let saved: string | undefined
    if (saveTo != null) saved = await saveUnderName(saveTo, state.fileName, async path => blobs.saveTo(id, path))
    if (save != null) {
      try {
        await blobs.saveTo(id, save)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CommandError(`${save} already exists; refusing to overwrite it`, { cause: err })
        throw err
      }
      saved = save
    }
    // Encrypted at rest, the stored file is no file to open: `save` writes the plaintext out.
    const stored = state.complete && !blobs.encrypted ? blobs.completePath(id) : null
    const d = files[i].d
    out.push({ ...state, message: view?.id, mimeType: d?.mimeType, kind: d?.kind, mine, path: saved ?? stored, saved: saved != null, encrypted: blobs.encrypted })
  }
  return { ...out[0], files: out }
}
