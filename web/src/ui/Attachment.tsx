/** An attachment in a message: images and GIFs inline, audio playable, other files downloadable; progress until whole. */
import { useEffect, useState } from 'preact/hooks'
import type { HistoryEntry } from '../../../src/peer/index.js'
import type { RunningPeer } from '../app/client.js'
import { formatBytes } from './format.js'

interface Descriptor { id: string, fileName: string, mimeType: string, kind: string, size: number, caption?: string }

export function Attachment ({ m, running }: { m: HistoryEntry, running: RunningPeer }) {
  const d = m.attachment as Descriptor | undefined
  const state = m.attachmentState
  const [url, setUrl] = useState<string>()
  const complete = state?.complete === true
  useEffect(() => {
    if (d == null || !complete) return
    running.attachmentUrl(d.id, d.mimeType).then(setUrl).catch(() => {})
  }, [d?.id, complete])
  if (d == null) return null
  const caption = d.caption != null && d.caption !== '' ? <p class="text caption">{d.caption}</p> : null
  if (!complete || url == null) {
    const pct = state != null && state.totalChunks > 0 ? Math.floor(100 * state.receivedChunks / state.totalChunks) : 0
    return (
      <div class="attachment pending" data-attachment-id={d.id}>
        <p>{d.fileName} · {formatBytes(d.size)}</p>
        {state?.waiting === 'request'
          ? <p class="hint">Accept the request to receive this file.</p>
          : <progress max={100} value={pct} aria-label={`Receiving ${d.fileName}`}>{pct}%</progress>}
        {state?.waiting != null && state.waiting !== 'request' && <button type="button" class="link" onClick={() => { void running.download(d.id) }}>Download now</button>}
        {caption}
      </div>
    )
  }
  return (
    <div class={`attachment ${d.kind}`} data-attachment-id={d.id} data-complete="true">
      {(d.kind === 'image' || d.kind === 'gif') && <img src={url} alt={d.caption ?? d.fileName} loading="lazy" />}
      {d.kind === 'audio' && <audio controls src={url} aria-label={d.fileName} />}
      <a href={url} download={d.fileName}>{d.kind === 'file' ? `Download ${d.fileName}` : 'Save'} ({formatBytes(d.size)})</a>
      {caption}
    </div>
  )
}
