/** Named errors of the crypto layer; tests assert on `.name`. */

/** Authentication failed: tampered, truncated or wrong-key ciphertext. */
export class DecryptionError extends Error {
  static override readonly name = 'DecryptionError'
  override readonly name = 'DecryptionError'
}

/** A key that is malformed, of the wrong length, or a low-order point. */
export class InvalidKeyError extends Error {
  static override readonly name = 'InvalidKeyError'
  override readonly name = 'InvalidKeyError'
}

/** A signature that does not verify. */
export class InvalidSignatureError extends Error {
  static override readonly name = 'InvalidSignatureError'
  override readonly name = 'InvalidSignatureError'
}

/** A message already decrypted once (or whose key was discarded), or a first message seen before. */
export class ReplayError extends Error {
  static override readonly name = 'ReplayError'
  override readonly name = 'ReplayError'
}

/** A message that would need more skipped message keys than the ratchet allows. */
export class TooManySkippedError extends Error {
  static override readonly name = 'TooManySkippedError'
  override readonly name = 'TooManySkippedError'
}

/** Bytes that do not parse as the expected message: wrong version, truncated, wrong sizes. */
export class InvalidMessageError extends Error {
  static override readonly name = 'InvalidMessageError'
  override readonly name = 'InvalidMessageError'
}

/** A first message names a prekey this device does not have (or no longer accepts). */
export class PrekeyNotFoundError extends Error {
  static override readonly name = 'PrekeyNotFoundError'
  override readonly name = 'PrekeyNotFoundError'
}
