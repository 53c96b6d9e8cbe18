/**
 * The files of a message: images and GIFs inline, audio playable, other
 * files downloadable; progress until whole. An image too large to decode
 * safely is offered as a file. File names are shown and saved without bidi
 * controls (a contact chooses them).
 */
import { useEffect, useState } from 'preact/hooks'
import type { AttachmentState } from '../../../src/messenger/index.js'
import type { HistoryEntry } from '../../../src/peer/index.js'
import type { AttachmentUrl, RunningPeer } from '../app/client.js'
import { fileNameShown, formatBytes } from './format.js'

interface Descriptor { id: string, fileName: string, mimeType: string, kind: string, size: number, caption?: string }

/**
 * Every file of an attachment message (an album): one view each, in the
 * order sent, the caption (on the first descriptor) once below them.
 */
export function Attachments ({ m, running }: { m: HistoryEntry, running: RunningPeer }) {
  const files = (m.attachments ?? (m.attachment != null ? [m.attachment] : [])) as Descriptor[]
  const states = m.attachmentStates ?? (m.attachmentState != null ? [m.attachmentState] : [])
  const caption = files[0]?.caption
  return (
    <div class={files.length > 1 ? 'attachments album' : 'attachments'}>
      {files.map(d => <Attachment key={d.id} d={d} state={states.find(s => s.id === d.id)} running={running} />)}
      {caption != null && caption !== '' && <p class="text caption">{caption}</p>}
    </div>
  )
}

function Attachment ({ d, state, running }: { d: Descriptor, state: AttachmentState | undefined, running: RunningPeer }) {
  const [shown, setShown] = useState<AttachmentUrl>()
  const complete = state?.complete === true
  useEffect(() => {
    if (!complete) return
    running.attachmentUrl(d.id, d.mimeType, d.kind).then(setShown).catch(() => {})
  }, [d.id, complete])
  const name = fileNameShown(d.fileName)
  if (!complete || shown == null) {
    const pct = state != null && state.totalChunks > 0 ? Math.floor(100 * state.receivedChunks / state.totalChunks) : 0
    return (
      <div class="attachment pending" data-attachment-id={d.id}>
        <p>{name} · {formatBytes(d.size)}</p>
        {state?.waiting === 'request'
          ? <p class="hint">Accept the request to receive this file.</p>
          : <progress max={100} value={pct} aria-label={`Receiving ${name}`}>{pct}%</progress>}
        {state?.waiting != null && state.waiting !== 'request' && <button type="button" class="link" onClick={() => { void running.download(d.id) }}>Download now</button>}
      </div>
    )
  }
  const image = d.kind === 'image' || d.kind === 'gif'
  const { url, inline } = shown
  return (
    <div class={`attachment ${d.kind}`} data-attachment-id={d.id} data-complete="true">
      {image && inline && <img src={url} alt={d.caption ?? name} loading="lazy" />}
      {image && !inline && <p class="hint">{name}: too large to show here (or not an image this app shows). Save it to open it elsewhere.</p>}
      {d.kind === 'audio' && inline && <audio controls src={url} aria-label={name} />}
      <a href={url} download={name}>{d.kind === 'file' || !inline ? `Download ${name}` : 'Save'} ({formatBytes(d.size)})</a>
    </div>
  )
}
