/** How values are written on screen. */
import type { HistoryEntry } from '../../../src/peer/index.js'

/**
 * The formatters, made once: `toLocaleTimeString` with options builds an
 * Intl formatter on every call, and a thread formats every message's time
 * on each render (a quarter of the tab's CPU while 220 messages arrived).
 */
const timeOfDay = new Intl.DateTimeFormat([], { hour: '2-digit', minute: '2-digit' })
const dateAndTime = new Intl.DateTimeFormat([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })

/** A time of day, or a date and time when not today. */
export function formatTime (ms: number, now = Date.now()): string {
  const d = new Date(ms)
  const today = new Date(now)
  const sameDay = today.getFullYear() === d.getFullYear() && today.getMonth() === d.getMonth() && today.getDate() === d.getDate()
  return sameDay ? timeOfDay.format(d) : dateAndTime.format(d)
}

/** Our message's delivery state in words. */
export function deliveryText (m: HistoryEntry): string {
  switch (m.sendState) {
    case 'queued': return 'Queued'
    case 'relayed': return `Held by ${m.relays ?? 0} relay${m.relays === 1 ? '' : 's'}`
    case 'delivered': return 'Delivered'
    case 'read': return 'Read'
    case 'failed': return 'Failed'
    case undefined: return ''
  }
}

/** A byte count for people. */
export function formatBytes (n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`
  return `${(n / 1024 / 1024).toFixed(1)} MB`
}

/** The name part of `name~tag`. */
export function shortName (handle: string): string {
  return handle.split('~')[0]
}

/** Bidi controls (embeddings, overrides, isolates, marks): in a file name they make "invoice\u202Efdp.exe" look like "invoiceexe.pdf". */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/gu

/** A received file name as shown and saved: without bidi controls, so that it reads in the order it is stored (its real extension last). */
export function fileNameShown (name: string): string {
  return name.replace(BIDI_CONTROLS, '')
}

/** "0:42", "1:02:05". */
export function formatDuration (ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000))
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** A call event of a thread in words: "Voice call, 0:42", "Missed video call", "Voice call declined", "Voice call: busy". */
export function callText (call: { outcome: string, durationMs: number, video: boolean } | undefined): string {
  if (call == null) return 'Call'
  const what = call.video ? 'video call' : 'voice call'
  const What = call.video ? 'Video call' : 'Voice call'
  switch (call.outcome) {
    case 'ended': return `${What}, ${formatDuration(call.durationMs)}`
    case 'missed': return `Missed ${what}`
    case 'declined': return `${What} declined`
    case 'busy': return `${What}: busy`
    default: return What
  }
}
