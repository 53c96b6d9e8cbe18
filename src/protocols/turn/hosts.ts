/**
 * Which TURN URLs a device takes from a relay: only those naming the relay's
 * own host (DESIGN.md, Calls: ICE servers come only from the user's relays).
 * A URL naming another host would send our calls' media, and our address,
 * to a third party's TURN server, or make the browser probe a LAN address.
 * The relay's hosts are those of its addresses the device knows and the one
 * it dialled; a relay on loopback may name any loopback alias (127.0.0.0/8,
 * ::1, localhost). A DNS name matches only the same name (no resolution:
 * a relay known by address must name that address).
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { ForeignTurnUrlError } from './errors.js'

/** Multiaddr components that name a host. */
const HOST_COMPONENTS = new Set(['ip4', 'ip6', 'dns', 'dns4', 'dns6', 'dnsaddr'])

/** The host a `turn:`/`turns:`/`stun:`/`stuns:` URL names (RFC 7065 §3.1, RFC 7064 §3.1), lower-case, IPv6 without brackets. */
export function turnUrlHost (url: string): string {
  const rest = url.slice(url.indexOf(':') + 1).split('?')[0]
  if (rest.startsWith('[')) return rest.slice(1, rest.indexOf(']')).toLowerCase()
  return rest.split(':')[0].toLowerCase()
}

function isLoopbackHost (host: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(host) || host === '::1' || host === 'localhost'
}

/**
 * The hosts `addrs` name, lower-case. A relayed (circuit) address names the
 * host of the relay in the middle, not of the one reached through it: it
 * counts for nothing (a relay we reached through another could otherwise
 * name that other's host).
 */
export function relayHosts (addrs: Multiaddr[]): Set<string> {
  const hosts = new Set<string>()
  for (const addr of addrs) {
    const components = addr.getComponents()
    if (components.some(c => c.name === 'p2p-circuit')) continue
    for (const c of components) {
      if (HOST_COMPONENTS.has(c.name) && c.value != null) hosts.add(c.value.toLowerCase())
    }
  }
  return hosts
}

/**
 * The URLs of `urls` that name a host of the relay at `addrs`.
 *
 * @throws {ForeignTurnUrlError} when none does (the relay offers only other hosts' servers)
 */
export function ownTurnUrls (urls: string[], addrs: Multiaddr[]): string[] {
  const hosts = relayHosts(addrs)
  const loopback = [...hosts].some(isLoopbackHost)
  const kept = urls.filter(url => {
    const host = turnUrlHost(url)
    return hosts.has(host) || (loopback && isLoopbackHost(host))
  })
  if (kept.length === 0) throw new ForeignTurnUrlError(`the relay's TURN servers are not on the relay's own host (${[...hosts].join(', ') || 'no known host'}): ${urls.map(u => turnUrlHost(u)).join(', ').slice(0, 200)}`)
  return kept
}
