/**
 * The relays of this device's network (DESIGN.md, Paths a message takes):
 * its own relays, then those their signed relay sets name. Relays of one
 * network reconcile their mailboxes, so a device reads every one of them
 * (mailboxes.ts) and a sender may hand envelopes to any (delivery.ts).
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import type { RemoteDevice } from './devices.js'
import type { DeliveryTransport } from './transport.js'

const log = logger('starling:messenger:mailboxes')

/** How long one relay set request may take. */
export const RELAY_SET_TIMEOUT_MS = 15_000
/** How often the relay sets of our relays are read again (the network can change). */
export const RELAY_SET_REFRESH_MS = 10 * 60_000
/** Most relays of the network learnt, besides our own (a relay set is bounded too). */
export const MAX_NETWORK_RELAYS = 32

/** A relay: its peer id and where it listens. */
export interface RelayRef {
  peerId: PeerId
  addrs: RemoteDevice['addrs']
}

/** What {@link NetworkRelays} works with. */
export interface NetworkRelaysComponents {
  /** Reads a relay's signed relay set (absent: only our own relays are known). */
  transport: Pick<DeliveryTransport, 'relaySet'>
  /** Our own relays. */
  ownRelays(): RelayRef[]
  now(): number
}

/** Our relays and the rest of their network, learnt from their signed relay sets. */
export class NetworkRelays {
  /** Relays of the network learnt from our relays' signed sets, by peer id. */
  private readonly network = new Map<string, RelayRef>()
  private readAt = -Infinity

  constructor (private readonly components: NetworkRelaysComponents) {}

  /** Every relay: ours first, then the rest of the network. */
  relays (): RelayRef[] {
    const own = this.components.ownRelays()
    const ids = new Set(own.map(r => r.peerId.toString()))
    return [...own, ...[...this.network.values()].filter(r => !ids.has(r.peerId.toString()))]
  }

  /**
   * Reads our relays' signed relay sets again when they are due. When none
   * answers, what was learnt before is kept (and read again next time).
   */
  async refresh (): Promise<void> {
    const { transport, now } = this.components
    const relaySet = transport.relaySet
    if (relaySet == null || now() - this.readAt < RELAY_SET_REFRESH_MS) return
    const learnt = new Map<string, RelayRef>()
    let answered = false
    await Promise.all(this.components.ownRelays().map(async own => {
      try {
        for (const r of await relaySet.call(transport, own.peerId, own.addrs, AbortSignal.timeout(RELAY_SET_TIMEOUT_MS))) {
          if (learnt.size < MAX_NETWORK_RELAYS) learnt.set(r.peerId.toString(), r)
        }
        answered = true
      } catch (err) {
        log('relay set of %p not read: %s', own.peerId, (err as Error).message)
      }
    }))
    if (!answered) return
    this.readAt = now()
    this.network.clear()
    for (const [k, r] of learnt) this.network.set(k, r)
  }
}
