/**
 * Handing an outbox entry to relays while its device is not reachable
 * (DESIGN.md, Paths a message takes): to RELAYS_PER_ENVELOPE relays (the
 * recipient's own, from the circuit addresses in its device record, then
 * ours), whose custody receipts make the message "held by N relays".
 * Holding is never the end: the entry is handed to relays again on a slow,
 * doubling schedule until the device acknowledges it or it expires.
 *
 * A custody receipt counts only if it names the bytes handed over (their
 * SHA-256): a relay holding something else under the envelope's id (junk
 * a malicious relay spread first) is not holding the message.
 *
 * A relay that failed waits (doubling) before it is asked again, and while
 * it is failing one envelope at a time probes it. A relay that refuses an
 * envelope for a quota (the recipient's mailbox is full, our share of it is
 * used up, the relay is full) has evicted nothing and will not take it soon:
 * the sender is told (a `relay-refused` event naming the relay and the
 * quota), the next relay is tried, and that relay is not asked again for
 * this recipient for a while; other recipients' envelopes may still go there.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import type { Crypto } from '../crypto/index.js'
import { Backoff } from './backoff.js'
import { equalBytes, fromHex } from './bytes.js'
import type { RemoteDevice } from './devices.js'
import type { OutboxEntry, Outbox } from './outbox.js'
import type { DeliveryTransport } from './transport.js'
import type { Commit } from './commit.js'
import type { MessengerEvent } from './events.js'
import type { RelayRef } from './network-relays.js'
import type { DeliveryQueue } from './delivery-queue.js'
import { statusEvent } from './delivery-outcomes.js'
import { setNewest } from '../bounded.js'
import { InvalidCustodyError } from './errors.js'

const log = logger('starling:messenger:delivery')

/** Relays each envelope is handed to when the recipient is offline. */
export const RELAYS_PER_ENVELOPE = 2
/** A relay that failed or refused waits from the retry interval, doubling, up to this. */
export const RELAY_BACKOFF_CAP_MS = 5 * 60_000
/** An envelope relays hold but the device has not acknowledged is handed to relays again after this, doubling... */
export const REHAND_BASE_MS = 2 * 60_000
/** ...up to this. */
export const REHAND_CAP_MS = 60 * 60_000
/** A relay that refused for a quota is not asked again for the same device for this many retry intervals. */
export const QUOTA_BACKOFF_RETRIES = 12
/** Refusals remembered at once (relay and device pairs). */
export const MAX_QUOTA_REFUSALS = 10_000

/** What {@link RelayHandoff} works with. */
export interface RelayHandoffComponents {
  crypto: Crypto
  transport: Pick<DeliveryTransport, 'storeOnRelay'>
  /** The relays that hold an entry are written with it; a receipt a relay holds leaves. */
  outbox: Pick<Outbox, 'putOp' | 'removeOp' | 'statusOp'>
  commit: Commit
  emit(event: MessengerEvent): void
  now(): number
  /** A device as known (with `account`, a contact's kept record when memory and the DHT have none): its record names its relays. */
  device(peerId: PeerId, refresh?: boolean, account?: Uint8Array): Promise<RemoteDevice | undefined>
  /** Every relay of our network, ours first. */
  relays(): RelayRef[]
  /** The entries being delivered (delivery-queue.ts). */
  queue: DeliveryQueue
  /** The entry's envelope for relays, under a fresh ephemeral key (delivery-sealing.ts). */
  seal(entry: OutboxEntry): Promise<Uint8Array>
}

export interface RelayHandoffInit {
  retryIntervalMs: number
  /** How long one relay may take to take an envelope. */
  timeoutMs: number
  /** Spread of every wait. */
  jitter: number
  random(): number
}

/** Hands entries to relays and remembers which relays to leave alone for now. */
export class RelayHandoff {
  /** Relays that failed or refused. */
  private readonly waits: Backoff
  /** Relays with an attempt in flight while they are failing: one probe at a time each. */
  private readonly probing = new Set<string>()
  /** `relay/device` -> time before which that relay is not asked again for that device (it refused for a quota). */
  private readonly refusedUntil = new Map<string, number>()
  private readonly queue: DeliveryQueue

