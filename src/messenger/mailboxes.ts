/**
 * Reading this device's mailboxes on its relays: at start, when asked (after
 * every relay reservation), and periodically. A page is received
 * concurrently through the inbox; what is settled is deleted from the relay
 * only after the delivery receipts it owes are queued durably, and a page's
 * delete overlaps the next page's fetch. A delete names each envelope by id
 * and the SHA-256 of the very bytes this device fetched and opened: a relay
 * that serves junk under a real envelope's id gets only its junk deleted,
 * and the relays holding the real envelope keep it.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { parseEnvelopeHeader } from '../crypto/envelope.js'
import type { RemoteDevice } from './devices.js'
import type { EnvelopeMarker } from './history.js'
import { fromHex, toHex } from './bytes.js'
import { Backoff } from './backoff.js'
import { setNewest } from '../bounded.js'
import { RECEIPTED } from './receipts.js'
import type { Inbox } from './inbox.js'
import type { Crypto } from '../crypto/index.js'
import type { History } from './history.js'
import type { Contacts } from './contacts.js'
import type { Sessions } from './sessions.js'
import type { DeliveredBody } from './model/index.js'
import type { DeliveryTransport, MailboxRef } from './transport.js'
import type { NetworkRelays, RelayRef } from './network-relays.js'

const log = logger('starling:messenger:mailboxes')

/** Pages read from one relay in one pass (bounded work per pass). */
export const MAX_PAGES_PER_FETCH = 100
/** How long one mailbox request may take. */
export const FETCH_TIMEOUT_MS = 15_000
export { MAX_NETWORK_RELAYS, RELAY_SET_REFRESH_MS } from './network-relays.js'
/** A relay whose mailbox could not be read waits from the fetch interval, doubling, up to this. */
export const RELAY_READ_BACKOFF_CAP_MS = 5 * 60_000
/** Most envelopes opened from one relay in one pass: what one mailbox holds by default (more is junk minted on the fly). */
export const MAX_ENVELOPES_PER_PASS = 10_000
/**
 * A relay whose envelopes are mostly refused (more than this many in a pass,
 * and more than half of what it served) is left for the rest of the pass and
 * waits on the backoff, as one that cannot be read: junk costs an X25519 each.
 */
export const MAX_REFUSED_PER_PASS = 100
/** Messages whose delivery receipt was queued since start, remembered so that copies from other relays send none again. */
export const MAX_RECEIPTED = 65_536

/** A relay served mostly envelopes that were refused: it is read again only after a wait. */
export class JunkRelayError extends Error {
  override readonly name = 'JunkRelayError'
}


/** Delivery receipts owed to one device for a mailbox page. */
interface Receipts {
  account: Uint8Array
  ids: Uint8Array[]
  identityKey?: Uint8Array
}

export interface MailboxesInit {
  fetchIntervalMs: number
}

/** What {@link Mailboxes} works with. */
export interface MailboxesComponents {
  transport: Pick<DeliveryTransport, 'fetchMailbox' | 'deleteFromMailbox'>
  /** Every relay of our network: each one's mailbox is read. */
  network: Pick<NetworkRelays, 'relays' | 'refresh'>
  /** Where each fetched envelope is received. */
  inbox: Pick<Inbox, 'receive'>
  /** The markers of envelopes stored before (a duplicate owes its receipt again). */
  history: Pick<History, 'envelopeMarker'>
  /** A receipt to a stranger's device without a record is not waited for. */
  contacts: Pick<Contacts, 'get'>
  /** Whether we have a session with a device's identity key (a receipt needs no record then). */
  sessions: Pick<Sessions, 'get'>
  crypto: Pick<Crypto, 'hash'>
  /** A device as known (its account's kept record; from the DHT unless `dht: false`). */
  device(peerId: PeerId, refresh?: boolean, account?: Uint8Array, options?: { dht?: boolean }): Promise<RemoteDevice | undefined>
  /** Queues a delivery receipt for `account`'s device (resolves once it is in the outbox). */
  sendReceipt(account: Uint8Array, devices: RemoteDevice[], body: DeliveredBody): Promise<unknown>
  now(): number
}

/**
 * Reads the mailboxes: on our own relays and on every relay of their
 * network (the relays their signed relay sets name, which reconcile their
 * mailboxes with ours), since an envelope may have reached any of them.
 */
export class Mailboxes {
  private timer?: ReturnType<typeof setInterval>
  private fetching?: Promise<void>
  private again = false
  /** Relays whose mailbox could not be read, waiting. */
  private readonly waits: Backoff
  /** Message ids (hex) whose delivery receipt was queued since start. */
  private readonly receipted = new Map<string, true>()

