/** Named errors of the messenger; the CLI turns each into one line. */

/** The message id is not part of this conversation. */
export class UnknownMessageError extends Error {
  override readonly name = 'UnknownMessageError'
}

/**
 * A pinned contact's key changed: sending is blocked until the user accepts
 * the new key (`starling trust HANDLE`).
 */
export class KeyChangedError extends Error {
  override readonly name = 'KeyChangedError'
}

/** The contact is blocked. */
export class BlockedContactError extends Error {
  override readonly name = 'BlockedContactError'
}

/** The recipient has no device with a current record (never online, or gone). */
export class NoDeviceError extends Error {
  override readonly name = 'NoDeviceError'
}

/** Only the author may edit or delete a message. */
export class NotAuthorError extends Error {
  override readonly name = 'NotAuthorError'
}

/** An envelope id already stored: acknowledge again without decrypting. */
export class DuplicateEnvelopeError extends Error {
  override readonly name = 'DuplicateEnvelopeError'
}

/** An envelope that cannot be for us, or whose content fails checks. */
export class RejectedEnvelopeError extends Error {
  override readonly name = 'RejectedEnvelopeError'
}

/**
 * A message names a device whose record could not be read to check it (the
 * DHT did not answer): not stored and not acknowledged, so it comes again.
 */
export class UnverifiedDeviceError extends Error {
  override readonly name = 'UnverifiedDeviceError'
}

/**
 * A first contact through a bare name that the user has not confirmed: a
 * DHT cannot say who was first to claim a name, so nothing is pinned until
 * the user has seen the `name~tag` and fingerprint it resolved to.
 */
export class UnconfirmedHandleError extends Error {
  override readonly name = 'UnconfirmedHandleError'
  constructor (message: string, readonly handle: string, readonly fingerprint: string) {
    super(message)
  }
}

/** Only a message that failed (undelivered when its retention ran out) can be sent again. */
export class NotFailedError extends Error {
  override readonly name = 'NotFailedError'
}

/**
 * An envelope that would make us derive more skipped message keys than its
 * sender's budget has left (see skip-budget.ts). Not a verdict on the
 * envelope: it is neither stored nor dropped, and is received again later
 * (a mailbox keeps it for the next pass; a direct sender hands it to relays).
 */
export class SkipBudgetExceededError extends Error {
  override readonly name = 'SkipBudgetExceededError'
}

/**
 * A first message (PQXDH) from a sender who is not an accepted contact's
 * device, while strangers have used up their budget of first messages
 * answered (see first-message-budget.ts). Not a verdict on the envelope:
 * refused before any PQXDH step, neither stored nor dropped, and received
 * again later.
 */
export class FirstMessageBudgetError extends Error {
  override readonly name = 'FirstMessageBudgetError'
}

/**
 * A relay's custody receipt names other bytes than those handed to it (it
 * holds something else under the envelope's id): it does not count as
 * holding the message.
 */
export class InvalidCustodyError extends Error {
  override readonly name = 'InvalidCustodyError'
}
