/**
 * /starling/dm/1.0.0, the direct path of a message (DESIGN.md "Paths a
 * message takes", step 1): the sender writes sealed envelopes on one
 * long-lived stream per peer, many in flight at once; the receiver stores
 * each one and only then acknowledges it by its readable envelope id.
 *
 * Frames are an unsigned varint length and one protobuf message
 * (pb/dm.proto): `Deliver { envelope }` from the dialer, `Ack { ids }` from
 * the listener. A Deliver frame longer than a maximal envelope (1 MiB) plus
 * its field header, a frame that is not a sealed envelope, a truncated
 * frame, or an envelope the receiver refuses all cost the sender its stream
 * (its unacknowledged sends fail and are retried on a new stream). Both
 * sides opt in to relayed (limited) connections.
 *
 * @example
 * ```ts
 * import { DmClient, DmServer, DuplicateEnvelopeError } from './protocols/dm/index.js'
 *
 * // receiving: store, then resolve; a known envelope id is acknowledged again
 * const server = new DmServer(node, {
 *   onEnvelope: async (envelope, from, connection, { id, signal }) => {
 *     if (await inbox.has(id)) throw new DuplicateEnvelopeError('already stored')
 *     await inbox.storeDurably(envelope, from, { signal })
 *   }
 * })
 * await server.start()
 *
 * // sending: resolves on the acknowledgement
 * const client = new DmClient(node, { window: 256 })
 * client.start()
 * await client.send(peerId, envelope, { addrs: deviceRecordAddrs, signal })
 *
 * client.stop()
 * await server.stop()
 * ```
 */
export { DmClient } from './client.js'
export type { DmClientComponents, DmClientInit, DmSendOptions } from './client.js'
export { DmServer } from './server.js'
export type { DmServerComponents, DmServerInit, OnEnvelope, OnEnvelopeOptions } from './server.js'
export {
  DM_PROTOCOL,
  MAX_DELIVER_FRAME_LENGTH,
  DEFAULT_WINDOW,
  DEFAULT_WINDOW_BYTES,
  DEFAULT_ACK_TIMEOUT_MS,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_SERVER_CONCURRENCY
} from './constants.js'
export {
  DuplicateEnvelopeError,
  DmTimeoutError,
  DmUnreachableError,
  DmStreamClosedError,
  DmProtocolError,
  DmInvalidEnvelopeError,
  DmAbortedError,
  DmNotStartedError,
  isDuplicateEnvelope
} from './errors.js'
