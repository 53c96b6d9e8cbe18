/** One line for a call event in a thread (history, chat). */

/** A call event as the history view gives it. */
export interface CallEventView {
  outcome: string
  durationMs: number
  video: boolean
}

/** "0:42", "1:02:05". */
export function formatDuration (ms: number): string {
  const total = Math.round(ms / 1000)
  const h = Math.floor(total / 3600)
  const m = Math.floor((total % 3600) / 60)
  const s = String(total % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

/** "[voice call, 0:42]", "[missed video call]", "[voice call declined]", "[voice call: busy]". */
export function callSummary (call: CallEventView | undefined): string {
  if (call == null) return '[call]'
  const what = call.video ? 'video call' : 'voice call'
  switch (call.outcome) {
    case 'ended': return `[${what}, ${formatDuration(call.durationMs)}]`
    case 'missed': return `[missed ${what}]`
    case 'declined': return `[${what} declined]`
    case 'busy': return `[${what}: busy]`
    default: return `[${what}]`
  }
}
