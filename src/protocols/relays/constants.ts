/** Protocol id, limits and defaults of `/starling/relays/1.0.0`. */

/** A relay's signed list of the relays it is linked with. */
export const RELAYS_PROTOCOL = '/starling/relays/1.0.0'

/** Domain separation of the relay-set signature. */
export const RELAY_SET_DOMAIN = 'starling-relays-v1 relay-set'

/** How long a signed list may be used (one day); the relay signs a fresh one at half that. */
export const RELAY_SET_LIFETIME_MS = 24 * 60 * 60_000

/** Most relays one list may name (a relay set links a few operators, not a crowd). */
export const MAX_LINKED_RELAYS = 64

/** Most addresses per relay in a list. */
export const MAX_ADDRS_PER_RELAY = 8

/** Longest address (binary multiaddr) in a list. */
export const MAX_ADDR_LENGTH = 256

/** Largest frame: a full list plus room for the protobuf fields and the signature. */
export const MAX_RELAY_SET_FRAME_LENGTH = 4096 + MAX_LINKED_RELAYS * (64 + MAX_ADDRS_PER_RELAY * (MAX_ADDR_LENGTH + 4))

/** A record signed this far in the future (relay clock ahead of ours) is refused. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000

/** Time allowed for one fetch, dial included. */
export const FETCH_TIMEOUT_MS = 15_000

/** Concurrent inbound streams per connection. */
export const MAX_INBOUND_STREAMS = 4
