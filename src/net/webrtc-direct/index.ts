/**
 * WebRTC-direct for Starling: relays listen on it with certificates kept
 * across restarts and rotated with overlap (the address given out keeps
 * working), and pages dial it with every certhash an address names.
 *
 * @example
 * ```ts
 * // a relay (node/relay.ts)
 * const certificates = new WebRTCDirectCertificates({ storage })
 * await certificates.start()
 * const wrtc = relayWebRTCDirect({ certificates })
 * // transports: [..., wrtc.transport], announceFilter: wrtc.announceFilter
 *
 * // a page
 * // transports: [webRTCDirectAnyCerthash({ rtcConfiguration: { iceServers: [] } })]
 * ```
 */
export { createCertificate, certhashOf, certhashOfPem } from './certificate.js'
export type { WebRTCDirectCertificate } from './certificate.js'
export { WebRTCDirectCertificates } from './certificates.js'
export type { WebRTCDirectCertificatesInit, RotateListener } from './certificates.js'
export { encodeCertificates, decodeCertificates } from './stored.js'
export type { CertificateStorage, CertificatePair } from './stored.js'
export { relayWebRTCDirect } from './relay-transport.js'
export type { RelayWebRTCDirect, RelayWebRTCDirectInit } from './relay-transport.js'
export { HandshakeBudget } from './handshake-budget.js'
export type { HandshakeBudgetMetrics } from './handshake-budget.js'
export { dialAnyCerthash, webRTCDirectAnyCerthash } from './dial.js'
export type { DialOne } from './dial.js'
export { announceCerthashes, certhashes, isWebRTCDirect, perCerthash, withCerthashes } from './addresses.js'
export { WebRTCDirectCertificateError, WebRTCDirectChangedError, HandshakesBusyError } from './errors.js'
export * from './constants.js'
