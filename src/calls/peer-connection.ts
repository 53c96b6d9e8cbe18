/**
 * The small part of `RTCPeerConnection` a call uses, so that a browser's,
 * Node's `@roamhq/wrtc` and a unit test's fake all fit. The host makes the
 * connection (with its media tracks already added) through a
 * {@link PeerConnectionFactory}; the call drives it.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { toHex } from '../crypto/bytes.js'
import { normaliseFingerprint } from './sdp.js'

/** An SDP offer or answer. */
export interface SessionDescription {
  type: 'offer' | 'answer'
  sdp: string
}

/** A trickled ICE candidate. */
export interface IceCandidate {
  candidate: string
  sdpMid?: string | null
  sdpMLineIndex?: number | null
}

/** The call's data channel: hang-up travels on it too, so the far side learns at once. */
export interface CallDataChannel {
  readonly readyState: string
  send(data: string): void
  close(): void
  addEventListener(type: 'message', listener: (event: { data: unknown }) => void): void
  addEventListener(type: 'open' | 'close', listener: () => void): void
}

/** What a call needs of an `RTCPeerConnection`. */
export interface CallPeerConnection {
  readonly connectionState: string
  readonly iceConnectionState: string
  createOffer(options?: { iceRestart?: boolean }): Promise<SessionDescription | { type: string, sdp?: string }>
  createAnswer(): Promise<SessionDescription | { type: string, sdp?: string }>
  setLocalDescription(description: { type: 'offer' | 'answer', sdp: string }): Promise<void>
  setRemoteDescription(description: { type: 'offer' | 'answer', sdp: string }): Promise<void>
  addIceCandidate(candidate: IceCandidate): Promise<void>
  createDataChannel(label: string, options: { negotiated: true, id: number }): CallDataChannel
  /** The senders of the host's tracks (mute and camera toggle their tracks). */
  getSenders?(): Array<{ track: { kind: string, enabled: boolean } | null }>
  /**
   * The transceivers (a callee's connection made while it rings is set to
   * send on them before its answer is made, the media coming at the accept
   * with `replaceTrack`: connection.ts, {@link MediaAttacher}).
   */
  getTransceivers?(): Array<{ direction: string }>
  getStats(): Promise<{ forEach(callback: (value: Record<string, unknown>, key: string) => void): void }>
  addEventListener(type: 'icecandidate', listener: (event: { candidate: IceCandidate | null }) => void): void
  addEventListener(type: 'connectionstatechange' | 'iceconnectionstatechange', listener: () => void): void
  close(): void
}

/** ICE configuration a call is made with. */
export interface CallRtcConfiguration {
  /** Only from the user's own relays (DESIGN.md, Calls): never a third party. */
  iceServers: Array<{ urls: string[], username?: string, credential?: string }>
  /** 'relay' forces media through TURN (a stranger's call, hide my IP). */
  iceTransportPolicy: 'all' | 'relay'
}

/** The options a host gives `new RTCPeerConnection()` for a call's connection. */
export interface CallPeerConnectionOptions extends CallRtcConfiguration {
  bundlePolicy: 'max-bundle'
}

/**
 * A call's connection options from its ICE configuration: the media and
 * the data channel on one transport from the offer on ('max-bundle'). With
 * the default ('balanced') an offer gathers a transport per media kind and
 * one for the data channel until the answer bundles them: a caller's
 * candidates were ~12 instead of 2 on loopback, each crossing the network
 * and each `addIceCandidate` holding the callee's page thread (0.3-33 ms,
 * traces of the call benchmark). Every peer of ours runs libwebrtc, which
 * bundles.
 */
export function peerConnectionOptions (config: CallRtcConfiguration): CallPeerConnectionOptions {
  return { iceServers: config.iceServers, iceTransportPolicy: config.iceTransportPolicy, bundlePolicy: 'max-bundle' }
}

/** What the factory is told about the call it makes a connection for. */
export interface CallMediaRequest {
  callId: string
  direction: 'outgoing' | 'incoming'
  /** Video asked for (both sides send audio). */
  video: boolean
  /**
   * False for a callee's connection made while it rings: no microphone or
   * camera yet (nothing is captured before the user accepts); the host's
   * {@link MediaAttacher} adds them at the accept.
   */
  media?: boolean
}

