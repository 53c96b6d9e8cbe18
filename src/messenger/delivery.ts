/**
 * Delivery of outbox entries: straight to the recipient device first; if
 * that fails, to two relays (the recipient's own, from the circuit addresses
 * in its device record, then ours), whose custody receipts make the message
 * "held by N relays". An entry leaves the outbox on the device's direct
 * acknowledgement or on its delivery receipt (see inbox.ts); receipts leave
 * once a relay holds them. Entries older than the retention time expire.
 *
 * A custody receipt counts only if it names the bytes handed over (their
 * SHA-256): a relay holding something else under the envelope's id (junk
 * a malicious relay spread first) is not holding the message.
 *
 * A relay that refuses an envelope for a quota (the recipient's mailbox is
 * full, our share of it is used up, the relay is full) has evicted nothing
 * and will not take it soon: the sender is told (a `relay-refused` event
 * naming the relay and the quota), the next relay is tried, and that relay
 * is not asked again for this recipient for a while.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { confirmSession, encrypt } from '../crypto/session.js'
import { DirectEphemerals, sealEnvelope } from '../crypto/envelope.js'
import { Backoff } from './backoff.js'
import { encodeMessage } from './model/index.js'
import type { Message } from './model/index.js'
import { encodePayload, withDeviceRecord } from './payload.js'
import type { OutboxEntry, SendState } from './outbox.js'
import { equalBytes, fromHex, toHex } from './bytes.js'
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
import { setNewest } from '../bounded.js'
import { InvalidCustodyError } from './errors.js'

const log = logger('starling:messenger:delivery')

/** Relays each envelope is handed to when the recipient is offline. */
export const RELAYS_PER_ENVELOPE = 2
/** Envelopes in flight at once, over all recipients. */
export const MAX_IN_FLIGHT = 1024
/** Direct attempts to a device that failed wait from the retry interval, doubling, up to this. */
export const DIRECT_BACKOFF_CAP_MS = 60_000
/** A relay that failed or refused waits from the retry interval, doubling, up to this. */
export const RELAY_BACKOFF_CAP_MS = 5 * 60_000
/** An envelope relays hold but the device has not acknowledged is handed to relays again after this, doubling... */
export const REHAND_BASE_MS = 2 * 60_000
/** ...up to this. */
export const REHAND_CAP_MS = 60 * 60_000
/** Spread of every wait (±20%), so that senders do not retry in step. */
export const BACKOFF_JITTER = 0.2
/** A relay that refused for a quota is not asked again for the same device for this many retry intervals. */
export const QUOTA_BACKOFF_RETRIES = 12
/** Refusals remembered at once (relay and device pairs). */
export const MAX_QUOTA_REFUSALS = 10_000

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
  /** A device as known (its record from the DHT again when `refresh`). */
  device(peerId: PeerId, refresh?: boolean): Promise<RemoteDevice | undefined>
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
  private readonly pending = new Map<number, OutboxEntry>()
  private readonly byMessage = new Map<string, Set<number>>()
  private readonly inFlight = new Set<number>()
  /** Per entry: no attempt before this time (absent: now). */
  private readonly notBefore = new Map<number, number>()
  /** Per entry held by relays: when, and how many times so far, it is handed to relays again. */
  private readonly rehand = new Map<number, { at: number, count: number }>()
  /** Devices whose direct attempts failed, and when to try them again. */
  private readonly direct: Backoff
  /** Relays that failed or refused. */
  private readonly relayWaits: Backoff
  /** Devices and relays with an attempt in flight while they are failing: one probe at a time each. */
  private readonly probing = new Set<string>()
  /** `relay/device` -> time before which that relay is not asked again for that device (it refused for a quota). */
  private readonly refusedUntil = new Map<string, number>()
  private timer?: ReturnType<typeof setInterval>
  private pumping = false
  private running = false
  /** Ephemeral keys for envelopes written straight to a device (see DirectEphemerals). */
  private readonly ephemerals: DirectEphemerals
  private readonly random: () => number
  /** Attempts made, by path (for status and tests). */
  readonly attempts = { direct: 0, relay: 0 }

  private readonly crypto: Crypto
  private readonly identity: DeliveryComponents['identity']
  private readonly transport: DeliveryComponents['transport']
  private readonly outbox: DeliveryComponents['outbox']
  private readonly sessions: DeliveryComponents['sessions']
  private readonly history: DeliveryComponents['history']
  private readonly commit: Commit
  private readonly emit: (event: MessengerEvent) => void
  private readonly now: () => number
  private readonly device: DeliveryComponents['device']
  private readonly relays: () => RelayRef[]

  constructor (components: DeliveryComponents, private readonly init: DeliveryInit) {
    this.crypto = components.crypto
    this.identity = components.identity
    this.transport = components.transport
    this.outbox = components.outbox
    this.sessions = components.sessions
    this.history = components.history
    this.commit = components.commit
    this.emit = components.emit
    this.now = components.now
    this.device = components.device
    this.relays = components.relays
    this.ephemerals = new DirectEphemerals(this.crypto, this.now)
    this.random = init.random ?? Math.random
    this.direct = new Backoff({ baseMs: init.retryIntervalMs, capMs: DIRECT_BACKOFF_CAP_MS, jitter: BACKOFF_JITTER }, this.random)
    this.relayWaits = new Backoff({ baseMs: init.retryIntervalMs, capMs: RELAY_BACKOFF_CAP_MS, jitter: BACKOFF_JITTER }, this.random)
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
    return this.pending.size
  }

  /** Entries waiting that no relay holds yet (chunks of a file included): what is lost to an offline recipient if this device goes away now. */
  get unrelayed (): number {
    let n = 0
    for (const entry of this.pending.values()) if (entry.relays.length === 0) n++
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
    this.pending.set(entry.seq, entry)
    // Held by relays before a restart: handed to relays again later, as if just handed.
    if (entry.relays.length > 0 && !this.rehand.has(entry.seq)) this.rehand.set(entry.seq, { at: this.now() + this.wait(REHAND_BASE_MS, REHAND_CAP_MS, 0), count: 0 })
    const set = this.byMessage.get(entry.messageId) ?? new Set()
    set.add(entry.seq)
    this.byMessage.set(entry.messageId, set)
  }

  private untrack (entry: OutboxEntry): void {
    this.pending.delete(entry.seq)
    this.notBefore.delete(entry.seq)
    this.rehand.delete(entry.seq)
    const set = this.byMessage.get(entry.messageId)
    set?.delete(entry.seq)
    if (set?.size === 0) this.byMessage.delete(entry.messageId)
  }

  /** Takes copies that a newer copy supersedes out of the outbox (not synced: a lost write only brings them back); copies in flight stay. */
  async drop (entries: OutboxEntry[]): Promise<void> {
    const gone = entries.filter(e => this.pending.has(e.seq) && !this.inFlight.has(e.seq))
    if (gone.length === 0) return
    for (const entry of gone) this.untrack(entry)
    await this.commit(gone.map(e => this.outbox.removeOp(e)), [], { sync: false })
  }

  /** Entries waiting for the device with this identity key (hex). */
  pendingFor (identityKey: string): OutboxEntry[] {
    return [...this.pending.values()].filter(e => e.identityKey === identityKey)
  }

  /** The entries of a device may go at once (its wait ended). */
  private wake (device: string): void {
    for (const entry of this.pending.values()) if (entry.device === device) this.notBefore.delete(entry.seq)
  }

  /** Entries fewer relays hold than wanted may go at once (a relay works again). */
  private wakeUnheld (): void {
    for (const entry of this.pending.values()) if (entry.relays.length < RELAYS_PER_ENVELOPE) this.notBefore.delete(entry.seq)
  }

  /** Periodic: waits that ended, entries that expired. */
  private retry (): void {
    const now = this.now()
    for (const entry of this.pending.values()) {
      if (now - entry.createdAt > this.init.retentionMs && !this.inFlight.has(entry.seq)) {
        this.expire(entry).catch(err => log.error('expiring failed: %s', (err as Error).message))
      }
    }
    this.pump()
  }

  /** Starts attempts for every entry whose wait is over. */
  private pump (): void {
    if (!this.running || this.pumping) return
    this.pumping = true
    try {
      const now = this.now()
      for (const entry of this.pending.values()) {
        if (this.inFlight.size >= MAX_IN_FLIGHT) break
        if (this.inFlight.has(entry.seq) || (this.notBefore.get(entry.seq) ?? 0) > now) continue
        this.inFlight.add(entry.seq)
        this.attempt(entry)
          .catch(err => log('attempt failed: %s', (err as Error).message))
          .finally(() => {
            this.inFlight.delete(entry.seq)
            // Entries that waited for a free slot or for this one's probe may go now.
            if (this.pending.size > this.inFlight.size) queueMicrotask(() => { this.pump() })
          })
      }
    } finally {
      this.pumping = false
    }
  }

  /**
   * The entry's envelope for one path: sealed with the device's direct
   * ephemeral key, or for relays with a fresh one, always under the entry's
   * envelope id (entries stored before sealing moved here hold theirs).
   */
  private async seal (entry: OutboxEntry, path: 'direct' | 'relay'): Promise<Uint8Array> {
    if (entry.inner == null || entry.identityKey == null) {
      if (entry.envelope == null) throw new TypeError(`outbox entry ${entry.seq} holds nothing to send`)
      return entry.envelope
    }
    const id = this.identity
    const recipient = fromHex(entry.identityKey)
    const ephemeral = path === 'direct' ? await this.ephemerals.get(recipient) : undefined
    const sealed = await sealEnvelope(this.crypto, recipient, { accountKey: id.accountPublicKey, identityKey: id.identityKey }, entry.inner, { id: fromHex(entry.envelopeId), ephemeral })
    return sealed.envelope
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
      this.notBefore.set(entry.seq, now + this.init.retryIntervalMs)
      return
    }
    if (this.direct.ready(entry.device, now) && !(probe && this.probing.has(entry.device))) {
      if (probe) this.probing.add(entry.device)
      try {
        const device = await this.device(peerId, this.direct.failing(entry.device))
        this.attempts.direct++
        await this.transport.sendDirect(peerId, device?.addrs ?? [], await this.seal(entry, 'direct'), AbortSignal.timeout(this.init.directTimeoutMs))
        this.direct.succeeded(entry.device)
        // The probe got through: the device's other entries need not wait.
        if (probe) this.wake(entry.device)
        await this.delivered(entry)
        return
      } catch (err) {
        log('direct send to %s failed: %s', entry.device, (err as Error).message)
        this.direct.failed(entry.device, this.now())
        // To the back of the queue: the next probe tries another entry, so
        // one that the device refuses (say, sealed under a session it lost)
        // does not stand in front of all the others.
        this.pending.delete(entry.seq)
        this.pending.set(entry.seq, entry)
        // The device's entries that waited for this probe go to relays now.
        if (probe) this.wake(entry.device)
      } finally {
        if (probe) this.probing.delete(entry.device)
      }
    }
    const rehand = this.rehand.get(entry.seq)
    let relaysAt = Infinity
    const again = rehand != null && rehand.at <= this.now()
    if (entry.relays.length < RELAYS_PER_ENVELOPE || again) relaysAt = await this.relay(entry, peerId, again ? RELAYS_PER_ENVELOPE : RELAYS_PER_ENVELOPE - entry.relays.length, again)
    if (!this.pending.has(entry.seq)) return
    // Next round: when the device may be tried again, or relays, whichever is
    // sooner; never sooner than one retry interval from now (a wait that is
    // over while another entry's probe is under way ends with that probe,
    // which wakes the device's entries, or else at the next interval).
    const soon = this.now() + this.init.retryIntervalMs
    const deviceAt = this.direct.failing(entry.device) ? this.direct.nextAt(entry.device) : soon
    const relayAt = Math.min(relaysAt, this.rehand.get(entry.seq)?.at ?? Infinity)
    this.notBefore.set(entry.seq, Math.max(soon, Math.min(deviceAt, relayAt)))
  }

  /**
   * Hands the envelope to `wanted` relays that do not hold it yet (the
   * device's own first, then ours), skipping relays still waiting after a
   * failure. Relays that took it are added to the entry's; the entry stays
   * queued if none did. Returns when a relay that does not hold it may be
   * tried next (Infinity when there is none to try).
   */
  private async relay (entry: OutboxEntry, peerId: PeerId, wanted: number, again: boolean): Promise<number> {
    log('looking up %p to relay %s', peerId, entry.envelopeId)
    const device = await this.device(peerId)
    const now = this.now()
    const candidates = new Map<string, { peerId: PeerId, addrs: RemoteDevice['addrs'] }>()
    let nextAt = Infinity
    // The device's own relays first, then ours and the rest of our network (relays of one network reconcile).
    for (const r of [...(device?.relays ?? []), ...this.relays()]) {
      const key = r.peerId.toString()
      if (candidates.has(key) || entry.relays.includes(key)) continue
      // A relay that refused this device's mailbox for a quota is left alone for a while.
      const refused = this.refusedUntil.get(`${key}/${entry.device}`) ?? 0
      if (refused > now) {
        nextAt = Math.min(nextAt, refused)
        continue
      }
      nextAt = Math.min(nextAt, this.relayWaits.nextAt(key))
      if (!this.relayWaits.ready(key, now)) continue
      // A relay not known to work is probed by one envelope at a time, not by every waiting one.
      if (this.relayWaits.probeOnly(key) && this.probing.has(key)) continue
      candidates.set(key, r)
    }
    const held: string[] = []
    let envelope: Uint8Array | undefined
    for (const [key, relay] of candidates) {
      if (held.length >= wanted) break
      const probe = this.relayWaits.probeOnly(key)
      if (probe) {
        if (this.probing.has(key)) continue
        this.probing.add(key)
      }
      try {
        envelope ??= await this.seal(entry, 'relay')
        log('handing %s for %p to relay %p at %s', entry.envelopeId, peerId, relay.peerId, relay.addrs.map(String).join(' '))
        this.attempts.relay++
        const custody = await this.transport.storeOnRelay(relay.peerId, relay.addrs, peerId, envelope, AbortSignal.timeout(this.init.directTimeoutMs))
        if (!equalBytes(custody.hash, this.crypto.hash.sha256(envelope))) throw new InvalidCustodyError(`relay ${key} signed custody of other bytes than it was handed`)
        log('relay %p holds %s', relay.peerId, entry.envelopeId)
        this.relayWaits.succeeded(key)
        // The probe got through: envelopes waiting for a relay need not wait.
        if (probe) this.wakeUnheld()
        held.push(custody.relay)
      } catch (err) {
        log('relay %p refused or failed: %s', relay.peerId, (err as Error).message)
        // A quota refusal is about this mailbox, not the relay: other devices' envelopes may still go there.
        if ((err as Error).name === 'QuotaExceededError') this.refusedForQuota(entry, relay.peerId, `${key}/${entry.device}`, err as Error & { quota?: string })
        else this.relayWaits.failed(key, this.now())
      } finally {
        if (probe) this.probing.delete(key)
      }
      nextAt = Math.min(nextAt, this.relayWaits.nextAt(key))
    }
    if (again) {
      // A hand-over again: the next one waits longer, whatever this one did.
      const count = (this.rehand.get(entry.seq)?.count ?? 0) + 1
      this.rehand.set(entry.seq, { at: this.now() + this.wait(REHAND_BASE_MS, REHAND_CAP_MS, count), count })
    }
    if (held.length === 0 || !this.pending.has(entry.seq)) return nextAt
    // Not synced: if lost, the envelope is handed to relays again (they and the recipient drop duplicates).
    if (entry.kind === 'receipt') {
      this.untrack(entry)
      await this.commit([this.outbox.removeOp(entry)], [], { sync: false })
      return nextAt
    }
    if (entry.relays.length === 0) this.rehand.set(entry.seq, { at: this.now() + this.wait(REHAND_BASE_MS, REHAND_CAP_MS, 0), count: 0 })
    entry.relays = [...new Set([...entry.relays, ...held])]
    const ops = [this.outbox.putOp(entry)]
    const status = await this.outbox.statusOp(fromHex(entry.messageId), 'relayed', entry.relays.length, this.now())
    if (status != null) ops.push(status.op)
    await this.commit(ops, [], { sync: false })
    if (status != null) this.emitStatus(entry, status.status.state, status.status.relays)
    return nextAt
  }

  /** base * 2^count, at most cap, ±jitter. */
  private wait (base: number, cap: number, count: number): number {
    return Math.round(Math.min(cap, base * 2 ** Math.min(count, 30)) * (1 + BACKOFF_JITTER * (2 * this.random() - 1)))
  }

  /**
   * The device acknowledged the envelope (direct ack): the entry is done, and
   * a session it was the initial message of is confirmed. Not synced: if the
   * write is lost, the envelope is sent again and acknowledged as a duplicate.
   */
  private async delivered (entry: OutboxEntry): Promise<void> {
    if (!this.pending.has(entry.seq)) return
    this.untrack(entry)
    const ops = [this.outbox.removeOp(entry)]
    // Other copies of the message for this device (encrypted again under a new session) are done too.
    for (const seq of [...(this.byMessage.get(entry.messageId) ?? [])]) {
      const sibling = this.pending.get(seq)
      if (sibling == null || sibling.device !== entry.device || this.inFlight.has(seq)) continue
      this.untrack(sibling)
      ops.push(this.outbox.removeOp(sibling))
    }
    const status = entry.kind === 'content' ? await this.outbox.statusOp(fromHex(entry.messageId), 'delivered', 0, this.now()) : undefined
    if (status != null) ops.push(status.op)
    if (entry.confirms != null) {
      const identityKey = fromHex(entry.confirms.identityKey)
      const baseKey = fromHex(entry.confirms.baseKey)
      const { ops: sessionOps, release } = await this.sessions.with(identityKey, async (record) => {
        const confirmed = record.current != null ? confirmSession(record.current, baseKey) : undefined
        return { record: confirmed != null ? { current: confirmed, archived: record.archived } : undefined, result: undefined }
      })
      try {
        await this.commit([...ops, ...sessionOps], sessionOps.length > 0 ? [identityKey] : [], { sync: false, release: [release] })
      } finally {
        release()
      }
    } else {
      await this.commit(ops, [], { sync: false })
    }
    if (status != null) this.emitStatus(entry, 'delivered', status.status.relays)
  }

  /**
   * A delivery or read receipt from `device` (of the account `conversation`) for our messages: their entries
   * for that device leave the outbox; their state moves forward.
   */
  async acknowledged (messageIds: string[], device: string, state: 'delivered' | 'read', conversation: Uint8Array): Promise<void> {
    const ops = []
    const changed: Array<{ id: string, state: SendState, relays: number }> = []
    for (const id of messageIds) {
      // A receipt speaks only for our own messages in the conversation with
      // its sender: nobody else can mark a message delivered or read.
      const found = await this.history.find(fromHex(id))
      if (found == null || !equalBytes(found.conversation, conversation) || !equalBytes(found.message.author.account, this.identity.accountPublicKey)) continue
      for (const seq of [...(this.byMessage.get(id) ?? [])]) {
        const entry = this.pending.get(seq)
        if (entry == null || entry.device !== device) continue
        this.untrack(entry)
        ops.push(this.outbox.removeOp(entry))
      }
      const status = await this.outbox.statusOp(fromHex(id), state, 0, this.now())
      if (status != null) {
        ops.push(status.op)
        changed.push({ id, state: status.status.state, relays: status.status.relays })
      }
    }
    // Not synced: if lost, the entries are sent again and acknowledged as duplicates.
    if (ops.length > 0) await this.commit(ops, [], { sync: false })
    for (const c of changed) this.emit({ type: 'status', id: c.id, conversation: toHex(conversation), state: c.state, relays: c.relays })
  }

  private async expire (entry: OutboxEntry): Promise<void> {
    if (!this.pending.has(entry.seq)) return
    this.untrack(entry)
    const ops = [this.outbox.removeOp(entry)]
    const status = entry.kind === 'content' ? await this.outbox.statusOp(fromHex(entry.messageId), 'failed', 0, this.now()) : undefined
    if (status != null) ops.push(status.op)
    await this.commit(ops)
    if (status != null) this.emitStatus(entry, 'failed', 0)
  }

  /** Typing indicators: encrypted and sent directly once; never stored or retried. */
  async sendEphemeral (conversation: Uint8Array, devices: RemoteDevice[], message: Message): Promise<void> {
    const id = this.identity
    const plaintext = encodePayload(id.handleName, encodeMessage(message))
    await Promise.all(devices.map(async device => {
      const { result: sealed, ops, release } = await this.sessions.with(device.identityKey, async (record) => {
        if (record.current == null) return { result: undefined }
        const ownRecord = record.current.pendingPrekey != null ? id.deviceRecord?.() : undefined
        const out = await encrypt(this.crypto, record.current, ownRecord != null ? withDeviceRecord(plaintext, ownRecord) : plaintext)
        const envelope = await sealEnvelope(this.crypto, device.identityKey, { accountKey: id.accountPublicKey, identityKey: id.identityKey }, out.message, { ephemeral: await this.ephemerals.get(device.identityKey) })
        return { record: { current: out.state, archived: record.archived }, result: envelope }
      })
      try {
        if (sealed == null) return
        await this.commit([...ops, this.history.observeOp(conversation, message.lamport)], [device.identityKey], { release: [release] })
      } finally {
        release()
      }
      try {
        await this.transport.sendDirect(device.peerId, device.addrs, sealed.envelope, AbortSignal.timeout(this.init.directTimeoutMs))
      } catch (err) {
        log('typing indicator to %p not sent: %s', device.peerId, (err as Error).message)
      }
    }))
  }

  /** A relay refused for a quota: the sender is told, and the relay rests for this device. */
  private refusedForQuota (entry: OutboxEntry, relay: PeerId, key: string, err: Error & { quota?: string }): void {
    setNewest(this.refusedUntil, key, this.now() + QUOTA_BACKOFF_RETRIES * this.init.retryIntervalMs, MAX_QUOTA_REFUSALS)
    if (entry.kind !== 'content') return
    this.emit({
      type: 'relay-refused',
      id: entry.messageId,
      conversation: entry.conversation,
      relay: relay.toString(),
      quota: err.quota ?? 'unknown',
      reason: err.message
    })
  }

  private emitStatus (entry: OutboxEntry, state: SendState, relays: number): void {
    this.emit({ type: 'status', id: entry.messageId, conversation: entry.conversation, state, relays })
  }
}
