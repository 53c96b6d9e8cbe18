/** Named errors of the relay-sync protocol; tests assert on `.name`. */

/** A peer that is not a linked relay asked to sync: refused before any work. */
export class NotLinkedError extends Error {
  override readonly name = 'NotLinkedError'
}

/**
 * The other relay answered with something that breaks the protocol: a
 * frame that does not decode, a node outside the one asked, an envelope
 * whose bytes do not hash to its key, a delete its owner did not sign.
 * The exchange is dropped.
 */
export class SyncProtocolError extends Error {
  override readonly name = 'SyncProtocolError'
}

/** A request the responder refused as malformed. */
export class InvalidSyncRequestError extends Error {
  override readonly name = 'InvalidSyncRequestError'
}

/** The responder is out of work budget for this relay, or refused for another reason: try later. */
export class SyncRefusedError extends Error {
  override readonly name = 'SyncRefusedError'
}
