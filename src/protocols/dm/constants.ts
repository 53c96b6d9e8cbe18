/** Protocol id and defaults of the direct-message protocol. */
import { MAX_ENVELOPE_LENGTH } from '../../crypto/envelope.js'

/** The direct path of a message: sealed envelopes one way, acknowledgements back. */
export const DM_PROTOCOL = '/starling/dm/1.0.0'

/**
 * Largest Deliver frame body: a maximal envelope plus its protobuf field tag
 * (1 byte) and length (3 bytes for 1 MiB), rounded up. Anything longer is
 * refused before it is buffered whole.
 */
export const MAX_DELIVER_FRAME_LENGTH = MAX_ENVELOPE_LENGTH + 8
/** Ids in one Ack frame (the .proto file says the same). */
export const MAX_ACK_IDS = 1024
/** Largest Ack frame body: MAX_ACK_IDS ids of 16 bytes, each with a 2-byte tag and length. */
export const MAX_ACK_FRAME_LENGTH = MAX_ACK_IDS * 18

/** Envelopes one client keeps unacknowledged on a stream. */
export const DEFAULT_WINDOW = 256
/**
 * Bytes one client keeps unacknowledged on a stream (one envelope is always
 * allowed, whatever its size): keeps the receiver's buffers small.
 */
export const DEFAULT_WINDOW_BYTES = 4 * 1024 * 1024
/** How long opening a stream (dial included) may take. */
export const DEFAULT_DIAL_TIMEOUT_MS = 15_000
/** How long an envelope may wait for its acknowledgement once queued on the stream. */
export const DEFAULT_ACK_TIMEOUT_MS = 20_000
/** A client closes a stream that carried nothing for this long. */
export const DEFAULT_CLIENT_IDLE_TIMEOUT_MS = 60_000

/** `onEnvelope` calls one server runs at once per stream (lets the messenger group-commit). */
export const DEFAULT_SERVER_CONCURRENCY = 256
/** A frame that has begun must be complete within this time. */
export const DEFAULT_FRAME_TIMEOUT_MS = 30_000
/** Acknowledgements that cannot be written for this long (the peer stopped reading) abort the stream. */
export const DEFAULT_WRITE_TIMEOUT_MS = 30_000
/**
 * A server closes a stream with nothing in flight after this long; longer
 * than the client's idle timeout so that the client, which knows when it
 * will write next, is normally the one that closes.
 */
export const DEFAULT_SERVER_IDLE_TIMEOUT_MS = 5 * 60_000
/** Inbound dm streams per connection (one is normal; a replacement may overlap a dying one). */
export const MAX_INBOUND_STREAMS = 4
/** Outbound dm streams per connection. */
export const MAX_OUTBOUND_STREAMS = 4
