/**
 * The messenger's network over libp2p, outbound: `/starling/dm/1.0.0` for
 * the direct path, `/starling/store/3.0.0` for relay mailboxes and
 * `/starling/relays/1.0.0` for the network's relays. The adapter between
 * the wire protocols and the messenger's transport interface, so it lives
 * in the peer assembly: the protocols know no conversations. Envelopes that
 * arrive directly are the DM server's (peer.ts hands them to the messenger).
 */
import type { PeerId, PrivateKey } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { DmClient } from '../protocols/dm/index.js'
import type { DmClientInit } from '../protocols/dm/index.js'
import { MAX_FETCH_LIMIT, StoreClient, mailboxId } from '../protocols/store/index.js'
import type { StoreClientInit } from '../protocols/store/index.js'
import { fetchRelaySet } from '../protocols/relays/index.js'
import type { Custody, DeliveryTransport, MailboxItem, MailboxRef } from '../messenger/index.js'
import type { StarlingLibp2p } from '../net/node.js'

export interface Libp2pTransportInit {
  /** The device key that proves mailbox ownership to relays. */
  deviceKey: PrivateKey
  dm?: DmClientInit
  /** The store client's primitives (the crypto facade's, so that a receipt costs what the platform's own Ed25519 and SHA-256 cost). */
  store?: Pick<StoreClientInit, 'ed25519' | 'sha256'>
}

/** Direct and relay delivery over a libp2p node. */
export class Libp2pTransport implements DeliveryTransport {
  private readonly dm: DmClient
  private readonly store: StoreClient

  constructor (private readonly node: StarlingLibp2p, private readonly init: Libp2pTransportInit) {
    this.dm = new DmClient(node, init.dm)
    this.store = new StoreClient(node, init.store)
  }

  start (): void {
    this.dm.start()
  }

  async stop (): Promise<void> {
    this.dm.stop()
    await this.store.close()
  }

  async sendDirect (peer: PeerId, addrs: Multiaddr[], envelope: Uint8Array, signal: AbortSignal): Promise<void> {
    await this.dm.send(peer, envelope, { signal, addrs })
  }

  async storeOnRelay (relay: PeerId, addrs: Multiaddr[], recipient: PeerId, envelope: Uint8Array, signal: AbortSignal): Promise<Custody> {
    // The store client checked the receipt's signature, and that it names these very bytes.
    const receipt = await this.store.put(addrs.length > 0 ? addrs : relay, mailboxId(recipient), envelope, { signal })
    return { relay: receipt.relay.toString(), hash: receipt.hash, storedAt: receipt.storedAt, expiresAt: receipt.expiresAt }
  }

  async fetchMailbox (relay: PeerId, after: Uint8Array | undefined, signal: AbortSignal, addrs: Multiaddr[] = []): Promise<{ items: MailboxItem[], cursor?: Uint8Array, more: boolean }> {
    // Full pages (the relay also caps them at 2 MiB): a device back online catches up in few round trips.
    const page = await this.store.fetch(addrs.length > 0 ? addrs : relay, this.init.deviceKey, { after, signal, limit: MAX_FETCH_LIMIT })
    return { items: page.envelopes.map(e => ({ id: e.id, envelope: e.envelope })), cursor: page.cursor, more: page.more }
  }

  async relaySet (relay: PeerId, addrs: Multiaddr[], signal: AbortSignal): Promise<Array<{ peerId: PeerId, addrs: Multiaddr[] }>> {
    const view = await fetchRelaySet(this.node, addrs.length > 0 ? addrs : relay, { signal })
    return view.relays
  }

  async deleteFromMailbox (relay: PeerId, refs: MailboxRef[], signal: AbortSignal): Promise<void> {
    await this.store.delete(relay, this.init.deviceKey, refs, { signal })
  }
}
