/**
 * Which frames of `/starling/call/1.0.0` each side takes, and when: a
 * frame outside these rules is the other side breaking the protocol, and
 * drops the call's stream (the call ends as `protocol`).
 */
import { CallProtocolError } from './errors.js'
import type { CallState } from './types.js'
import type { Signal } from './wire.js'

/** Frames only the callee sends (so only the caller takes them). */
const TO_CALLER = new Set<Signal['kind']>(['ringing', 'accept', 'decline', 'busy', 'restart'])

/** Throws CallProtocolError when `signal` may not come to this side now. */
export function checkFrame (signal: Signal, side: { direction: 'outgoing' | 'incoming', state: CallState, accepted: boolean }): void {
  // The ring opens the stream (the service takes it); a second one is an error.
  if (signal.kind === 'ring') throw new CallProtocolError('a second ring on one call')
  if (TO_CALLER.has(signal.kind) && side.direction !== 'outgoing') throw new CallProtocolError(`a ${signal.kind} frame sent to the callee`)
  if (signal.kind === 'accept' && side.state !== 'calling') throw new CallProtocolError(`accept while ${side.state}`)
  if (signal.kind === 'renegotiate' && !side.accepted) throw new CallProtocolError('a renegotiation before the call was accepted')
}
