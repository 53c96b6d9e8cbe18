/** Named errors of the message model; tests assert on `.name`. */

/** Why a message was refused: a short, stable code for logs and tests. */
export type InvalidMessageReason =
  | 'too-large'
  | 'malformed'
  | 'missing-field'
  | 'bad-id'
  | 'bad-author'
  | 'bad-timestamp'
  | 'bad-lamport'
  | 'bad-text'
  | 'bad-emoji'
  | 'bad-receipt'
  | 'bad-attachment'
  | 'bad-call'
  | 'bad-kind'

/** Bytes or a value that is not a well-formed message. `reason` says which rule failed. */
export class InvalidMessageError extends Error {
  override readonly name = 'InvalidMessageError'
  readonly reason: InvalidMessageReason

  constructor (reason: InvalidMessageReason, message: string, options?: ErrorOptions) {
    super(`invalid message (${reason}): ${message}`, options)
    this.reason = reason
  }
}

/** Message text that is empty, too long, or not well-formed Unicode. */
export class InvalidTextError extends Error {
  override readonly name = 'InvalidTextError'
}

/** A reaction that is not exactly one RGI emoji. */
export class InvalidEmojiError extends Error {
  override readonly name = 'InvalidEmojiError'
}
