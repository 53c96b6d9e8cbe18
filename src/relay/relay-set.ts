/**
 * The relays this relay is linked with. Relays link by explicit, mutual
 * configuration (each operator lists the other with `--peer`), as IRC
 * servers or Matrix federations agree to link: a relay takes mailbox gossip
 * only from the relays it lists, and serves the list, signed, to users
 * (`/starling/relays/1.0.0`).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A relay of the set: its peer id and where to reach it. */
export interface LinkedRelay {
  peerId: PeerId
  addrs: Multiaddr[]
}

/** Thrown for a `--peer` address that names no relay. */
export class InvalidRelayAddressError extends Error {
  override readonly name = 'InvalidRelayAddressError'
}

/** The relays a relay is linked with (not itself). */
export class RelaySet {
  private readonly byId = new Map<string, LinkedRelay>()

  constructor (linked: readonly LinkedRelay[] = []) {
    for (const relay of linked) {
      const id = relay.peerId.toString()
      const known = this.byId.get(id)
      this.byId.set(id, { peerId: relay.peerId, addrs: [...(known?.addrs ?? []), ...relay.addrs] })
    }
  }

  /**
   * The set from relay multiaddrs, each ending in `/p2p/<peer id>`.
   *
   * @throws {InvalidRelayAddressError} for an address without a peer id
   */
  static fromMultiaddrs (addrs: readonly string[]): RelaySet {
    return new RelaySet(addrs.map(text => {
      let addr: Multiaddr
      let id: string | undefined
      try {
        addr = multiaddr(text)
        id = addr.getComponents().findLast(c => c.name === 'p2p')?.value
      } catch (err) {
        throw new InvalidRelayAddressError(`${text} is not a multiaddr: ${(err as Error).message}`)
      }
      if (id == null) throw new InvalidRelayAddressError(`${text} names no relay: it must end in /p2p/<peer id>`)
      return { peerId: peerIdFromString(id), addrs: [addr] }
    }))
  }

  /** Whether `peer` is a linked relay. */
  has (peer: PeerId | string): boolean {
    return this.byId.has(peer.toString())
  }

  /** The linked relays. */
  get linked (): LinkedRelay[] {
    return [...this.byId.values()]
  }

  get size (): number {
    return this.byId.size
  }
}
