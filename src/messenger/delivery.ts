/**
 * Delivery of outbox entries: the loop that decides which entries are tried
 * when, over all recipients. An entry goes straight to the recipient device
 * first; if that fails, to relays (relay-handoff.ts). It leaves the outbox on
 * the device's direct acknowledgement or its delivery receipt (see inbox.ts),
 * or when it expires (delivery-outcomes.ts); receipts leave once a relay
 * holds them. Direct waits back off per device here, relay waits per relay
 * in relay-handoff.ts; what is sent is sealed in delivery-sealing.ts, and
 * typing indicators, which are never queued, go through ephemeral-sends.ts.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { Backoff } from './backoff.js'
import type { Message } from './model/index.js'
import type { OutboxEntry } from './outbox.js'
import { fromHex } from './bytes.js'
import { peerIdFromText } from './devices.js'
import type { RemoteDevice } from './devices.js'
import type { MessengerIdentity } from './init.js'
import type { Crypto } from '../crypto/index.js'
import type { DeliveryTransport } from './transport.js'
import type { Outbox } from './outbox.js'
import type { Sessions } from './sessions.js'
import type { History } from './history.js'
import type { Commit } from './commit.js'
import type { MessengerEvent } from './events.js'
import type { RelayRef } from './network-relays.js'
import { DeliveryQueue } from './delivery-queue.js'
import { DeliverySealer } from './delivery-sealing.js'
import { DeliveryOutcomes } from './delivery-outcomes.js'
import { RELAYS_PER_ENVELOPE, RelayHandoff } from './relay-handoff.js'
import { EphemeralSends } from './ephemeral-sends.js'

const log = logger('starling:messenger:delivery')

/** Envelopes in flight at once, over all recipients. */
export const MAX_IN_FLIGHT = 1024
/** Direct attempts to a device that failed wait from the retry interval, doubling, up to this. */
export const DIRECT_BACKOFF_CAP_MS = 60_000
/**
 * How long a direct send has to itself before relays are handed the entry
 * too, unless it got through (the recipient drops the copy it then reads
 * from its mailbox as a duplicate).
 */
export const RELAY_HEAD_START_MS = 1_000
/** Spread of every wait (±20%), so that senders do not retry in step. */
export const BACKOFF_JITTER = 0.2

/** What {@link Delivery} works with. */
export interface DeliveryComponents {
  crypto: Crypto
  /** This device: the sender block of sealed envelopes, and the payload of typing indicators. */
  identity: Pick<MessengerIdentity, 'handleName' | 'accountPublicKey' | 'identityKey' | 'deviceRecord'>
  transport: Pick<DeliveryTransport, 'sendDirect' | 'storeOnRelay'>
  outbox: Pick<Outbox, 'load' | 'putOp' | 'removeOp' | 'statusOp'>
  /** Sessions confirmed by a direct ack, and those typing indicators are encrypted under. */
  sessions: Pick<Sessions, 'with'>
  /** Receipts are checked against our own messages; typing indicators move the Lamport counter. */
  history: Pick<History, 'find' | 'observeOp'>
  commit: Commit
  emit(event: MessengerEvent): void
  now(): number
  /**
   * A device as known (its record from the DHT again when `refresh`); with
   * `account`, the contact's kept record when neither memory nor the DHT has it.
   */
  device(peerId: PeerId, refresh?: boolean, account?: Uint8Array): Promise<RemoteDevice | undefined>
  /** Every relay of our network, ours first. */
  relays(): RelayRef[]
}

export interface DeliveryInit {
  retentionMs: number
  retryIntervalMs: number
  directTimeoutMs: number
  /** For jitter (tests pass a seeded one). */
  random?(): number
}

/**
 * Moves outbox entries towards their recipients, until each is acknowledged
 * end to end or expires (DESIGN.md, Paths a message takes): "held by a
 * relay" is never the end. Each entry is tried directly whenever its device
 * may be reachable and handed to relays while none holds it, and later again
 * on a slow schedule. Waits back off per device and per relay (so a
 * thousand messages to an unreachable device cost one probe per wait, not a
 * thousand dials), and a sign that a device is back (it connected, it wrote
 * to us) ends its wait at once.
 */
export class Delivery {
  private readonly queue = new DeliveryQueue()
  /** Devices whose direct attempts failed, and when to try them again. */
  private readonly direct: Backoff
  /** Devices with an attempt in flight while they are failing: one probe at a time each. */
  private readonly probing = new Set<string>()
  private timer?: ReturnType<typeof setInterval>
  private pumping = false
  private running = false

