/**
 * What the signalling reads and rewrites in SDP (RFC 8866) and ICE
 * candidates (RFC 8839). Nothing here trusts the text: every function takes
 * hostile input and is bounded by the frame size.
 */
import { CallProtocolError } from './errors.js'

/**
 * An SDP with every address taken out, so that merely ringing someone
 * reveals none (issue 12): candidate lines and end-of-candidates dropped,
 * connection lines set to 0.0.0.0 (RFC 8839 §4.3.1: the value used before
 * any candidate is known), `a=rtcp` addresses dropped, and the origin's
 * address set to 127.0.0.1 (what browsers put there; an implementation
 * could put its real address).
 */
export function stripAddresses (sdp: string): string {
  const out: string[] = []
  for (const line of sdp.split(/\r?\n/)) {
    if (line === '') continue
    if (line.startsWith('a=candidate:') || line.startsWith('a=end-of-candidates') || line.startsWith('a=remote-candidates:')) continue
    if (line.startsWith('c=IN IP4 ')) {
      out.push('c=IN IP4 0.0.0.0')
    } else if (line.startsWith('c=IN IP6 ')) {
      out.push('c=IN IP6 ::')
    } else if (line.startsWith('a=rtcp:')) {
      // "a=rtcp:9 IN IP4 0.0.0.0": keep the port, drop the address.
      out.push(line.split(' ')[0])
    } else if (line.startsWith('o=')) {
      const parts = line.split(' ')
      if (parts.length === 6) {
        parts[4] = 'IP4'
        parts[5] = '127.0.0.1'
      }
      out.push(parts.join(' '))
    } else {
      out.push(line)
    }
  }
  return out.join('\r\n') + '\r\n'
}

/**
 * The SHA-256 DTLS fingerprints an SDP names (RFC 8122 `a=fingerprint`), as
 * upper-case hex without colons, de-duplicated. An SDP that names another
 * hash function or none is refused: the check after connecting needs one.
 */
export function sdpFingerprints (sdp: string): string[] {
  const found = new Set<string>()
  for (const line of sdp.split(/\r?\n/)) {
    if (!line.startsWith('a=fingerprint:')) continue
    const [algorithm, value] = line.slice('a=fingerprint:'.length).trim().split(/\s+/)
    if (algorithm?.toLowerCase() !== 'sha-256' || value == null) throw new CallProtocolError(`the SDP names a fingerprint that is not SHA-256: ${line.slice(0, 80)}`)
    found.add(normaliseFingerprint(value))
  }
  if (found.size === 0) throw new CallProtocolError('the SDP names no DTLS fingerprint')
  return [...found]
}

/**
 * The media sections of an SDP in order, by kind ("audio", "video",
 * "application"). A renegotiation is only ever an ICE restart, which keeps
 * them as they were: one that adds a section (video nobody accepted, another
 * data channel) or drops one is not.
 */
export function mediaSections (sdp: string): string {
  return sdp.split(/\r?\n/).filter(l => l.startsWith('m=')).map(l => l.slice(2).split(' ')[0]).join(' ')
}

/** A fingerprint as "AB:CD:..." or "abcd..." in one form: upper-case hex, no colons. */
export function normaliseFingerprint (value: string): string {
  const hex = value.replaceAll(':', '').toUpperCase()
  if (!/^[0-9A-F]{64}$/.test(hex)) throw new CallProtocolError(`not a SHA-256 fingerprint: ${value.slice(0, 100)}`)
  return hex
}

/** True when an SDP carries an address: a candidate, or a connection line that is not the placeholder. */
export function sdpHasAddresses (sdp: string): boolean {
  return sdp.split(/\r?\n/).some(l => l.startsWith('a=candidate:') ||
    (l.startsWith('c=IN IP4 ') && l !== 'c=IN IP4 0.0.0.0') ||
    (l.startsWith('c=IN IP6 ') && l !== 'c=IN IP6 ::'))
}

/** The parts of a candidate line the call service looks at. */
export interface CandidateInfo {
  address: string
  port: number
  type: string
}

/**
 * Reads an ICE candidate ("candidate:F C udp P ADDRESS PORT typ TYPE ...").
 * Throws CallProtocolError for anything else.
 */
export function parseCandidate (candidate: string): CandidateInfo {
  const text = candidate.startsWith('a=') ? candidate.slice(2) : candidate
  const parts = text.split(' ')
  if (!parts[0]?.startsWith('candidate:') || parts.length < 8 || parts[6] !== 'typ') throw new CallProtocolError(`not an ICE candidate: ${candidate.slice(0, 80)}`)
  const port = Number(parts[5])
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new CallProtocolError(`bad candidate port: ${candidate.slice(0, 80)}`)
  return { address: parts[4], port, type: parts[7] }
}

/** True for an address on 127.0.0.0/8 or ::1. */
export function isLoopback (address: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(address) || address === '::1'
}

/**
 * True when a candidate's address is loopback. A line that is no candidate
 * is false, or with `strict` a CallProtocolError.
 */
export function isLoopbackCandidate (candidate: string, options: { strict?: boolean } = {}): boolean {
  try {
    return isLoopback(parseCandidate(candidate).address)
  } catch (err) {
    if (options.strict === true) throw err
    return false
  }
}

/** True when a candidate is a TURN relay one ("typ relay"); a line that is no candidate is false. */
export function isRelayCandidate (candidate: string): boolean {
  try {
    return parseCandidate(candidate).type === 'relay'
  } catch {
    return false
  }
}
