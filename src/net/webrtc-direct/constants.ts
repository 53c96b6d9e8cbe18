/**
 * Defaults of WebRTC-direct on relays: how long certificates live and how
 * they take turns (certificates.ts), and how many handshakes may be under
 * way at once (handshake-budget.ts).
 */

const DAY_MS = 24 * 60 * 60_000

/**
 * How long a certificate is announced as the next one before it is served,
 * and then how long it is served. An address given out at any moment names
 * the certificate served and the next one, so it keeps working for at least
 * this long and at most twice this long. The certificate is not what
 * authenticates the relay (Noise inside DTLS does), so a month is safe.
 */
export const CERTIFICATE_ROTATION_INTERVAL_MS = 30 * DAY_MS

/** A certificate is never served in the last day of its validity, nor announced. */
export const CERTIFICATE_EXPIRY_MARGIN_MS = DAY_MS

/**
 * Longest wait between two looks at the certificates. Timers cannot wait
 * more than about 24.8 days, and a machine that slept should not stay late.
 */
export const CERTIFICATE_CHECK_MAX_MS = DAY_MS

/** After a failed write of new certificates, the wait before trying again (the served ones stay meanwhile). */
export const CERTIFICATE_RETRY_MS = 10 * 60_000

/** The certificate file holds two certificates and keys (~2 KiB); anything much larger is not ours. */
export const CERTIFICATE_FILE_MAX_BYTES = 64 * 1024

/**
 * WebRTC-direct handshakes a relay runs at once. Each starts when a STUN
 * request with a new ufrag arrives (one UDP packet, whose source address
 * may be forged) and holds a native peer connection until it completes or
 * the inbound upgrade timeout (10 s) ends it; beyond this many, new ones
 * are refused before anything is allocated.
 */
export const MAX_PENDING_HANDSHAKES = 64

/**
 * Certhashes of one address a dialer tries at once (a peer chooses its
 * addresses: each certhash costs a peer connection). Two is what a relay
 * announces, and all libp2p's WebRTC-direct address matcher accepts.
 */
export const MAX_DIAL_CERTHASHES = 2