  private readonly sealer: DeliverySealer
  private readonly relaying: RelayHandoff
  private readonly outcomes: DeliveryOutcomes
  private readonly ephemeral: EphemeralSends
  private readonly transport: DeliveryComponents['transport']
  private readonly outbox: DeliveryComponents['outbox']
  private readonly commit: Commit
  private readonly now: () => number
  private readonly device: DeliveryComponents['device']

  constructor (components: DeliveryComponents, private readonly init: DeliveryInit) {
    const { crypto, identity, transport, outbox, sessions, history, commit, emit, now } = components
    this.transport = transport
    this.outbox = outbox
    this.commit = commit
    this.now = now
    this.device = components.device
    const random = init.random ?? Math.random
    this.direct = new Backoff({ baseMs: init.retryIntervalMs, capMs: DIRECT_BACKOFF_CAP_MS, jitter: BACKOFF_JITTER }, random)
    this.sealer = new DeliverySealer(crypto, identity, now)
    this.relaying = new RelayHandoff({
      crypto, transport, outbox, commit, emit, now,
      device: components.device,
      relays: components.relays,
      queue: this.queue,
      seal: async entry => await this.sealer.entry(entry, 'relay')
    }, { retryIntervalMs: init.retryIntervalMs, timeoutMs: init.directTimeoutMs, jitter: BACKOFF_JITTER, random })
    this.outcomes = new DeliveryOutcomes({ identity, outbox, sessions, history, commit, emit, now, queue: this.queue })
    this.ephemeral = new EphemeralSends({ crypto, identity, transport, sessions, history, commit, sealer: this.sealer }, init.directTimeoutMs)
  }

  async start (): Promise<void> {
    this.running = true
    for (const entry of await this.outbox.load()) this.track(entry)
    this.timer = setInterval(() => { this.retry() }, this.init.retryIntervalMs)
    this.pump()
  }

  stop (): void {
    this.running = false
    clearInterval(this.timer)
  }

  /** Entries waiting (for status and tests). */
  get size (): number {
    return this.queue.pending.size
  }

  /** Entries waiting that no relay holds yet (chunks of a file included): what is lost to an offline recipient if this device goes away now. */
  get unrelayed (): number {
    let n = 0
    for (const entry of this.queue.pending.values()) if (entry.relays.length === 0) n++
    return n
  }

  /** A new entry, already stored. */
  add (entry: OutboxEntry): void {
    this.track(entry)
    this.pump()
  }

  /**
   * A sign that a device is reachable now (it connected to us, or wrote to
   * us directly): its wait ends and its entries are tried at once.
   */
  reachable (device: string): void {
    if (!this.direct.failing(device)) return
    this.direct.clear(device)
    this.wake(device)
    this.pump()
  }

  private track (entry: OutboxEntry): void {
    this.queue.track(entry)
    this.relaying.loaded(entry)
  }

  /** Takes copies that a newer copy supersedes out of the outbox (not synced: a lost write only brings them back); copies in flight stay. */
  async drop (entries: OutboxEntry[]): Promise<void> {
    const gone = entries.filter(e => this.queue.has(e) && !this.queue.inFlight.has(e.seq))
    if (gone.length === 0) return
    for (const entry of gone) this.queue.untrack(entry)
    await this.commit(gone.map(e => this.outbox.removeOp(e)), [], { sync: false })
  }

  /** Entries waiting for the device with this identity key (hex). */
  pendingFor (identityKey: string): OutboxEntry[] {
    return [...this.queue.pending.values()].filter(e => e.identityKey === identityKey)
  }

  /**
   * A delivery or read receipt from `device` (of the account `conversation`) for our messages: their entries
   * for that device leave the outbox; their state moves forward.
   */
  async acknowledged (messageIds: string[], device: string, state: 'delivered' | 'read', conversation: Uint8Array): Promise<void> {
    await this.outcomes.acknowledged(messageIds, device, state, conversation)
  }

  /** Typing indicators: encrypted and sent directly once; never stored or retried. */
  async sendEphemeral (conversation: Uint8Array, devices: RemoteDevice[], message: Message): Promise<void> {
    await this.ephemeral.send(conversation, devices, message)
  }

  /** The entries of a device may go at once (its wait ended). */
  private wake (device: string): void {
    this.queue.wake(entry => entry.device === device)
  }

