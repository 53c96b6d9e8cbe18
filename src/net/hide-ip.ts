/**
 * Hide my IP (DESIGN.md, Calls) at the network layer: while it is on, only
 * the relays of our own network ever learn this device's address.
 *
 * - Announced addresses (identify, the device record in the DHT, DCUtR's
 *   CONNECT message) are only relayed ones (`.../p2p-circuit`), and only
 *   through our relays: never a listening address, an observed one, or a
 *   `/webrtc` one (dialling it runs ICE, which hands our candidates over).
 * - Dials go only to our relays (directly) and to others through our relays
 *   (`<our relay>/p2p-circuit/p2p/<them>`). A contact's direct addresses, a
 *   WebRTC upgrade, and a "relay" a device record names that is not one of
 *   ours (it may be the contact's own machine) are all refused. DCUtR does
 *   not run: it is left out of a node made with the setting on, and the
 *   peer stops it when the setting is turned on (src/peer/peer.ts).
 * - Inbound connections that are neither relayed nor from one of our relays
 *   are refused (someone who learnt a listening port elsewhere).
 *
 * "Our relays" are the ones the user chose and those their signed relay sets
 * name (src/messenger/network-relays.ts): the operators the user trusts with
 * their address anyway (DESIGN.md, Relays). Call media is the calls'
 * business (iceTransportPolicy 'relay', src/calls/service.ts), read from
 * {@link HideIp.enabled}. The setting may change while the node runs: the
 * checks read it each time, and the peer closes direct connections and
 * republishes its record when it is turned on (src/peer/peer.ts).
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the setting needs. */
export interface HideIpInit {
  /** On from the start (default off). */
  enabled?: boolean
  /** Peer ids (as strings) of our relays: the only peers that may see our address. */
  relays: () => Iterable<string>
}

/** The components of a multiaddr, by name, in order. */
function names (ma: Multiaddr): string[] {
  return ma.getComponents().map(c => c.name)
}

/**
 * The relay an address goes through (the peer id before `/p2p-circuit`),
 * or undefined for an address that is not relayed or names no relay.
 */
export function circuitRelay (ma: Multiaddr): string | undefined {
  const components = ma.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  if (circuit < 0) return undefined
  return components.slice(0, circuit).findLast(c => c.name === 'p2p')?.value
}

/** The peer an address leads to (its last `/p2p/`), if it names one. */
function destination (ma: Multiaddr): string | undefined {
  return ma.getComponents().findLast(c => c.name === 'p2p')?.value
}

/** Hide my IP: the switch, and the checks libp2p runs through it. */
export class HideIp {
  private on: boolean
  private relays: () => Iterable<string>

  constructor (init: HideIpInit) {
    this.on = init.enabled === true
    this.relays = init.relays
  }

  /** Whether addresses are hidden now. */
  get enabled (): boolean {
    return this.on
  }

  /** Turns hiding on or off (the peer does the rest: closing direct connections, republishing). */
  set (enabled: boolean): void {
    this.on = enabled
  }

  /**
   * Where our relays come from: the peer learns its network's relays only
   * once its messenger exists, after the node (whose checks need them).
   */
  useRelays (relays: () => Iterable<string>): void {
    this.relays = relays
  }

  /** Whether a peer is one of our relays. */
  isRelay (peer: PeerId | string): boolean {
    const id = peer.toString()
    for (const r of this.relays()) if (r === id) return true
    return false
  }

  /**
   * Whether an address may be dialled now: anything when off; when on, a
   * relayed address through one of our relays (no WebRTC upgrade over it),
   * or an address of one of our relays itself.
   */
  allowsDial (ma: Multiaddr): boolean {
    if (!this.on) return true
    if (names(ma).includes('webrtc')) return false
    const relay = circuitRelay(ma)
    if (relay != null) return this.isRelay(relay)
    if (names(ma).includes('p2p-circuit')) return false
    const peer = destination(ma)
    return peer != null && this.isRelay(peer)
  }

  /** Whether an address may be announced now: when on, only relayed ones through our relays. */
  allowsAnnounce (ma: Multiaddr): boolean {
    if (!this.on) return true
    if (names(ma).includes('webrtc')) return false
    const relay = circuitRelay(ma)
    return relay != null && this.isRelay(relay)
  }

  /** Whether a connection (already encrypted, so its peer is known) may stay. */
  allowsConnection (peer: PeerId, remoteAddr: Multiaddr): boolean {
    if (!this.on || this.isRelay(peer)) return true
    return names(remoteAddr).includes('p2p-circuit') && !names(remoteAddr).includes('webrtc')
  }

  /** libp2p's announce filter: `base` first (a platform's own), then ours. */
  announceFilter (base?: (addrs: Multiaddr[]) => Multiaddr[]): (addrs: Multiaddr[]) => Multiaddr[] {
    return (addrs) => (base != null ? base(addrs) : addrs).filter(ma => this.allowsAnnounce(ma))
  }

  /**
   * A connection gater that asks `base` (the platform's) first, then these
   * checks. The dial check is the one that keeps the address from a peer;
   * the connection checks refuse what got past it (an inbound connection to
   * a port learnt elsewhere, a WebRTC connection).
   */
  gater (base: ConnectionGater = {}): ConnectionGater {
    const deniedConnection = (peer: PeerId, maConn: MultiaddrConnection): boolean => !this.allowsConnection(peer, maConn.remoteAddr)
    return {
      ...base,
      denyDialMultiaddr: async (ma) => (await base.denyDialMultiaddr?.(ma)) === true || !this.allowsDial(ma),
      denyInboundEncryptedConnection: async (peer, maConn) => (await base.denyInboundEncryptedConnection?.(peer, maConn)) === true || deniedConnection(peer, maConn),
      denyOutboundEncryptedConnection: async (peer, maConn) => (await base.denyOutboundEncryptedConnection?.(peer, maConn)) === true || deniedConnection(peer, maConn),
      // A WebRTC connection skips the encrypted-connection checks (DTLS, not Noise): it meets these.
      denyInboundUpgradedConnection: async (peer, maConn) => (await base.denyInboundUpgradedConnection?.(peer, maConn)) === true || deniedConnection(peer, maConn),
      denyOutboundUpgradedConnection: async (peer, maConn) => (await base.denyOutboundUpgradedConnection?.(peer, maConn)) === true || deniedConnection(peer, maConn)
    }
  }
}
