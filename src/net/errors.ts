/** Named errors of the network layer; tests assert on `.name`. */

/** Nobody (valid) claims this handle. */
export class UnknownHandleError extends Error {
  override readonly name = 'UnknownHandleError'
}

/** Several accounts claim this bare name: the caller must pick a `name~tag`. */
export class AmbiguousHandleError extends Error {
  override readonly name = 'AmbiguousHandleError'
  constructor (message: string, readonly handles: string[]) {
    super(message)
  }
}

/** Our records could not be published (no DHT server reachable or none accepted them). */
export class PublishError extends Error {
  override readonly name = 'PublishError'
}

/** No DHT server can be asked (not connected to any relay): nothing can be said about a handle. */
export class DhtUnavailableError extends Error {
  override readonly name = 'DhtUnavailableError'
}

/**
 * More accounts' devices claim a bare name than a resolution reads
 * (MAX_CLAIMANTS in name-providers.ts): nothing is picked, the caller must use `name~tag`.
 */
export class TooManyClaimsError extends Error {
  override readonly name = 'TooManyClaimsError'
}

/**
 * kad-dht no longer keeps an internal that a workaround of ours replaces
 * (src/net/provider-answers.ts): the workaround must be updated, or dropped
 * if upstream fixed the issue, rather than silently not applied.
 */
export class KadDhtChangedError extends Error {
  override readonly name = 'KadDhtChangedError'
}

/**
 * `@libp2p/webrtc` no longer has the listener's signalling step that
 * webrtc-peer.ts wraps: the workaround must be updated, or dropped if
 * upstream fixed the race, rather than silently not applied.
 */
export class WebRTCPeerChangedError extends Error {
  override readonly name = 'WebRTCPeerChangedError'
}

/** The dialer of a WebRTC connection dropped the signalling stream before it finished: no connection is kept for it. */
export class SignallingAbandonedError extends Error {
  override readonly name = 'SignallingAbandonedError'
}
