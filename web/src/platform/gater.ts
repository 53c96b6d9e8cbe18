/**
 * Which addresses a tab may dial. libp2p's browser default refuses `ws://`
 * and every private or loopback address (NOTES.md), which rules out the
 * local relay of `npm start` and every relay on a LAN. Here: `wss://`,
 * WebRTC and circuit addresses anywhere; plain `ws://` only to loopback
 * and private hosts (a relay on this machine or this network; a public
 * host must offer TLS); everything else as libp2p's defaults allow.
 */
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** IPv4 ranges on this machine or a private network (RFC 1918, loopback, link-local). */
const PRIVATE_V4 = /^(127\.|10\.|192\.168\.|172\.(1[6-9]|2\d|3[01])\.|169\.254\.)/

/** A dotted-quad IPv4 address. */
const IPV4 = /^\d{1,3}(\.\d{1,3}){3}$/

/**
 * Whether `host` (an IP address or DNS name) is loopback or on a private
 * network. Address ranges apply to addresses only: a DNS name that merely
 * starts like one (`127.0.0.1.example.com`, `fdroid.org`) is a public host.
 */
export function isLocalHost (host: string): boolean {
  const h = host.toLowerCase()
  if (IPV4.test(h)) return PRIVATE_V4.test(h)
  if (h.includes(':')) return h === '::1' || /^f[cd][0-9a-f]{0,2}:/.test(h) || /^fe[89ab][0-9a-f]?:/.test(h)
  return h === 'localhost' || h.endsWith('.localhost')
}

/** Whether a tab may dial `ma`. */
export function allowDial (ma: Multiaddr): boolean {
  const components = ma.getComponents()
  const names = components.map(c => c.name)
  // Through a relay: whether the relay itself may be dialled is decided when it is.
  if (names.includes('p2p-circuit')) return true
  const host = components.find(c => ['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'].includes(c.name))?.value
  if (names.includes('ws') && !names.includes('tls')) return host != null && isLocalHost(host)
  return names.includes('wss') || names.includes('tls') || names.includes('webrtc-direct') || names.includes('webrtc')
}

/** The tab's connection gater: {@link allowDial} for every address dialled. */
export function browserConnectionGater (): ConnectionGater {
  return {
    denyDialMultiaddr: (ma) => !allowDial(ma)
  }
}
