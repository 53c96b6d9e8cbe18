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

/**
 * A TURN or STUN URL as RFC 7065 §3.1 and RFC 7064 §3.1 write it: scheme,
 * host (IPv6 in brackets), optional port, optional transport; nothing else.
 * Anything more (user info before an `@`, a path, a fragment) is read
 * differently by WebRTC stacks: Firefox parses `turn:A:3478@B` as user
 * info `A:3478` on host `B`, so a check that read host `A` would let a
 * relay point media at `B`.
 */
const TURN_URL = /^(?:turns?|stuns?):(?:\[([0-9a-f:.]+)\]|([a-z0-9.-]+))(?::\d{1,5})?(?:\?transport=[a-z0-9._~-]+)?$/i

/** The host a `turn:`/`turns:`/`stun:`/`stuns:` URL names, lower-case, IPv6 without brackets; undefined for a URL outside the RFCs' form. */
export function turnUrlHost (url: string): string | undefined {
  const match = TURN_URL.exec(url)
  if (match == null) return undefined
  return (match[1] ?? match[2]).toLowerCase()
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
    return host !== undefined && (hosts.has(host) || (loopback && isLoopbackHost(host)))
  })
  if (kept.length === 0) throw new ForeignTurnUrlError(`the relay's TURN servers are not on the relay's own host (${[...hosts].join(', ') || 'no known host'}): ${urls.map(u => turnUrlHost(u) ?? 'malformed').join(', ').slice(0, 200)}`)
  return kept
}