  constructor (private readonly components: RelayHandoffComponents, private readonly init: RelayHandoffInit) {
    this.queue = components.queue
    this.waits = new Backoff({ baseMs: init.retryIntervalMs, capMs: RELAY_BACKOFF_CAP_MS, jitter: init.jitter }, init.random)
  }

  /** An entry loaded from the outbox: held by relays before a restart, it is handed to relays again later, as if just handed. */
  loaded (entry: OutboxEntry): void {
    if (entry.relays.length > 0 && !this.queue.rehand.has(entry.seq)) this.queue.rehand.set(entry.seq, this.rehandAfter(0))
  }

  /**
   * The relay part of an entry's round: handed to relays if fewer than
   * wanted hold it, or to all wanted again when its time to be handed again
   * came. Returns when the entry should next be handed to a relay (Infinity
   * when there is no relay to try and nothing to hand again).
   */
  async round (entry: OutboxEntry, peerId: PeerId): Promise<number> {
    const rehand = this.queue.rehand.get(entry.seq)
    let relaysAt = Infinity
    const again = rehand != null && rehand.at <= this.components.now()
    if (entry.relays.length < RELAYS_PER_ENVELOPE || again) relaysAt = await this.handOff(entry, peerId, again ? RELAYS_PER_ENVELOPE : RELAYS_PER_ENVELOPE - entry.relays.length, again)
    return Math.min(relaysAt, this.queue.rehand.get(entry.seq)?.at ?? Infinity)
  }

  /**
   * Hands the envelope to `wanted` relays that do not hold it yet (the
   * device's own first, then ours), skipping relays still waiting after a
   * failure. Relays that took it are added to the entry's; the entry stays
   * queued if none did. Returns when a relay that does not hold it may be
   * tried next (Infinity when there is none to try).
   */
  private async handOff (entry: OutboxEntry, peerId: PeerId, wanted: number, again: boolean): Promise<number> {
    const { crypto, transport, now } = this.components
    log('looking up %p to relay %s', peerId, entry.envelopeId)
    const { candidates, nextAt: firstAt } = await this.candidates(entry, peerId)
    let nextAt = firstAt
    const held: string[] = []
    let envelope: Uint8Array | undefined
    for (const [key, relay] of candidates) {
      // An entry delivered meanwhile (its direct send, which this round joined, got through) is handed to no more relays.
      if (held.length >= wanted || !this.queue.has(entry)) break
      const probe = this.waits.probeOnly(key)
      if (probe) {
        if (this.probing.has(key)) continue
        this.probing.add(key)
      }
      try {
        envelope ??= await this.components.seal(entry)
        log('handing %s for %p to relay %p at %s', entry.envelopeId, peerId, relay.peerId, relay.addrs.map(String).join(' '))
        const custody = await transport.storeOnRelay(relay.peerId, relay.addrs, peerId, envelope, AbortSignal.timeout(this.init.timeoutMs))
        if (!equalBytes(custody.hash, crypto.hash.sha256(envelope))) throw new InvalidCustodyError(`relay ${key} signed custody of other bytes than it was handed`)
        log('relay %p holds %s', relay.peerId, entry.envelopeId)
        this.waits.succeeded(key)
        // The probe got through: envelopes waiting for a relay need not wait.
        if (probe) this.queue.wake(e => e.relays.length < RELAYS_PER_ENVELOPE)
        held.push(custody.relay)
      } catch (err) {
        log('relay %p refused or failed: %s', relay.peerId, (err as Error).message)
        // A quota refusal is about this mailbox, not the relay: other devices' envelopes may still go there.
        if ((err as Error).name === 'QuotaExceededError') this.refusedForQuota(entry, relay.peerId, `${key}/${entry.device}`, err as Error & { quota?: string })
        else this.waits.failed(key, now())
      } finally {
        if (probe) this.probing.delete(key)
      }
      nextAt = Math.min(nextAt, this.waits.nextAt(key))
    }
    // An entry acknowledged (or dropped) while it was being handed keeps no schedule.
    if (again && this.queue.has(entry)) {
      // A hand-over again: the next one waits longer, whatever this one did.
      this.queue.rehand.set(entry.seq, this.rehandAfter((this.queue.rehand.get(entry.seq)?.count ?? 0) + 1))
    }
    if (held.length > 0 && this.queue.has(entry)) await this.held(entry, held)
    return nextAt
  }

