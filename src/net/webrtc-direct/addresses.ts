/**
 * WebRTC-direct multiaddrs with more than one `/certhash`: a relay
 * announces each of its addresses with the certificate it serves and the
 * one it will serve next (certificates.ts), and a dialer tries each.
 */
import { CODE_CERTHASH, CODE_WEBRTC_DIRECT, multiaddr } from '@multiformats/multiaddr'
import type { Component, Multiaddr } from '@multiformats/multiaddr'

/** True for an address with a `/webrtc-direct` component. */
export function isWebRTCDirect (ma: Multiaddr): boolean {
  return ma.getComponents().some(c => c.code === CODE_WEBRTC_DIRECT)
}

/** The certhashes of an address, in order. */
export function certhashes (ma: Multiaddr): string[] {
  return ma.getComponents().filter(c => c.code === CODE_CERTHASH).map(c => c.value ?? '')
}

/**
 * The address with exactly `hashes` after its `/webrtc-direct` (those it had
 * are replaced); an address that is not WebRTC-direct is returned as it is.
 */
export function withCerthashes (ma: Multiaddr, hashes: string[]): Multiaddr {
  const components = ma.getComponents()
  const at = components.findIndex(c => c.code === CODE_WEBRTC_DIRECT)
  if (at < 0) return ma
  const before = components.slice(0, at + 1)
  const after = components.slice(at + 1).filter(c => c.code !== CODE_CERTHASH)
  const added: Component[] = hashes.map(value => ({ code: CODE_CERTHASH, name: 'certhash', value }))
  return multiaddr([...before, ...added, ...after])
}

/**
 * One address per certhash, in the order given: what a dialer that reads
 * only the first certhash can dial. An address with one certhash or none
 * gives itself.
 */
export function perCerthash (ma: Multiaddr): Multiaddr[] {
  const hashes = certhashes(ma)
  if (hashes.length <= 1) return [ma]
  return hashes.map(h => withCerthashes(ma, [h]))
}

/**
 * libp2p's `addresses.announceFilter` for a relay: every WebRTC-direct
 * address it announces (listen addresses and `--announce` ones alike) names
 * the certhashes `hashes()` gives at that moment.
 */
export function announceCerthashes (hashes: () => string[]): (addrs: Multiaddr[]) => Multiaddr[] {
  return (addrs) => addrs.map(ma => isWebRTCDirect(ma) ? withCerthashes(ma, hashes()) : ma)
}
