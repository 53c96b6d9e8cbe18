/** Named errors of the store protocol; tests assert on `.name`. */

/**
 * Which quota refused a put: the mailbox is full, this source holds its
 * share of the mailbox, this source holds what the relay keeps for one
 * source, or the relay's storage is full.
 */
export type QuotaKind = 'mailbox-full' | 'mailbox-share' | 'source-budget' | 'relay-full' | 'unknown'

/**
 * The relay refused the envelope for a quota (nothing was stored, and the
 * relay evicted nothing to make room): try another relay or later.
 */
export class QuotaExceededError extends Error {
  override readonly name = 'QuotaExceededError'
  constructor (message: string, readonly quota: QuotaKind = 'unknown') {
    super(message)
  }
}

/** The relay refused the request: this peer sent too many requests. */
export class RateLimitedError extends Error {
  override readonly name = 'RateLimitedError'
}

/** The relay refused a fetch or delete: the caller did not prove it owns the mailbox. */
export class UnauthorizedError extends Error {
  override readonly name = 'UnauthorizedError'
}

/** An envelope larger than a relay holds. */
export class EnvelopeTooLargeError extends Error {
  override readonly name = 'EnvelopeTooLargeError'
}

/** A request the relay could not accept as it stands (malformed envelope, bad mailbox, bad cursor). */
export class InvalidStoreRequestError extends Error {
  override readonly name = 'InvalidStoreRequestError'
}

/** A custody receipt that is missing, malformed, or not signed by the relay that was dialled. */
export class InvalidReceiptError extends Error {
  override readonly name = 'InvalidReceiptError'
}

/** The relay answered with something that is not a valid store response, or failed internally. */
export class StoreProtocolError extends Error {
  override readonly name = 'StoreProtocolError'
}

/**
 * The request's stream was dropped because another request on it was given
 * up by its caller while under way (its answer might never come: a stalled
 * relay). This request was not given up: it may be tried again on a fresh
 * stream, as the store client does once.
 */
export class StreamAbandonedError extends Error {
  override readonly name = 'StreamAbandonedError'
}

/**
 * The relay refused a put: the envelope's owner already fetched it and
 * signed its delete (the relay keeps a tombstone of it), so it is not
 * held again. Nothing is lost: the owner has it.
 */
export class DeletedByOwnerError extends Error {
  override readonly name = 'DeletedByOwnerError'
}
