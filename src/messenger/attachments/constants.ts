/** Limits and sizes of attachments. Sender and receiver enforce the same numbers. */

/** Plaintext bytes per chunk of the attachments this node creates. */
export const CHUNK_SIZE = 64 * 1024

/** Smallest chunk size accepted in a received descriptor (bounds the chunk count). */
export const MIN_CHUNK_SIZE = 1024

/** Largest attachment sent or accepted over a direct connection, in bytes (100 MB). */
export const MAX_DIRECT_ATTACHMENT_BYTES = 100 * 1000 * 1000

/** Largest attachment sent or accepted as messages through relays, in bytes (10 MB). */
export const MAX_RELAY_ATTACHMENT_BYTES = 10 * 1000 * 1000

/** AES-256-GCM tag length: each chunk's ciphertext is this much longer than its plaintext. */
export const CHUNK_TAG_BYTES = 16

/** Bytes of the file start that type sniffing looks at. */
export const SNIFF_BYTES = 64
