/**
 * How one message reads in human output (history, chat): an attachment's
 * name, size, type and how far it got; a delivery state in words; earlier
 * versions of an edited text.
 */
import { callSummary } from '../calls/format.js'
import type { CallEventView } from '../calls/format.js'

/** One file of a message, as the daemon's `history` method returns it. */
export interface AttachmentJson { id: string, fileName?: string, mimeType?: string, size?: number, caption?: string }
/** How far one file got. */
export interface AttachmentStateJson { id?: string, complete: boolean, receivedChunks: number, totalChunks: number, waiting?: string }

/** One timeline entry as the daemon's `history` method returns it. */
export interface HistoryMessage {
  id: string
  author: { account: string }
  timestamp: number
  kind: string
  text?: string
  deleted: boolean
  edited: boolean
  replyTo?: { id: string }
  reactions: Array<{ emoji: string, by: string[] }>
  /** Our messages: queued, relayed, delivered, read, failed (the only state field). */
  sendState?: string
  relays?: number
  history?: Array<{ text: string, timestamp: number }>
  /** Every file of the message, in order (`attachment` is the first, for older daemons). */
  attachments?: AttachmentJson[]
  attachment?: AttachmentJson
  /** How far each file got, in the order of `attachments`. */
  attachmentStates?: AttachmentStateJson[]
  attachmentState?: AttachmentStateJson
  call?: CallEventView
}

/** `n thing` or `n things`. */
export function plural (n: number, thing: string): string {
  return `${n} ${thing}${n === 1 ? '' : 's'}`
}

/** A size as people read it: 812 B, 4.2 KB, 12.0 MB (powers of 1000, as file managers show them). */
export function formatSize (bytes: number): string {
  if (bytes < 1000) return `${bytes} B`
  const units = ['KB', 'MB', 'GB']
  let n = bytes / 1000
  let unit = 0
  while (n >= 1000 && unit < units.length - 1) {
    n /= 1000
    unit++
  }
  return `${n.toFixed(1)} ${units[unit]}`
}

/** The delivery state of one of our messages, in words ("held by 1 relay"). */
export function sendStateText (m: Pick<HistoryMessage, 'sendState' | 'relays'>): string {
  if (m.sendState === 'relayed') return `held by ${plural(m.relays ?? 0, 'relay')}`
  return m.sendState ?? ''
}

/**
 * An attachment as one bracket: name, size, type, and on the receiving side
 * how far it got (`received`, `receiving 3/10 chunks`, why it waits).
 */
export function fileText (a: AttachmentJson, s: AttachmentStateJson | undefined, mine: boolean): string {
  const parts = [a.fileName ?? 'file']
  if (a.size != null) parts.push(formatSize(a.size))
  if (a.mimeType != null) parts.push(a.mimeType)
  if (!mine && s != null) {
    parts.push(s.complete ? 'received' : `receiving ${s.receivedChunks}/${plural(s.totalChunks, 'chunk')}${s.waiting != null ? `, waiting: ${s.waiting}` : ''}`)
  }
  return `[${parts.join(', ')}]`
}

/** Every file of a message, one bracket each, in the order sent. */
export function attachmentText (m: HistoryMessage, mine: boolean): string {
  const files = m.attachments ?? (m.attachment != null ? [m.attachment] : [])
  if (files.length === 0) return '[file]'
  const states = m.attachmentStates ?? (m.attachmentState != null ? [m.attachmentState] : [])
  // States are listed in the order of the files, but a file without one (no record here) would shift them.
  const stateOf = (a: AttachmentJson, i: number): AttachmentStateJson | undefined => states.find(s => s.id === a.id) ?? (states[i]?.id == null ? states[i] : undefined)
  return files.map((a, i) => fileText(a, stateOf(a, i), mine)).join(' ')
}

/** The body of a message: its text, `(deleted)`, or the attachment with its caption. */
export function bodyText (m: HistoryMessage, mine: boolean): string {
  if (m.deleted) return '(deleted)'
  if (m.kind === 'attachment') return `${attachmentText(m, mine)}${m.text != null && m.text !== '' ? ' ' + m.text : ''}`
  if (m.kind === 'call') return callSummary(m.call)
  return m.text ?? `(${m.kind})`
}

/** Earlier versions of an edited message, oldest first (the current one is left out). */
export function earlierVersions (m: HistoryMessage): string[] {
  if (!m.edited || m.deleted || m.history == null) return []
  return m.history.slice(0, -1).map(v => v.text)
}
