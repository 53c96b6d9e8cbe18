/** Named errors of `/starling/attachment/1.0.0`; tests assert on `.name`. */

/** The sender does not have the attachment, does not give it to this peer, or lacks a requested chunk. */
export class AttachmentNotFoundError extends Error {
  static override readonly name = 'AttachmentNotFoundError'
  override readonly name = 'AttachmentNotFoundError'
}

/** The other side broke the protocol: malformed or oversized frame, chunk out of order, early end. */
export class AttachmentProtocolError extends Error {
  static override readonly name = 'AttachmentProtocolError'
  override readonly name = 'AttachmentProtocolError'
}
