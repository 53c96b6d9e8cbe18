/** Named errors of the WebRTC-direct pieces; tests assert on `.name`. */

/** A certificate could not be made, or stored certificates are not what this code wrote. */
export class WebRTCDirectCertificateError extends Error {
  override readonly name = 'WebRTCDirectCertificateError'
}

/**
 * `@libp2p/webrtc` no longer has the internal that certificate rotation
 * uses (transport.ts): rotation must be updated rather than silently not
 * applied.
 */
export class WebRTCDirectChangedError extends Error {
  override readonly name = 'WebRTCDirectChangedError'
}

/** Too many WebRTC-direct handshakes are under way: a new one is refused before anything is allocated for it. */
export class HandshakesBusyError extends Error {
  override readonly name = 'HandshakesBusyError'
}
