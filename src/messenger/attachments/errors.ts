/** Named errors of attachments; tests assert on `.name`. */

/** An attachment larger than the limit of the path it would take. */
export class AttachmentTooLargeError extends Error {
  static override readonly name = 'AttachmentTooLargeError'
  override readonly name = 'AttachmentTooLargeError'
}

/** An image, GIF or audio attachment whose bytes are not of that kind, or a malformed MIME type. */
export class AttachmentTypeError extends Error {
  static override readonly name = 'AttachmentTypeError'
  override readonly name = 'AttachmentTypeError'
}

/**
 * A chunk that fails authentication (tampered, reordered, from another
 * attachment, of the wrong length, beyond the last chunk) or a whole file
 * whose SHA-256 is not the descriptor's.
 */
export class AttachmentIntegrityError extends Error {
  static override readonly name = 'AttachmentIntegrityError'
  override readonly name = 'AttachmentIntegrityError'
}

/** The whole attachment was asked for before every chunk arrived and was verified. */
export class AttachmentIncompleteError extends Error {
  static override readonly name = 'AttachmentIncompleteError'
  override readonly name = 'AttachmentIncompleteError'
}

/** A descriptor that cannot describe a chunked attachment (chunk size, size, key or id). */
export class InvalidAttachmentError extends Error {
  static override readonly name = 'InvalidAttachmentError'
  override readonly name = 'InvalidAttachmentError'
}
