/**
 * Frames of `/starling/call/1.0.0` as typed values: a {@link Signal} for
 * each kind, checked on decode (exactly one kind set, call id length, SDP
 * and candidate lengths). Framing (varint length, bounded before the body
 * is buffered) is the direct-message protocol's.
 */
import type { Uint8ArrayList } from 'uint8arraylist'
import { FrameDecoder as DmFrameDecoder, encodeFrame } from '../protocols/dm/dm.js'
import { CALL_ID_BYTES, MAX_CANDIDATE_LENGTH, MAX_FRAME_LENGTH, MAX_SDP_LENGTH } from './constants.js'
import { CallProtocolError } from './errors.js'
import { CallFrame } from './pb/call.js'
import type { IceCandidate } from './peer-connection.js'

/**
 * Why a call was hung up. `unknown` is only ever received: a reason this
 * version does not know (one added later), taken as a plain end of the call
 * so that a new reason does not break older peers; it is sent as `normal`.
 */
export type HangupReasonName = 'normal' | 'timeout' | 'failed' | 'fingerprint' | 'protocol' | 'answered-elsewhere' | 'unknown'

/** One signalling message. */
export type Signal =
  | { kind: 'ring', video: boolean, sdp: string, deviceRecord?: Uint8Array, name?: string }
  | { kind: 'ringing', request: boolean }
  | { kind: 'accept', sdp: string, video: boolean }
  | { kind: 'decline' }
  | { kind: 'busy' }
  | { kind: 'hangup', reason: HangupReasonName }
  | { kind: 'candidate', candidate: IceCandidate }
  | { kind: 'renegotiate', sdp: string, answer: boolean }
  | { kind: 'media', audio: boolean, video: boolean }
  | { kind: 'restart' }
  | { kind: 'unknown' }

/** A decoded frame: its call and what it says. */
export interface CallMessage {
  callId: Uint8Array
  signal: Signal
}

/** The numbers of `HangupReason` in pb/call.proto (the field is read as a number: see there). */
const REASONS: Array<[HangupReasonName, number]> = [
  ['normal', 1],
  ['timeout', 2],
  ['failed', 3],
  ['fingerprint', 4],
  ['protocol', 5],
  ['answered-elsewhere', 6]
]
const NORMAL = 1

/** A frame ready for `stream.send`. */
export function encodeCallFrame (callId: Uint8Array, signal: Signal): Uint8ArrayList {
  const frame: Partial<CallFrame> = { callId: callId as Uint8Array<ArrayBuffer> }
  switch (signal.kind) {
    case 'ring': frame.ring = { video: signal.video, sdp: signal.sdp, deviceRecord: (signal.deviceRecord ?? new Uint8Array(0)) as Uint8Array<ArrayBuffer>, name: signal.name ?? '' }; break
    case 'ringing': frame.ringing = { request: signal.request }; break
    case 'accept': frame.accept = { sdp: signal.sdp, video: signal.video }; break
    case 'decline': frame.decline = {}; break
    case 'busy': frame.busy = {}; break
    case 'hangup': frame.hangup = { reason: REASONS.find(r => r[0] === signal.reason)?.[1] ?? NORMAL }; break
    case 'candidate': frame.candidate = {
      candidate: signal.candidate.candidate,
      sdpMid: signal.candidate.sdpMid ?? undefined,
      sdpMLineIndex: signal.candidate.sdpMLineIndex ?? undefined
    }; break
    case 'renegotiate': frame.renegotiate = { sdp: signal.sdp, answer: signal.answer }; break
    case 'media': frame.media = { audio: signal.audio, video: signal.video }; break
    case 'restart': frame.restart = true; break
    // Never sent: it stands for a frame of a kind this version does not know.
    case 'unknown': throw new CallProtocolError('a frame of no known kind cannot be sent')
  }
  return encodeFrame(CallFrame.encode(frame))
}

function sdp (value: string): string {
  if (value.length === 0 || value.length > MAX_SDP_LENGTH) throw new CallProtocolError(`SDP of ${value.length} characters`)
  return value
}

