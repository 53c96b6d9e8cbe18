/** Limits of the message model. Both peers enforce the same numbers. */

/** Largest encoded message accepted by {@link decodeMessage}, in bytes. */
export const MAX_MESSAGE_BYTES = 64 * 1024

/** Longest message text, in Unicode code points (not UTF-16 units). */
export const MAX_TEXT_CODE_POINTS = 10_000

/** Length of a message id (random 128-bit value), in bytes. */
export const MESSAGE_ID_BYTES = 16

/** Length of an account key (Ed25519 public key), in bytes. */
export const ACCOUNT_KEY_BYTES = 32

/** Longest device peer id (multihash bytes) accepted. */
export const MAX_DEVICE_ID_BYTES = 64

/** Most message ids in one delivery or read receipt. */
export const MAX_RECEIPT_IDS = 1000

/** Length of an attachment id, in bytes. */
export const ATTACHMENT_ID_BYTES = 16

/** Length of a per-attachment key, in bytes. */
export const ATTACHMENT_KEY_BYTES = 32

/** Length of a SHA-256 digest, in bytes. */
export const SHA256_BYTES = 32

/** Longest attachment file name, in code points. */
export const MAX_FILE_NAME_CODE_POINTS = 255

/** Longest MIME type, in characters. */
export const MAX_MIME_TYPE_LENGTH = 127

/**
 * Most files in one message (an album). Both peers enforce it: the decoder
 * stops at the next descriptor, so a peer claiming 10,000 costs a few
 * hundred bytes of parsing, not 10,000 downloads.
 */
export const MAX_ATTACHMENTS_PER_MESSAGE = 10

/** Largest attachment chunk, in bytes. */
export const MAX_CHUNK_SIZE = 1024 * 1024

/**
 * Furthest a received message's Lamport counter may run ahead of the
 * highest its conversation has seen (2^20): a contact coming back with
 * 10,000 queued messages fits many times over, while a counter near 2^53
 * (which would leave the conversation no counter to send with) is refused.
 */
export const MAX_LAMPORT_JUMP = 2 ** 20
