/**
 * Where a connection comes from, for per-source budgets. A peer id costs
 * nothing to make, so budgets that must hold against sybils are kept per
 * source, never per peer id:
 *
 *   - an IPv4 address (also when it arrives as an IPv4-mapped IPv6 address);
 *   - an IPv6 /64, the block one subscriber usually gets (RFC 6177), so
 *     walking through the addresses of one's own /64 gains nothing;
 *   - for a relayed (circuit) connection, the relay's peer id plus the
 *     relayed peer: the relay alone knows the address behind it, and the
 *     relay bounds its own reservations per source.
 *
 * Anything else (in-memory transports in tests) falls back to the peer id.
 */
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A source as a printable key: `ip4:…`, `ip6:…/64`, `circuit:<relay>/<peer>` or `peer:<peer id>`. */
export type Source = string

/** The source of a connection (see the file comment). */
export function connectionSource (connection: Pick<Connection, 'remoteAddr' | 'remotePeer'>): Source {
  return sourceOf(connection.remoteAddr, connection.remotePeer)
}

/** The source of a remote address, with the peer id for relayed and unknown addresses. */
export function sourceOf (remoteAddr: Multiaddr, remotePeer: PeerId): Source {
  const components = remoteAddr.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  if (circuit >= 0) {
    const relay = components.slice(0, circuit).findLast(c => c.name === 'p2p')?.value ?? 'unknown'
    return `circuit:${relay}/${remotePeer.toString()}`
  }
  return addressSource(remoteAddr) ?? `peer:${remotePeer.toString()}`
}

/**
 * The source of a direct connection's remote address, before its peer is
 * known (an IPv4 address or an IPv6 /64); undefined for a relayed address
 * or one with no IP.
 */
export function addressSource (remoteAddr: Multiaddr): Source | undefined {
  const components = remoteAddr.getComponents()
  if (components.some(c => c.name === 'p2p-circuit')) return undefined
  const ip = components.find(c => c.name === 'ip4' || c.name === 'ip6')
  if (ip?.value == null) return undefined
  if (ip.name === 'ip4') return `ip4:${ip.value}`
  const groups = parseIpv6(ip.value)
  if (groups == null) return undefined
  if (isIpv4Mapped(groups)) return `ip4:${groups[6] >> 8}.${groups[6] & 0xff}.${groups[7] >> 8}.${groups[7] & 0xff}`
  return `ip6:${groups.slice(0, 4).map(g => g.toString(16)).join(':')}::/64`
}

function isIpv4Mapped (groups: number[]): boolean {
  return groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff
}

/** The eight 16-bit groups of an IPv6 address in text form, or undefined when it is not one. */
export function parseIpv6 (text: string): number[] | undefined {
  const address = text.split('%')[0]
  const halves = address.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string): number[] | undefined => {
    if (part === '') return []
    const groups: number[] = []
    const pieces = part.split(':')
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]
      if (i === pieces.length - 1 && piece.includes('.')) {
        const octets = piece.split('.').map(Number)
        if (octets.length !== 4 || octets.some(o => !Number.isInteger(o) || o < 0 || o > 255)) return undefined
        groups.push((octets[0] << 8) | octets[1], (octets[2] << 8) | octets[3])
        continue
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return undefined
      groups.push(parseInt(piece, 16))
    }
    return groups
  }
  const head = parse(halves[0])
  const tail = halves.length === 2 ? parse(halves[1]) : []
  if (head == null || tail == null) return undefined
  if (halves.length === 1) return head.length === 8 ? head : undefined
  const missing = 8 - head.length - tail.length
  if (missing < 1) return undefined
  return [...head, ...new Array<number>(missing).fill(0), ...tail]
}
