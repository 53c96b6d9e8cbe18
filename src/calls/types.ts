/** The types a call's host and UI see: states, end reasons, the remote party, events, a session's parts. */
import type { PeerId } from '@libp2p/interface'
import type { CallChannel } from './pending-channel.js'
import type { CallRtcConfiguration, MediaAttacher, PeerConnectionFactory } from './peer-connection.js'

/** Where a call stands. */
export type CallState = 'calling' | 'ringing' | 'connecting' | 'connected' | 'reconnecting' | 'ended'

/**
 * Why a call ended: `hangup` (this side), `remote-hangup`, `declined`,
 * `busy`, `missed` (nobody answered in time, or the caller gave up while it
 * rang), `failed` (no media path, or it did not recover), `fingerprint` (the
 * remote certificate is not the one the SDP named), `protocol` (the other
 * side broke the protocol or a budget), `unreachable` (the callee's device
 * could not be reached), `answered-elsewhere` (another device of the
 * callee's account took the call: on the devices that rang, and on the
 * caller's side for each ring that lost).
 */
export type CallEndReason = 'hangup' | 'remote-hangup' | 'declined' | 'busy' | 'missed' | 'failed' | 'fingerprint' | 'protocol' | 'unreachable' | 'answered-elsewhere'

/** Who is on the other end, as the verified device record and the contacts say. */
export interface RemoteParty {
  /** The device (its peer id is the stream's authenticated one). */
  device: PeerId
  /** The account key, hex. */
  account: string
  /** The `name~tag`, when known. */
  handle?: string
  /** A contact (else the call is a request). */
  contact: boolean
}

/** A call's events, one union on `type`. */
export type CallSessionEvent =
  | { type: 'state', state: CallState }
  | { type: 'ringing', request: boolean }
  | { type: 'remote-media', audio: boolean, video: boolean }
  | { type: 'warning', message: string }
  | { type: 'ended', reason: CallEndReason, durationMs: number, message?: string }

/** What a session is made with. */
export interface CallSessionInit {
  callId: Uint8Array
  direction: 'outgoing' | 'incoming'
  remote: RemoteParty
  video: boolean
  channel: CallChannel
  createPeerConnection: PeerConnectionFactory
  /** With it, a contact's call gets its connection while it rings (no media, nothing sent), and media at the accept. */
  attachMedia?: MediaAttacher
  /** ICE servers and policy, read when the connection is made (TURN credentials are short-lived). */
  rtcConfiguration(request: { stranger: boolean }): Promise<CallRtcConfiguration>
  /** Hide my IP as it is now (read at the accept: the connection made while ringing had the setting of then). */
  hidesAddress?: () => boolean
  /** True when an SDP names a fingerprint of an earlier call (a replay). */
  seenFingerprint(fingerprint: string): boolean
  /** Only loopback candidates are sent and taken (everything on one machine: tests, benchmarks). */
  loopbackOnly?: boolean
  now(): number
  ringTimeoutMs?: number
  /** From the accept to connected (default CONNECT_TIMEOUT_MS). */
  connectTimeoutMs?: number
  /** Runs once as the call ends, before its state changes (the service announces a placed call that ends before its ring left). */
  ending?: () => void
}
