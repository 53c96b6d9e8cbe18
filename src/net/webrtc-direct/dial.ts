/**
 * Dialing a WebRTC-direct address that names several certhashes.
 *
 * `@libp2p/webrtc` builds the server's DTLS fingerprint from the FIRST
 * `/certhash` of an address only. A relay announces two (the certificate
 * it serves and the next one, certificates.ts), and after a rotation the
 * one it serves is the second: an address given out before the rotation
 * would fail with the stock dialer (after its timeout: a wrong fingerprint
 * makes the handshake wait, not fail). This dialer tries every certhash at
 * once (at most MAX_DIAL_CERTHASHES), one address each, keeps the first
 * connection made, and aborts the other attempts (closing any that
 * connected anyway).
 */
import { webRTCDirect } from '@libp2p/webrtc'
import type { WebRTCDirectTransportComponents, WebRTCTransportDirectInit } from '@libp2p/webrtc'
import type { Connection, DialTransportOptions, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { perCerthash } from './addresses.js'
import { MAX_DIAL_CERTHASHES } from './constants.js'

/** Dials one address with one certhash. */
export type DialOne = (ma: Multiaddr, options: DialTransportOptions) => Promise<Connection>

/**
 * Dials each certhash of `ma` at once through `dialOne` and resolves with
 * the first connection; rejects with the first address's error when none
 * connects. An address with one certhash is dialed as it is.
 */
export async function dialAnyCerthash (ma: Multiaddr, options: DialTransportOptions, dialOne: DialOne): Promise<Connection> {
  const variants = perCerthash(ma).slice(0, MAX_DIAL_CERTHASHES)
  if (variants.length === 1) return await dialOne(variants[0], options)
  const controllers = variants.map(() => new AbortController())
  const attempts = variants.map(async (variant, i) => await dialOne(variant, { ...options, signal: AbortSignal.any([options.signal, controllers[i].signal]) }))
  let winner = -1
  try {
    const [connection, index] = await Promise.any(attempts.map(async (attempt, i) => [await attempt, i] as const))
    winner = index
    return connection
  } catch (err) {
    throw (err instanceof AggregateError ? err.errors[0] : err) as Error
  } finally {
    attempts.forEach((attempt, i) => {
      if (i === winner) return
      controllers[i].abort()
      attempt.then(async extra => { await extra.close() }).catch(() => {})
    })
  }
}

/**
 * `@libp2p/webrtc`'s WebRTC-direct transport whose `dial` tries every
 * certhash of an address (see {@link dialAnyCerthash}); use it where a
 * page or node dials relays over WebRTC-direct.
 */
export function webRTCDirectAnyCerthash (init?: WebRTCTransportDirectInit): (components: WebRTCDirectTransportComponents) => Transport {
  return (components) => {
    const transport = webRTCDirect(init)(components)
    // The library's own dial, taken before it is replaced on this instance.
    const dialOne: DialOne = transport.dial.bind(transport)
    transport.dial = async (ma, options) => await dialAnyCerthash(ma, options, dialOne)
    return transport
  }
}
