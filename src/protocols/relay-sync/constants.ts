/**
 * Protocol id, limits and defaults of `/starling/relay-sync/1.0.0`.
 */
import { ENVELOPE_ID_LENGTH, MAX_ENVELOPE_LENGTH } from '../../crypto/envelope.js'
import { ENVELOPE_HASH_LENGTH, MAILBOX_LENGTH, MAILBOX_SHARDS, MAX_PAGE_BYTES } from '../store/constants.js'

/** Anti-entropy between the relays of one relay set (linked by mutual `--peer`). */
export const RELAY_SYNC_PROTOCOL = '/starling/relay-sync/1.0.0'

/** An item key: mailbox (32) || envelope id (16) || SHA-256 of the envelope (32). */
export const ITEM_KEY_LENGTH = MAILBOX_LENGTH + ENVELOPE_ID_LENGTH + ENVELOPE_HASH_LENGTH

/** Nibbles in an item key: the deepest a path goes. */
export const MAX_PATH_NIBBLES = ITEM_KEY_LENGTH * 2

/** Shards, as the mailbox gossip has them (a mailbox's shard is its first byte modulo this). */
export const SHARDS = MAILBOX_SHARDS

/** A fingerprint: the first 16 bytes of SHA-256 over a node's sum and count. */
export const FINGERPRINT_LENGTH = 16

/** Most nodes one expand request names. */
export const MAX_EXPAND_PATHS = 64

/** Most nodes one list request names. */
export const MAX_LIST_PATHS = 64

/** Most items one list answer holds (about 85 bytes each). */
export const MAX_LIST_ITEMS = 1024

/** A child whose items are at most this many is listed instead of expanded. */
export const LEAF_ITEMS = 32

/** Most keys one fetch request names. */
export const MAX_FETCH_KEYS = 256

/** A fetch answer stops growing once it holds this many bytes (it always holds one entry if any is left). */
export const MAX_ANSWER_BYTES = MAX_PAGE_BYTES

/** Largest request frame (64 paths of 160 nibbles, or 256 keys, with room to spare). */
export const MAX_REQUEST_FRAME_LENGTH = 64 * 1024

/** Largest answer frame: a full answer plus one more envelope and protobuf overhead. */
export const MAX_RESPONSE_FRAME_LENGTH = MAX_ANSWER_BYTES + MAX_ENVELOPE_LENGTH + 64 * 1024

/** A responder drops a stream on which no request arrives for this long; an initiator, an answer. */
export const REQUEST_TIMEOUT_MS = 30_000

/** One exchange may last this long in all, on either side. */
export const EXCHANGE_TIMEOUT_MS = 10 * 60_000

/** Requests one exchange may make (the responder closes the stream after that many). */
export const MAX_REQUESTS_PER_EXCHANGE = 2_000

/** Items an initiator lists in one exchange before it stops (and continues in the next). */
export const MAX_ITEMS_PER_EXCHANGE = 200_000

/** Nodes an initiator descends into or lists in one exchange (bounds what it keeps in memory). */
export const MAX_NODES_PER_EXCHANGE = 100_000

/** Envelopes an initiator fetches in one exchange before it stops (and continues in the next). */
export const MAX_ENVELOPES_PER_EXCHANGE = 10_000

/** Signed deletes an initiator takes in one exchange (each costs a signature check). */
export const MAX_DELETES_PER_EXCHANGE = 5_000

/** Bytes an initiator reads in one exchange. */
export const MAX_BYTES_PER_EXCHANGE = 256 * 1024 * 1024

/**
 * The responder's work budget per linked relay, in units: an item read or
 * a KiB served costs one. A bucket of this size that refills at
 * {@link WORK_PER_SECOND}: a full catch-up of 10,000 envelopes fits, an
 * endless one does not.
 */
export const WORK_BURST = 2_000_000

/** Refill of the responder's work budget per linked relay (units per second). */
export const WORK_PER_SECOND = 20_000

/** Concurrent inbound sync streams per connection. */
export const MAX_INBOUND_STREAMS = 2

/** A relay's signed delete may be this far in the future (its clock ahead of ours); so may a stored-at time. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000