/** A frame body as a {@link CallMessage}; CallProtocolError for anything malformed. */
export function decodeCallFrame (body: Uint8Array | Uint8ArrayList): CallMessage {
  let frame: CallFrame
  try {
    frame = CallFrame.decode(body)
  } catch (err) {
    throw new CallProtocolError('malformed call frame', { cause: err })
  }
  if (frame.callId.byteLength !== CALL_ID_BYTES) throw new CallProtocolError(`call id of ${frame.callId.byteLength} bytes`)
  const signals: Signal[] = []
  if (frame.ring != null) {
    signals.push({ kind: 'ring', video: frame.ring.video, sdp: sdp(frame.ring.sdp), deviceRecord: frame.ring.deviceRecord.byteLength > 0 ? frame.ring.deviceRecord : undefined, name: frame.ring.name !== '' ? frame.ring.name.slice(0, 64) : undefined })
  }
  if (frame.ringing != null) signals.push({ kind: 'ringing', request: frame.ringing.request })
  if (frame.accept != null) signals.push({ kind: 'accept', sdp: sdp(frame.accept.sdp), video: frame.accept.video })
  if (frame.decline != null) signals.push({ kind: 'decline' })
  if (frame.busy != null) signals.push({ kind: 'busy' })
  if (frame.hangup != null) {
    // A reason added after this version (or none) ends the call plainly, never as a protocol error.
    const reason = REASONS.find(r => r[1] === frame.hangup?.reason)?.[0] ?? 'unknown'
    signals.push({ kind: 'hangup', reason })
  }
  if (frame.candidate != null) {
    const c = frame.candidate
    if (c.candidate.length > MAX_CANDIDATE_LENGTH || (c.sdpMid?.length ?? 0) > 64) throw new CallProtocolError('candidate too long')
    signals.push({ kind: 'candidate', candidate: { candidate: c.candidate, sdpMid: c.sdpMid ?? null, sdpMLineIndex: c.sdpMLineIndex ?? null } })
  }
  if (frame.renegotiate != null) signals.push({ kind: 'renegotiate', sdp: sdp(frame.renegotiate.sdp), answer: frame.renegotiate.answer })
  if (frame.media != null) signals.push({ kind: 'media', audio: frame.media.audio, video: frame.media.video })
  if (frame.restart === true) signals.push({ kind: 'restart' })
  // Protobuf skips fields it does not know: a frame of a kind added later arrives with none set.
  if (signals.length === 0) return { callId: frame.callId, signal: { kind: 'unknown' } }
  if (signals.length !== 1) throw new CallProtocolError(`a call frame carries ${signals.length} signals, not one`)
  return { callId: frame.callId, signal: signals[0] }
}

/** Splits a stream into call frames; CallProtocolError for an over-long one. */
export class CallFrameDecoder {
  private readonly frames = new DmFrameDecoder(MAX_FRAME_LENGTH)

  /** Bytes received that do not yet form a whole frame. */
  get buffered (): number {
    return this.frames.buffered
  }

  /** Appends `chunk` and yields every message now complete. */
  * decode (chunk: Uint8Array | Uint8ArrayList): Generator<CallMessage> {
    try {
      for (const body of this.frames.decode(chunk)) yield decodeCallFrame(body)
    } catch (err) {
      if (err instanceof CallProtocolError) throw err
      throw new CallProtocolError((err as Error).message, { cause: err })
    }
  }
}

/** Longest in-band message taken from the call's data channel. */
const MAX_INBAND_LENGTH = 256
const REASON_NAMES = new Set<string>(REASONS.map(r => r[0]))

/** The hang-up sent on the call's data channel. */
export function inbandHangup (reason: HangupReasonName): string {
  return JSON.stringify({ hangup: reason })
}

/**
 * The reason of an in-band hang-up (`unknown` for a reason this version does
 * not know: the call ends all the same), or undefined for anything else
 * (ignored: it is the other side's to send).
 */
export function parseInbandHangup (data: unknown): HangupReasonName | undefined {
  if (typeof data !== 'string' || data.length > MAX_INBAND_LENGTH) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(data)
  } catch {
    return undefined
  }
  const reason = typeof parsed === 'object' && parsed != null ? (parsed as { hangup?: unknown }).hangup : undefined
  if (typeof reason !== 'string') return undefined
  return REASON_NAMES.has(reason) ? reason as HangupReasonName : 'unknown'
}