/**
 * Makes a connection for a call, with the host's media added (tracks,
 * transceivers) unless `request.media` is false. Called for the caller when
 * it places the call; for the callee when the user accepts, or, when the
 * host also gives a {@link MediaAttacher}, while the call rings (without
 * media: the callee's connection then waits ready, and sends nothing).
 */
export type PeerConnectionFactory = (config: CallRtcConfiguration, request: CallMediaRequest) => Promise<CallPeerConnection>

/**
 * Adds the host's microphone (and camera, when `video`) to a callee's
 * connection the factory made without media, once the user accepts. When
 * the connection has `getTransceivers`, its answer was made while it rang
 * with the offer's transceivers set to send and no track: the host puts its
 * tracks on their senders (`replaceTrack`: no renegotiation); else the
 * answer is made after this (the offer's transceivers take the tracks).
 */
export type MediaAttacher = (callId: string, options: { video: boolean }) => Promise<void>

/** A DTLS transport that gives its remote certificates (browsers: `RTCDtlsTransport`). */
interface CertificateTransport {
  getRemoteCertificates?(): ArrayBuffer[]
}

/**
 * The remote DTLS certificate chains, DER, one per DTLS transport of the
 * connection (`RTCDtlsTransport.getRemoteCertificates()`: browsers): the
 * SCTP transport's and every sender's and receiver's, each once. Media that
 * are not bundled have a transport per media section, and each must be
 * checked: the stats read this replaced checked them all. Empty where the
 * connection shows no such transport (Node's `@roamhq/wrtc`, fakes).
 */
function transportCertificates (pc: object): ArrayBuffer[][] {
  type Transport = CertificateTransport | null | undefined
  const p = pc as { sctp?: { transport?: Transport } | null, getSenders?: () => Array<{ transport?: Transport }>, getReceivers?: () => Array<{ transport?: Transport }> }
  const transports = new Set<Transport>([p.sctp?.transport, ...(p.getSenders?.() ?? []).map(s => s.transport), ...(p.getReceivers?.() ?? []).map(r => r.transport)])
  const chains: ArrayBuffer[][] = []
  for (const transport of transports) {
    if (typeof transport?.getRemoteCertificates === 'function') chains.push(transport.getRemoteCertificates())
  }
  return chains
}

/**
 * The SHA-256 fingerprints of the remote DTLS certificates: in a browser
 * from the DTLS transports' certificates (each leaf, hashed here: no full
 * stats read, which queues on the WebRTC threads behind every other read
 * of that moment); else from `getStats()` (the `transport` entry's
 * `remoteCertificateId` and that `certificate` entry: W3C webrtc-stats
 * §5.5; what Chromium and `@roamhq/wrtc` give). Empty when neither names
 * one (not connected yet).
 */
export async function remoteFingerprints (pc: Pick<CallPeerConnection, 'getStats'>): Promise<string[]> {
  // Each chain's leaf is the one the SDP's fingerprint names (RFC 8122 §5); a transport not up yet gives none.
  const leaves = transportCertificates(pc).filter(chain => chain.length > 0).map(chain => normaliseFingerprint(toHex(sha256(new Uint8Array(chain[0])))))
  if (leaves.length > 0) return [...new Set(leaves)]
  const entries = new Map<string, Record<string, unknown>>()
  const report = await pc.getStats()
  report.forEach((value, key) => { entries.set(key, value) })
  const out = new Set<string>()
  for (const entry of entries.values()) {
    if (entry.type !== 'transport' || typeof entry.remoteCertificateId !== 'string') continue
    const certificate = entries.get(entry.remoteCertificateId)
    if (certificate == null || typeof certificate.fingerprint !== 'string') continue
    if (typeof certificate.fingerprintAlgorithm === 'string' && certificate.fingerprintAlgorithm.toLowerCase() !== 'sha-256') continue
    out.add(normaliseFingerprint(certificate.fingerprint))
  }
  return [...out]
}
