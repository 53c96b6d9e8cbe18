/**
 * `/starling/turn/1.0.0`: short-lived TURN credentials (coturn's REST API
 * shared-secret scheme) from a relay to the devices it serves, so that call
 * media can go through the TURN server its operator runs beside it.
 *
 * @example
 * ```ts
 * // on a relay (after the node): only peers holding a reservation are answered
 * const turn = new TurnServer({ registrar: node }, { urls: ['turn:relay.example.org:3478?transport=udp'], secret, serves: (peer) => reservations.has(peer) })
 * await turn.start()
 *
 * // on a device: ICE servers only from its own relays
 * const server = await fetchTurnCredentials(node, relayPeerId)   // { urls, username, credential, expiresAt }
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { turnCredential } from './credentials.js'
export type { TurnCredential } from './credentials.js'
export { TurnServer, checkTurnUrl, fetchTurnCredentials } from './turn.js'
export { ownTurnUrls, relayHosts, turnUrlHost } from './hosts.js'
export type { TurnIceServer, TurnServerComponents, TurnServerInit } from './turn.js'