  /** Periodic: waits that ended, entries that expired. */
  private retry (): void {
    const now = this.now()
    for (const entry of this.queue.pending.values()) {
      if (now - entry.createdAt > this.init.retentionMs && !this.queue.inFlight.has(entry.seq)) {
        this.outcomes.expired(entry).catch(err => log.error('expiring failed: %s', (err as Error).message))
      }
    }
    this.pump()
  }

  /** Starts attempts for every entry whose wait is over. */
  private pump (): void {
    if (!this.running || this.pumping) return
    this.pumping = true
    const { pending, inFlight, notBefore } = this.queue
    try {
      const now = this.now()
      for (const entry of pending.values()) {
        if (inFlight.size >= MAX_IN_FLIGHT) break
        if (inFlight.has(entry.seq) || (notBefore.get(entry.seq) ?? 0) > now) continue
        inFlight.add(entry.seq)
        this.attempt(entry)
          .catch(err => log('attempt failed: %s', (err as Error).message))
          .finally(() => {
            inFlight.delete(entry.seq)
            // Entries that waited for a free slot or for this one's probe may go now.
            if (pending.size > inFlight.size) queueMicrotask(() => { this.pump() })
          })
      }
    } finally {
      this.pumping = false
    }
  }

  /**
   * One round for an entry: directly if the device's wait is over (one probe
   * at a time while it is failing), then to relays if none holds it yet or it
   * is time to hand it again. Ends by setting when the entry may go next.
   */
  private async attempt (entry: OutboxEntry): Promise<void> {
    const peerId = peerIdFromText(entry.device)
    const now = this.now()
    const probe = this.direct.probeOnly(entry.device)
    if (probe && this.probing.has(entry.device) && !this.direct.failing(entry.device)) {
      // A first try of this device is under way: its outcome decides (it wakes this entry when it gets through).
      this.queue.notBefore.set(entry.seq, now + this.init.retryIntervalMs)
      return
    }
    // Relays join a direct send that has not got through after a head start
    // (happy eyeballs): a first dial can take seconds (a tab reached through
    // a circuit, then WebRTC) and the message should not wait for it to fail.
    let relayRound: Promise<number> | undefined
    const raceRelays = (): void => {
      relayRound = this.relaying.round(entry, peerId)
      relayRound.catch(err => log('relay round failed: %s', (err as Error).message))
    }
    if (this.direct.ready(entry.device, now) && !(probe && this.probing.has(entry.device))) {
      if (probe) this.probing.add(entry.device)
      const headStart = entry.relays.length < RELAYS_PER_ENVELOPE ? setTimeout(raceRelays, Math.min(RELAY_HEAD_START_MS, this.init.directTimeoutMs)) : undefined
      try {
        // With the account: a contact's device let go from memory (or never looked up since a start) is
        // still reached through its kept record when the DHT cannot answer.
        const device = await this.device(peerId, this.direct.failing(entry.device), fromHex(entry.conversation))
        await this.transport.sendDirect(peerId, device?.addrs ?? [], await this.sealer.entry(entry, 'direct'), AbortSignal.timeout(this.init.directTimeoutMs))
        // Through: relays are not to join while the delivery is being written.
        clearTimeout(headStart)
        this.direct.succeeded(entry.device)
        // The probe got through: the device's other entries need not wait.
        if (probe) this.wake(entry.device)
        await this.outcomes.delivered(entry)
        return
      } catch (err) {
        log('direct send to %s failed: %s', entry.device, (err as Error).message)
        this.direct.failed(entry.device, this.now())
        // To the back of the queue: the next probe tries another entry, so
        // one that the device refuses (say, sealed under a session it lost)
        // does not stand in front of all the others.
        this.queue.toBack(entry)
        // The device's entries that waited for this probe go to relays now.
        if (probe) this.wake(entry.device)
      } finally {
        clearTimeout(headStart)
        if (probe) this.probing.delete(entry.device)
      }
    }
    // The relays' round that joined the direct send is this round's, not one more.
    const relayAt = await (relayRound ?? this.relaying.round(entry, peerId))
    if (!this.queue.has(entry)) return
    // Next round: when the device may be tried again, or relays, whichever is
    // sooner; never sooner than one retry interval from now (a wait that is
    // over while another entry's probe is under way ends with that probe,
    // which wakes the device's entries, or else at the next interval).
    const soon = this.now() + this.init.retryIntervalMs
    const deviceAt = this.direct.failing(entry.device) ? this.direct.nextAt(entry.device) : soon
    this.queue.notBefore.set(entry.seq, Math.max(soon, Math.min(deviceAt, relayAt)))
  }
}
