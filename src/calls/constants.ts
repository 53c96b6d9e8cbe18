/** Protocol id, limits and defaults of `/starling/call/1.0.0`. */

/** Call signalling: one stream per call, frames both ways. */
export const CALL_PROTOCOL = '/starling/call/1.0.0'

/** Length of a call id (random 128 bits). */
export const CALL_ID_BYTES = 16

/**
 * Largest frame body. An SDP offer with audio, video and a data channel is
 * 5–10 KB in Chromium; 64 KiB leaves room without letting a peer make us
 * buffer much.
 */
export const MAX_FRAME_LENGTH = 64 * 1024

/** Longest SDP accepted (inside a frame). */
export const MAX_SDP_LENGTH = 48 * 1024

/**
 * Most media sections an SDP of a call may have: an honest one has audio,
 * video and the data channel. Each section is a transceiver, and a track
 * event, in the callee's connection, made while a contact's call rings.
 */
export const MAX_MEDIA_SECTIONS = 4

/** Longest ICE candidate line. */
export const MAX_CANDIDATE_LENGTH = 512

/** ICE candidates one call may receive (a host has a handful; restarts add more). */
export const MAX_CANDIDATES_PER_CALL = 100

/** Frames one call may receive in all (mute toggles, restarts, candidates). */
export const MAX_FRAMES_PER_CALL = 1_000

/** Renegotiations (ICE restarts) one call may ask for. */
export const MAX_RENEGOTIATIONS_PER_CALL = 20

/** How long a call rings before it is missed (DESIGN.md, Calls; issue 12). */
export const RING_TIMEOUT_MS = 60_000

/** How long a connected call may stay disconnected before an ICE restart is asked for. */
export const DISCONNECTED_RESTART_MS = 2_000

/** How long ICE restarts may try before the call ends as failed. */
export const RECONNECT_TIMEOUT_MS = 30_000

/**
 * How long from the accept to connected before the call ends as failed, on
 * each side's own clock: from the callee's accept, and from the caller's
 * receipt of it, whatever its WebRTC stack does meanwhile (one that never
 * finishes applying a description leaves no other clock running: the ring
 * clock stops at the accept).
 */
export const CONNECT_TIMEOUT_MS = 30_000

/** How long opening the signalling stream (dial included, both tries) may take. */
export const DIAL_TIMEOUT_MS = 15_000

/**
 * Tries at a call stream per device (open-stream.ts): one, and one more on
 * another connection when a stream fails to open on the first.
 */
export const STREAM_TRIES = 2

/**
 * Time a try at a call stream on a connection that was already open may
 * take while a second try is left: a live connection answers in a round
 * trip or two; one the other side has given up never does.
 */
export const STREAM_TRY_TIMEOUT_MS = 5_000

/**
 * Longest a contact's incoming call waits for its connection (made while it
 * rings) to have its answer set before the host hears of it anyway
 * (service.ts): making it asks our relays for TURN credentials when none
 * are kept, which can take seconds; the screen must not.
 */
export const RING_ANNOUNCE_WAIT_MS = 100

/**
 * Longest the caller's candidates wait, at a callee that accepted, for its
 * microphone and camera to go on the connection (session.ts): a slow
 * permission prompt must not hold the connection back, and under relay
 * only our TURN server lets the caller's checks in only once its
 * candidates are added.
 */
export const CANDIDATES_WAIT_FOR_MEDIA_MS = 100

/** A frame that has begun must be complete within this time. */
export const FRAME_TIMEOUT_MS = 10_000

/** Call attempts one device may make to us per window (refilled over the window). */
export const CALLS_PER_PEER = 5
/** Calls from strangers (not contacts) in all per window: fresh peer ids do not reset it. */
export const STRANGER_CALLS = 10
/** The window of both call budgets. */
export const CALL_BUDGET_WINDOW_MS = 60_000

/** Devices whose call budgets are remembered (the oldest are forgotten first). */
export const MAX_BUDGET_PEERS = 1_024

/** Call ids remembered after their call ended: a replayed offer for one is refused. */
export const MAX_REMEMBERED_CALLS = 1_024

/** DTLS fingerprints remembered from ended calls: an SDP naming one again is a replay. */
export const MAX_REMEMBERED_FINGERPRINTS = 1_024

/** Inbound call streams per connection (one call, and one that arrives while it runs to answer busy). */
export const MAX_INBOUND_STREAMS = 4
/** Outbound call streams per connection. */
export const MAX_OUTBOUND_STREAMS = 4