  /**
   * The relays to try, the device's own first, then ours and the rest of our
   * network (relays of one network reconcile): those that do not hold the
   * envelope yet, did not refuse the device's mailbox lately, and whose wait
   * is over (and, while failing, have no probe under way). Also returns when
   * the first of those left out may be tried.
   */
  private async candidates (entry: OutboxEntry, peerId: PeerId): Promise<{ candidates: Map<string, RelayRef>, nextAt: number }> {
    const device = await this.components.device(peerId, false, fromHex(entry.conversation))
    const now = this.components.now()
    const candidates = new Map<string, RelayRef>()
    let nextAt = Infinity
    for (const r of [...(device?.relays ?? []), ...this.components.relays()]) {
      const key = r.peerId.toString()
      if (candidates.has(key) || entry.relays.includes(key)) continue
      // A relay that refused this device's mailbox for a quota is left alone for a while.
      const refused = this.refusedUntil.get(`${key}/${entry.device}`) ?? 0
      if (refused > now) {
        nextAt = Math.min(nextAt, refused)
        continue
      }
      nextAt = Math.min(nextAt, this.waits.nextAt(key))
      if (!this.waits.ready(key, now)) continue
      // A relay not known to work is probed by one envelope at a time, not by every waiting one.
      if (this.waits.probeOnly(key) && this.probing.has(key)) continue
      candidates.set(key, r)
    }
    return { candidates, nextAt }
  }

  /**
   * Relays hold the entry now: a receipt leaves the outbox (the recipient
   * needs nothing more of it), a message records its relays and its state
   * moves to "relayed". Not synced: if lost, the envelope is handed to
   * relays again (they and the recipient drop duplicates).
   */
  private async held (entry: OutboxEntry, held: string[]): Promise<void> {
    const { outbox, commit, now } = this.components
    if (entry.kind === 'receipt') {
      this.queue.untrack(entry)
      await commit([outbox.removeOp(entry)], [], { sync: false })
      return
    }
    if (entry.relays.length === 0) this.queue.rehand.set(entry.seq, this.rehandAfter(0))
    entry.relays = [...new Set([...entry.relays, ...held])]
    const ops = [outbox.putOp(entry)]
    const status = await outbox.statusOp(fromHex(entry.messageId), 'relayed', entry.relays.length, now())
    // Delivered while its state was read: written back now, the entry would be sent again at every start.
    if (!this.queue.has(entry)) return
    if (status != null) ops.push(status.op)
    await commit(ops, [], { sync: false })
    if (status != null) this.components.emit(statusEvent(entry, status.status.state, status.status.relays))
  }

  /** When an entry handed to relays `count` times before is handed again: base * 2^count, at most the cap, ±jitter. */
  private rehandAfter (count: number): { at: number, count: number } {
    const wait = Math.round(Math.min(REHAND_CAP_MS, REHAND_BASE_MS * 2 ** Math.min(count, 30)) * (1 + this.init.jitter * (2 * this.init.random() - 1)))
    return { at: this.components.now() + wait, count }
  }

  /** A relay refused for a quota: the sender is told, and the relay rests for this device. */
  private refusedForQuota (entry: OutboxEntry, relay: PeerId, key: string, err: Error & { quota?: string }): void {
    setNewest(this.refusedUntil, key, this.components.now() + QUOTA_BACKOFF_RETRIES * this.init.retryIntervalMs, MAX_QUOTA_REFUSALS)
    if (entry.kind !== 'content') return
    this.components.emit({
      type: 'relay-refused',
      id: entry.messageId,
      conversation: entry.conversation,
      relay: relay.toString(),
      quota: err.quota ?? 'unknown',
      reason: err.message
    })
  }
}
