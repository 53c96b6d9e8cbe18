/** Named errors of the peer assembly; tests assert on `.name`, node/ and web/ turn each into one clear line. */

/** No identity is stored yet: one must be created (or a backup imported) first. */
export class NoIdentityError extends Error {
  override readonly name = 'NoIdentityError'
}

/** An identity is stored already: creating another would overwrite its keys, which is never done. */
export class IdentityExistsError extends Error {
  override readonly name = 'IdentityExistsError'
}

/** The handle names nobody this device knows as a contact or a message request. */
export class NotAContactError extends Error {
  override readonly name = 'NotAContactError'
}

/** This peer was assembled without attachments (no blob store). */
export class AttachmentsUnavailableError extends Error {
  override readonly name = 'AttachmentsUnavailableError'
}
