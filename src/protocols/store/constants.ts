/**
 * Protocol ids, limits and defaults of `/starling/store/3.0.0` and the
 * mailbox gossip topics.
 */
import { MAX_ENVELOPE_LENGTH } from '../../crypto/envelope.js'

/**
 * The request/response protocol between a device and a relay. 3.0.0: a
 * custody receipt signs the SHA-256 of the envelope the relay holds, and a
 * relay holds other bytes under a held id as a version of their own (2.0.0
 * receipted an id, whatever bytes it held under it). 2.0.0: a delete names
 * envelopes by id and content hash, and quota refusals say which quota
 * (1.0.0 deleted by id alone). Batches of puts came without a new version:
 * a relay that does not know them answers BAD_REQUEST and the client falls
 * back to single puts (pb/store.proto).
 */
export const STORE_PROTOCOL = '/starling/store/3.0.0'

/**
 * Prefix of the mailbox shard topics: `/starling/mailbox/3.0.0/<shard>`.
 * 3.0.0: a message id names the envelope's hash beside its id, so junk
 * under a real id is another message (2.0.0 relays took it for the real
 * one); 2.0.0: deletes by id and hash.
 */
export const MAILBOX_TOPIC_PREFIX = '/starling/mailbox/3.0.0/'

/** Number of mailbox shard topics (coarse on purpose: a shard hides which mailbox). */
export const MAILBOX_SHARDS = 4

/** A mailbox id is a SHA-256 digest. */
export const MAILBOX_LENGTH = 32

/** Domain separation for mailbox ids. */
export const MAILBOX_DOMAIN = 'starling-mailbox-v1'

/** Largest envelope a relay holds (the envelope format's own bound). */
export const MAX_STORED_ENVELOPE_LENGTH = MAX_ENVELOPE_LENGTH

/** Largest request frame: one envelope (or a batch of {@link MAX_PUT_BATCH_BYTES}) plus the protobuf fields around it. */
export const MAX_REQUEST_FRAME_LENGTH = MAX_STORED_ENVELOPE_LENGTH + 4096

/** A fetch page stops growing once it holds this many envelope bytes. */
export const MAX_PAGE_BYTES = 2 * 1024 * 1024

/** Largest response frame: a full page plus one more envelope and protobuf overhead. */
export const MAX_RESPONSE_FRAME_LENGTH = MAX_PAGE_BYTES + MAX_STORED_ENVELOPE_LENGTH + 64 * 1024

/** Envelopes per fetch page when the caller names no limit. */
export const DEFAULT_FETCH_LIMIT = 100

/** Most envelopes per fetch page. */
export const MAX_FETCH_LIMIT = 500

/** Most envelopes one delete names. */
export const MAX_DELETE_REFS = 1000

/** An envelope's content hash in a delete: SHA-256. */
export const ENVELOPE_HASH_LENGTH = 32

/**
 * Longest receipt signature a client looks at: an RSA signature of
 * libp2p's largest RSA key (8192 bits); Ed25519 makes 64 bytes. Anything
 * longer is refused before it is verified or becomes a cache key.
 */
export const MAX_RECEIPT_SIGNATURE_LENGTH = 1024

/** Longest peer id (multihash bytes) accepted as a mailbox owner or relay id. */
export const MAX_PEER_ID_LENGTH = 128

/** Owner signatures older or newer than this (relay clock) are refused. */
export const AUTH_FRESHNESS_MS = 5 * 60 * 1000

/** A relay closes a store stream on which no request arrives for this long. */
export const IDLE_TIMEOUT_MS = 60_000

/** Default time a client waits for one answer. */
export const REQUEST_TIMEOUT_MS = 15_000

/** Time allowed to write one frame. */
export const WRITE_TIMEOUT_MS = 15_000

/** Concurrent inbound store streams per connection. */
export const MAX_INBOUND_STREAMS = 8

/**
 * Requests of one store stream a relay answers at once (pipelining), each
 * put of a batch counting as one: a client keeps at most this many
 * unanswered on a stream. Beyond it the relay reads nothing more from the
 * stream until an answer is written.
 */
export const MAX_PIPELINED_REQUESTS = 8

/**
 * Requests of one source (an address: src/net/source.ts) a relay answers at
 * once, across all its streams and connections, each put of a batch
 * counting as one: pipelining and batches must not let one address keep
 * more signatures, writes and pages under way than this.
 */
export const MAX_IN_FLIGHT_PER_SOURCE = 32

/**
 * Most puts in one request (`puts`). Each put of a batch counts as one
 * request against every bound (pipelining, in flight per source, rate), so
 * it can be no larger than what one stream may have under way: a batch of
 * {@link MAX_PIPELINED_REQUESTS} fills the stream. A relay configured with
 * lower bounds still takes a full batch, working through it a part at a
 * time. What it saves is the per-request work (a frame, its Noise and
 * yamux framing, a socket write), paid once per batch on both sides.
 */
export const MAX_PUT_BATCH = MAX_PIPELINED_REQUESTS

/**
 * Most envelope bytes a client puts in one batch: those of one largest
 * envelope, so that a batch fits the same request frame as a single put
 * ({@link MAX_REQUEST_FRAME_LENGTH}: the 4 KiB beside the envelope hold the
 * mailboxes and field tags of {@link MAX_PUT_BATCH} puts) and a relay
 * buffers no more per stream than with single puts. A relay's own bound is
 * the frame: a longer one costs the sender its stream. Envelopes of up to
 * 128 KiB batch 8 at a time; the largest go alone.
 */
export const MAX_PUT_BATCH_BYTES = MAX_STORED_ENVELOPE_LENGTH

/** Concurrent outbound store streams per connection. */
export const MAX_OUTBOUND_STREAMS = 8

/**
 * Rate limit per source (an address, not a peer id): bucket size (requests;
 * each put of a batch takes its own token). A device that was offline
 * catches up with one fetch and one delete per page, but a sender whose
 * contact is offline hands over one envelope per request: a burst of a
 * thousand messages (or a 10 MB attachment's 160 chunks) must fit.
 */
export const RATE_LIMIT_BURST = 2_000

/** Rate limit per source: refill (requests per second). */
export const RATE_LIMIT_PER_SECOND = 500

/** Sources whose buckets a relay remembers at once (the least recently used are dropped). */
export const RATE_LIMIT_MAX_PEERS = 10_000

/**
 * Domain separation of owner signatures and custody receipts. Owner
 * signatures mean what they meant in 2.0.0; a receipt names the envelope's
 * hash since 3.0.0, and its domain changed with it, so that no 2.0.0
 * receipt for an id passes for a 3.0.0 receipt for some bytes.
 */
export const AUTH_DOMAIN = 'starling-store-v2 owner-auth'
export const RECEIPT_DOMAIN = 'starling-store-v3 custody-receipt'
/** Domain of a relay's signature over a tree of receipts (receipt-tree.ts). */
export const RECEIPT_TREE_DOMAIN = 'starling-store-v3 custody-receipt-tree'
