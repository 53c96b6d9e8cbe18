/** Named errors of the direct-message protocol; tests assert on `.name`. */

/**
 * Thrown (or returned as a rejection) by an `onEnvelope` handler to say "this
 * envelope is already stored": the server acknowledges it again instead of
 * dropping the stream, so the sender can clear it from its outbox.
 */
export class DuplicateEnvelopeError extends Error {
  override readonly name = 'DuplicateEnvelopeError'
}

/** No acknowledgement (or no stream) within the time allowed. */
export class DmTimeoutError extends Error {
  override readonly name = 'DmTimeoutError'
}

/** The peer could not be dialled, or does not speak /starling/dm/1.0.0. */
export class DmUnreachableError extends Error {
  override readonly name = 'DmUnreachableError'
}

/**
 * The stream closed or broke while the envelope was unacknowledged: it may or
 * may not have been stored, so the caller retries (the receiver de-duplicates).
 */
export class DmStreamClosedError extends Error {
  override readonly name = 'DmStreamClosedError'
}

/** The peer broke the protocol (a malformed, oversized or truncated frame, a bad id). */
export class DmProtocolError extends Error {
  override readonly name = 'DmProtocolError'
}

/** What the caller asked to send is not a sealed envelope (too short, too long, unknown version). */
export class DmInvalidEnvelopeError extends Error {
  override readonly name = 'DmInvalidEnvelopeError'
}

/** The caller's signal aborted the send. */
export class DmAbortedError extends Error {
  override readonly name = 'DmAbortedError'
}

/** The client or server is not started (or was stopped with sends pending). */
export class DmNotStartedError extends Error {
  override readonly name = 'DmNotStartedError'
}

/** True for DuplicateEnvelopeError, including an equally named class from another module copy. */
export function isDuplicateEnvelope (err: unknown): boolean {
  return err instanceof DuplicateEnvelopeError || (err instanceof Error && err.name === 'DuplicateEnvelopeError')
}
