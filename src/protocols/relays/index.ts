/**
 * `/starling/relays/1.0.0`: a relay's signed list of the relays it is
 * linked with (its relay set), for devices that read or write every relay
 * of the set. One length-prefixed SignedRelaySet per stream, signed by the
 * relay's peer key, with a sequence (signing time) and an expiry.
 *
 * @example
 * ```ts
 * // on a relay
 * services: { relaySet: relaySetServer({ relays: () => relaySet.linked }) }
 *
 * // on a device
 * const view = await fetchRelaySet(node, relayPeerId)   // verified against the relay that answered
 * for (const relay of view.relays) ...
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { RelaySetServer, fetchRelaySet, relaySetServer, signRelaySet, verifyRelaySet } from './relays.js'
export type { RelayEntry, RelaySetServerComponents, RelaySetServerInit, RelaySetView } from './relays.js'
