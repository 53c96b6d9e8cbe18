/** Named errors of the crypto layer; tests assert on `.name`. */

/** Authentication failed: tampered, truncated or wrong-key ciphertext. */
export class DecryptionError extends Error {
  static readonly name = 'DecryptionError'
  override readonly name = 'DecryptionError'
}

/** A key that is malformed, of the wrong length, or a low-order point. */
export class InvalidKeyError extends Error {
  static readonly name = 'InvalidKeyError'
  override readonly name = 'InvalidKeyError'
}

/** A signature that does not verify. */
export class InvalidSignatureError extends Error {
  static readonly name = 'InvalidSignatureError'
  override readonly name = 'InvalidSignatureError'
}