  private readonly transport: MailboxesComponents['transport']
  private readonly network: MailboxesComponents['network']
  private readonly inbox: MailboxesComponents['inbox']
  private readonly history: MailboxesComponents['history']
  private readonly contacts: MailboxesComponents['contacts']
  private readonly sessions: MailboxesComponents['sessions']
  private readonly crypto: MailboxesComponents['crypto']
  private readonly device: MailboxesComponents['device']
  private readonly sendReceipt: MailboxesComponents['sendReceipt']
  private readonly now: () => number

  constructor (components: MailboxesComponents, private readonly init: MailboxesInit) {
    this.transport = components.transport
    this.network = components.network
    this.inbox = components.inbox
    this.history = components.history
    this.contacts = components.contacts
    this.sessions = components.sessions
    this.crypto = components.crypto
    this.device = components.device
    this.sendReceipt = components.sendReceipt
    this.now = components.now
    this.waits = new Backoff({ baseMs: init.fetchIntervalMs, capMs: RELAY_READ_BACKOFF_CAP_MS, jitter: 0.2 })
  }

  start (): void {
    this.fetchSoon()
    this.timer = setInterval(() => { this.fetchSoon() }, this.init.fetchIntervalMs)
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Reads every mailbox now (or right after the pass in progress) and resolves when that pass is over. */
  async fetchNow (): Promise<void> {
    this.fetchSoon()
    while (this.fetching != null) await this.fetching
  }

  /** Reads every mailbox now, or right after the pass in progress. */
  fetchSoon (): void {
    if (this.fetching != null) {
      this.again = true
      return
    }
    this.fetching = this.fetchAll()
      .catch(err => log.error('mailbox fetch failed: %s', (err as Error).message))
      .finally(() => {
        this.fetching = undefined
        if (this.again) {
          this.again = false
          this.fetchSoon()
        }
      })
  }

  private async fetchAll (): Promise<void> {
    await this.network.refresh()
    const now = this.now()
    // Side by side: a relay that is down costs its dial timeout, not everyone's.
    await Promise.all(this.network.relays().map(async relay => {
      const key = relay.peerId.toString()
      if (!this.waits.ready(key, now)) return
      try {
        await this.fetchFrom(relay)
        this.waits.succeeded(key)
      } catch (err) {
        this.waits.failed(key, this.now())
        log('mailbox on %p not read: %s', relay.peerId, (err as Error).message)
      }
    }))
  }

  private async fetchFrom (relay: RelayRef): Promise<void> {
    // A page's delete goes out while the next page is read: at most one in flight.
    let deleting: Promise<void> = Promise.resolve()
    try {
      await this.fetchPages(relay, (done) => {
        const previous = deleting
        deleting = previous.then(async () => this.transport.deleteFromMailbox(relay.peerId, done, AbortSignal.timeout(FETCH_TIMEOUT_MS)))
        // Its failure reaches the pass when the next page's delete or the
        // end awaits it; until then (a page being read) it must not count as
        // unhandled, which ends the process.
        deleting.catch(() => {})
        return previous
      })
    } finally {
      await deleting
    }
  }

  private async fetchPages (relay: RelayRef, remove: (refs: MailboxRef[]) => Promise<void>): Promise<void> {
    let cursor: Uint8Array | undefined
    let opened = 0
    let refused = 0
    for (let page = 0; page < MAX_PAGES_PER_FETCH && opened < MAX_ENVELOPES_PER_PASS; page++) {
      const fetched = await this.transport.fetchMailbox(relay.peerId, cursor, AbortSignal.timeout(FETCH_TIMEOUT_MS), relay.addrs)
      const { cursor: next, more } = fetched
      // No more than a mailbox holds per pass: the rest waits for the next one.
      const items = fetched.items.slice(0, MAX_ENVELOPES_PER_PASS - opened)
      opened += items.length
      const receipts = new Map<string, Receipts>()
      const receipt = (device: string, account: Uint8Array, id: Uint8Array, identityKey?: Uint8Array): void => {
        // Another relay's copy of a message whose receipt already went out: none again.
        if (this.receipted.has(toHex(id))) return
        const r = receipts.get(device) ?? { account, ids: [] }
        r.ids.push(id)
        r.identityKey ??= identityKey
        receipts.set(device, r)
      }
      // The page is received concurrently: each session still takes its
      // messages one at a time, but the page's writes share a few synced
      // batches instead of one fsync per envelope.
      // Only what is settled leaves the relay: stored, already stored, or
      // refused for good. A local failure (a write that failed, say) keeps
      // the envelope there for the next pass instead of losing the message.
      const settled: Array<{ ref: MailboxRef, receiptTo?: string }> = []
      await Promise.all(items.map(async item => {
        // The bytes this device opens (or refuses), as they came from this relay.
        const ref = { id: item.id, hash: this.crypto.hash.sha256(item.envelope) }
        try {
          const stored = await this.inbox.receive(item.envelope, 'relay')
          if (stored != null && RECEIPTED.has(stored.message.body.kind)) {
            receipt(stored.device.toString(), stored.message.author.account, stored.message.id, stored.identityKey)
            settled.push({ ref, receiptTo: stored.device.toString() })
            return
          }
        } catch (err) {
          const name = (err as Error).name
          if (name === 'DuplicateEnvelopeError') {
            // Stored before: directly (the sender never saw the ack, so it
            // handed the envelope to a relay) or in a pass that was cut short.
            // Its receipt may never have left: send it again.
            const marker = await this.duplicateMarker(item.envelope)
            if (marker != null) {
              receipt(marker.device, fromHex(marker.account), fromHex(marker.message))
              settled.push({ ref, receiptTo: marker.device })
              return
            }
          } else if (name === 'RejectedEnvelopeError') {
            refused++
            log('mailbox envelope dropped: %s', (err as Error).message)
          } else {
            log.error('mailbox envelope kept on the relay for the next pass: %s', (err as Error).message)
            return
          }
        }
        settled.push({ ref })
      }))
      // Receipts are queued durably before the relay deletes the envelopes: a
      // crash in between leaves them on the relay, and the next pass sends
      // their receipts as duplicates. So does a receipt that could not be
      // queued (no current record of the sender's device, say).
      const unsent = await this.sendReceipts(receipts)
      const done = settled.filter(s => s.receiptTo == null || !unsent.has(s.receiptTo)).map(s => s.ref)
      // Waits for the previous page's delete (its failure ends this pass), not this one's.
      if (done.length > 0) await remove(done)
      if (refused > MAX_REFUSED_PER_PASS && refused * 2 > opened) throw new JunkRelayError(`relay ${relay.peerId.toString()} served ${refused} envelopes of ${opened} that do not open or do not check: left until its wait is over`)
      cursor = next
      if (!more || fetched.items.length === 0 || items.length < fetched.items.length) break
    }
  }

  private async duplicateMarker (envelope: Uint8Array): Promise<EnvelopeMarker | undefined> {
    try {
      return await this.history.envelopeMarker(parseEnvelopeHeader(envelope).id)
    } catch {
      return undefined
    }
  }

  /**
   * One delivery receipt per sender device for what a page fetched: the
   * end-to-end ack. Resolves with the devices of accepted contacts whose
   * receipt could not be queued.
   */
  private async sendReceipts (receipts: Map<string, Receipts>): Promise<Set<string>> {
    const unsent = new Set<string>()
    for (const [device, r] of receipts) {
      const remote = await this.receiptDevice(peerIdFromString(device), r)
      if (remote == null) {
        // Held back only for people we talk to: a stranger's device without
        // a record must not keep envelopes in our mailbox (and its quota).
        const accepted = (await this.contacts.get(r.account))?.state === 'accepted'
        log('no device record for %s: delivery receipt not sent%s', device, accepted ? ' yet' : '')
        if (accepted) unsent.add(device)
        continue
      }
      for (let i = 0; i < r.ids.length; i += 1000) {
        await this.sendReceipt(r.account, [remote], { kind: 'delivered', ids: r.ids.slice(i, i + 1000) })
      }
      for (const id of r.ids) setNewest(this.receipted, toHex(id), true, MAX_RECEIPTED)
    }
    return unsent
  }

  /**
   * Where a receipt goes: the device as known (cached, or the contact's kept
   * record); else, when we have a session with its identity key (it just
   * wrote to us), the device by that key alone, since encrypting needs no
   * record and delivery finds its addresses itself; else its record from
   * the DHT. The DHT is not waited for while a mailbox page is read.
   */
  private async receiptDevice (peerId: PeerId, r: Receipts): Promise<RemoteDevice | undefined> {
    const known = await this.device(peerId, false, r.account, { dht: false })
    if (known != null) return known
    if (r.identityKey != null && (await this.sessions.get(r.identityKey)).current != null) {
      return { peerId, accountKey: r.account, identityKey: r.identityKey, addrs: [], relays: [] }
    }
    return this.device(peerId)
  }
}
