/** Named errors of the identity layer; tests assert on `.name`. */

/** Why a handle (or the tag part of one) was refused. */
export type HandleErrorReason =
  | 'too-short'
  | 'too-long'
  | 'lookalike'
  | 'invisible'
  | 'bidi-control'
  | 'whitespace'
  | 'non-ascii'
  | 'invalid-character'
  | 'invalid-tag'

/** A handle that is not a plain ASCII `[a-z0-9_]{3,30}` name (optionally `~tag`). */
export class InvalidHandleError extends Error {
  override readonly name = 'InvalidHandleError'
  /** Machine-readable reason; the message says the same in plain words. */
  readonly reason: HandleErrorReason
  /** The offending code point, when one character is to blame. */
  readonly codePoint?: number

  constructor (reason: HandleErrorReason, message: string, codePoint?: number) {
    super(message)
    this.reason = reason
    if (codePoint != null) this.codePoint = codePoint
  }
}

/** Why a DHT record was refused. */
export type RecordErrorReason =
  | 'too-large'
  | 'malformed'
  | 'not-canonical'
  | 'bad-key'
  | 'unknown-namespace'
  | 'key-mismatch'
  | 'bad-field'
  | 'expired'
  | 'future-seq'
  | 'expiry-too-far'
  | 'bad-signature'
  | 'tag-mismatch'
  | 'stale'
  | 'no-valid-record'

/** A DHT record that is malformed, expired, forged, or stored under the wrong key. */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError'
  /** Machine-readable reason; the message gives the detail. */
  readonly reason: RecordErrorReason

  constructor (reason: RecordErrorReason, message: string) {
    super(message)
    this.reason = reason
  }
}

/** The passphrase does not open this key file. */
export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError'
}

/** The key file is encrypted and no passphrase was given. */
export class PassphraseRequiredError extends Error {
  override readonly name = 'PassphraseRequiredError'
}

/** A key file that is truncated, damaged, or of an unknown version. */
export class CorruptKeyFileError extends Error {
  override readonly name = 'CorruptKeyFileError'
}
