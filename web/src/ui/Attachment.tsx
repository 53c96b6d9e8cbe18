/**
 * An attachment in a message: images and GIFs inline, audio playable, other
 * files downloadable; progress until whole. An image too large to decode
 * safely is offered as a file. File names are shown and saved without bidi
 * controls (a contact chooses them).
 */
import { useEffect, useState } from 'preact/hooks'
import type { HistoryEntry } from '../../../src/peer/index.js'
import type { AttachmentUrl, RunningPeer } from '../app/client.js'
import { fileNameShown, formatBytes } from './format.js'

interface Descriptor { id: string, fileName: string, mimeType: string, kind: string, size: number, caption?: string }

export function Attachment ({ m, running }: { m: HistoryEntry, running: RunningPeer }) {
  const d = m.attachment as Descriptor | undefined
  const state = m.attachmentState
  const [shown, setShown] = useState<AttachmentUrl>()
  const complete = state?.complete === true
  useEffect(() => {
    if (d == null || !complete) return
    running.attachmentUrl(d.id, d.mimeType, d.kind).then(setShown).catch(() => {})
  }, [d?.id, complete])
  if (d == null) return null
  const name = fileNameShown(d.fileName)
  const caption = d.caption != null && d.caption !== '' ? <p class="text caption">{d.caption}</p> : null
  if (!complete || shown == null) {
    const pct = state != null && state.totalChunks > 0 ? Math.floor(100 * state.receivedChunks / state.totalChunks) : 0
    return (
      <div class="attachment pending" data-attachment-id={d.id}>
        <p>{name} · {formatBytes(d.size)}</p>
        {state?.waiting === 'request'
          ? <p class="hint">Accept the request to receive this file.</p>
          : <progress max={100} value={pct} aria-label={`Receiving ${name}`}>{pct}%</progress>}
        {state?.waiting != null && state.waiting !== 'request' && <button type="button" class="link" onClick={() => { void running.download(d.id) }}>Download now</button>}
        {caption}
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
      {caption}
    </div>
  )
}
