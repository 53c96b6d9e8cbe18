/** Constants of `/starling/attachment/1.0.0`. */

/** First part of the protocol id. */
export const PROTOCOL_PREFIX = 'starling'
/** Second part of the protocol id. */
export const PROTOCOL_NAME = 'attachment'
/** Version of the wire format in pb/attachment.proto; a new format gets a new version. */
export const PROTOCOL_VERSION = '1.0.0'
/** The protocol id. */
export const PROTOCOL = `/${PROTOCOL_PREFIX}/${PROTOCOL_NAME}/${PROTOCOL_VERSION}`

/** Longest wait for any one frame read or write (an inactivity limit, not a transfer limit). */
export const FRAME_TIMEOUT_MS = 30_000

/**
 * Ciphertext bytes the receiver lets the sender have in flight, unless told
 * otherwise (64 chunks of 64 KiB): it buffers at most this much, and it
 * bounds throughput to window / round trip (4 MiB at 100 ms: ~40 MB/s).
 */
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024

/** Chunks the receiver verifies and stores at once (Node's file system thread pool has 4 threads). */
export const DEFAULT_CONCURRENCY = 4

/** Most chunks a sender keeps in flight, whatever the receiver asks for. */
export const MAX_WINDOW = 128

/** Most ranges in one Request (the receiver asks again for what is left). */
export const MAX_RANGES = 1024

/** Largest frame the receiver may write (a Request with {@link MAX_RANGES} ranges fits). */
export const MAX_CLIENT_FRAME_BYTES = 16 * 1024

/** AES-GCM tag added to each chunk. */
export const CHUNK_TAG_BYTES = 16

/**
 * Largest chunk plaintext the protocol carries (1 MiB). A wire limit of its
 * own: the attachments that travel over it (the messenger's descriptors,
 * whose chunk size is at most MAX_CHUNK_SIZE) must fit in it, which a unit
 * test checks; the protocol knows nothing of them.
 */
export const MAX_CHUNK_BYTES = 1024 * 1024

/** Largest chunk ciphertext a receiver accepts, whatever it is told. */
export const MAX_CHUNK_CIPHERTEXT_BYTES = MAX_CHUNK_BYTES + CHUNK_TAG_BYTES

/** Protobuf framing around a chunk's ciphertext (field tags, varints, oneof wrapper). */
export const CHUNK_FRAME_OVERHEAD_BYTES = 32

/** Highest chunk index a range may name. */
export const MAX_CHUNK_INDEX = 0xffff_ffff

/** Concurrent attachment streams a peer may open to this node per connection. */
export const MAX_INBOUND_STREAMS = 16
/** Concurrent attachment streams this node opens to a peer per connection. */
export const MAX_OUTBOUND_STREAMS = 16

/** 100 MB must not cross a relay: streams run on direct connections only, unless asked. */
export const RUN_ON_LIMITED_CONNECTION = false
