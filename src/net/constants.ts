/** Protocol ids and network defaults shared by relays and user nodes. */

/** Kademlia DHT protocol: Starling's own DHT, apart from the public IPFS one. */
export const DHT_PROTOCOL = '/starling/kad/1.0.0'

/**
 * Circuit relay v2 limits on a relayed connection, set for messaging rather
 * than libp2p's 2 minute / 128 KiB default: messages and call signalling
 * flow over relayed connections for as long as two peers cannot connect
 * directly, and attachments up to the relay size limit must fit.
 */
export const RELAY_DURATION_LIMIT_MS = 30 * 60_000
/** Bytes per direction a relayed connection may carry before the relay closes it. */
export const RELAY_DATA_LIMIT_BYTES = 64n * 1024n * 1024n
/** How long one reservation lasts before the client must renew it. */
export const RELAY_RESERVATION_TTL_MS = 2 * 60 * 60_000
/** Reservations one relay holds at once. */
export const RELAY_MAX_RESERVATIONS = 1024
/** Connections one relay holds at once: one per reservation, plus other relays, DHT clients and senders. */
export const RELAY_MAX_CONNECTIONS = 4096

/** Lifetime of a published device record or handle claim. */
export const RECORD_LIFETIME_MS = 24 * 60 * 60_000
/** Republish when this fraction of a record's lifetime has passed. */
export const REPUBLISH_FRACTION = 0.5
