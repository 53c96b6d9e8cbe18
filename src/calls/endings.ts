/**
 * How a call ends when the other side ends it, or its signalling stream goes:
 * the reason each side records (and the thread shows), from the state the
 * call was in.
 */
import { CallBindingError, CallBudgetError, CallProtocolError } from './errors.js'
import type { CallEndReason, CallState } from './types.js'
import type { HangupReasonName } from './wire.js'

/** The end of a call the other side hung up, with the warning to show, if any. */
export function remoteHangupEnd (state: CallState, reason: HangupReasonName): { reason: CallEndReason, message?: string } {
  // A reason this version does not know: a plain end ("call ended") whatever the state, so that a reason added later breaks nothing.
  if (reason === 'unknown') return { reason: 'remote-hangup' }
  // Another device of ours took the call; else the caller gave up (or its ring timed out) before we answered.
  if (state === 'ringing') return { reason: reason === 'answered-elsewhere' ? 'answered-elsewhere' : 'missed' }
  if (reason === 'fingerprint') return { reason: 'fingerprint', message: 'the other side found a DTLS certificate it did not expect: the call may have been tampered with' }
  if (reason === 'protocol') return { reason: 'protocol', message: 'the other side ended the call: it says this side broke the protocol' }
  // Accepted, but the other side could not connect it (its connect time ran out, its devices or answer failed): not a decline.
  if (reason === 'failed' && (state === 'calling' || state === 'connecting')) return { reason: 'failed', message: 'the other side could not connect the call' }
  // While we call, the callee hangs up only when its ring timed out (declining is its own frame).
  if (state === 'calling') return { reason: reason === 'timeout' ? 'missed' : 'declined' }
  return { reason: 'remote-hangup' }
}

/**
 * The end of a call whose signalling stream closed with `err` (none for a
 * clean close), or undefined when the call goes on. The other side broke
 * the protocol: the call ends whatever its state, and the other side is
 * told why (`tell`: on the data channel, the stream being gone). Else a
 * connected call outlives its stream (the data channel carries the
 * hang-up); before that, the stream is the call. A caller whose ring is
 * dropped cannot tell a refusal from a device gone: unreachable.
 */
export function streamClosedEnd (state: CallState, err?: Error): { reason: CallEndReason, tell?: true } | undefined {
  if (err instanceof CallProtocolError || err instanceof CallBindingError || err instanceof CallBudgetError) return { reason: 'protocol', tell: true }
  if (state === 'connected' || state === 'reconnecting') return undefined
  return { reason: state === 'ringing' ? 'missed' : state === 'calling' ? 'unreachable' : 'failed' }
}
