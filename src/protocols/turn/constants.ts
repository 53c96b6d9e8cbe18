/** Protocol id, limits and defaults of `/starling/turn/1.0.0`. */

/** A relay hands the devices it serves short-lived TURN credentials. */
export const TURN_PROTOCOL = '/starling/turn/1.0.0'

/**
 * How long a credential works. Short, so a leaked one soon stops working;
 * long enough for a call (coturn checks it at allocation and refresh, so a
 * call under way keeps its allocation only while it is valid: a device asks
 * again before each call, and the host may ask again during a long one).
 */
export const DEFAULT_CREDENTIAL_TTL_MS = 6 * 60 * 60_000

/** Most URLs one answer may carry. */
export const MAX_TURN_URLS = 8
/** Longest URL. */
export const MAX_TURN_URL_LENGTH = 256
/** Largest answer frame. */
export const MAX_TURN_FRAME_LENGTH = 4096

/** Credentials one peer may ask for per window. */
export const TURN_REQUESTS_PER_PEER = 20
/** The window of that budget. */
export const TURN_BUDGET_WINDOW_MS = 60 * 60_000
/** Peers whose budget is remembered. */
export const MAX_TURN_BUDGET_PEERS = 4096

/** Time allowed for one request, dial included. */
export const TURN_TIMEOUT_MS = 10_000

/** Concurrent inbound streams per connection. */
export const MAX_INBOUND_STREAMS = 2
