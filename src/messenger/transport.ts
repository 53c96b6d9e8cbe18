/**
 * What the messenger needs from the network, as one interface: the direct
 * path (`/starling/dm/1.0.0`) and the offline path through relays
 * (`/starling/store/3.0.0`). src/peer wires the libp2p protocols in
 * (src/peer/delivery-transport.ts); unit tests pass fakes; a test hook may
 * wrap it to drop, delay or duplicate. Envelopes that arrive directly come
 * in through `Messenger.receiveDirect`.
 */
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** A relay's signed promise to hold an envelope. */
export interface Custody {
  relay: string
  /** SHA-256 of the envelope the relay holds: the sender checks it names the bytes it handed over. */
  hash: Uint8Array
  storedAt: number
  expiresAt: number
}

/** An envelope fetched from a mailbox. */
export interface MailboxItem {
  id: Uint8Array
  envelope: Uint8Array
}

/**
 * An envelope to delete from a mailbox: its id and the SHA-256 of the bytes
 * this device fetched and opened. A relay deletes only an envelope with
 * those very bytes, so junk that one relay serves under a real id cannot
 * delete the real envelope from the others.
 */
export interface MailboxRef {
  id: Uint8Array
  hash: Uint8Array
}

/** The network as the messenger sees it. */
export interface DeliveryTransport {
  /** Sends one envelope straight to a device; resolves when the device acknowledged it (stored). */
  sendDirect(peer: PeerId, addrs: Multiaddr[], envelope: Uint8Array, signal: AbortSignal): Promise<void>
  /** Hands an envelope to a relay for the device's mailbox; resolves with the relay's custody receipt. */
  storeOnRelay(relay: PeerId, addrs: Multiaddr[], recipient: PeerId, envelope: Uint8Array, signal: AbortSignal): Promise<Custody>
  /** Reads our mailbox on a relay, oldest first (at `addrs` when given, else wherever libp2p finds it). */
  fetchMailbox(relay: PeerId, after: Uint8Array | undefined, signal: AbortSignal, addrs?: Multiaddr[]): Promise<{ items: MailboxItem[], cursor?: Uint8Array, more: boolean }>
  /**
   * The relays a relay is linked with, from its signed relay set (verified
   * against the relay that answered): the network whose relays reconcile
   * their mailboxes, every one of which a device reads. Absent: only our
   * own relays are read.
   */
  relaySet?(relay: PeerId, addrs: Multiaddr[], signal: AbortSignal): Promise<Array<{ peerId: PeerId, addrs: Multiaddr[] }>>
  /** Tells a relay to delete envelopes we have stored (or refused for good), named by id and content hash. */
  deleteFromMailbox(relay: PeerId, refs: MailboxRef[], signal: AbortSignal): Promise<void>
}
