/**
 * Delivery of outbox entries: straight to the recipient device first; if
 * that fails, to two relays (the recipient's own, from the circuit addresses
 * in its device record, then ours), whose custody receipts make the message
 * "held by N relays". An entry leaves the outbox on the device's direct
 * acknowledgement or on its delivery receipt (see inbox.ts); receipts leave
 * once a relay holds them. Entries older than the retention time expire.
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
import { encodeMessage } from './model/index.js'
import type { Message } from './model/index.js'
import { encodePayload } from './payload.js'
import type { OutboxEntry, SendState } from './outbox.js'
import { fromHex } from './bytes.js'
import { peerIdFromText } from './devices.js'
import type { RemoteDevice } from './devices.js'
import type { Messenger } from './messenger.js'
import { setNewest } from '../bounded.js'

const log = logger('starling:messenger:delivery')

/** Relays each envelope is handed to when the recipient is offline. */
export const RELAYS_PER_ENVELOPE = 2
/** Envelopes in flight at once, over all recipients. */
export const MAX_IN_FLIGHT = 1024
/** A relay that refused for a quota is not asked again for the same device for this many retry intervals. */
export const QUOTA_BACKOFF_RETRIES = 12
/** Refusals remembered at once (relay and device pairs). */
export const MAX_QUOTA_REFUSALS = 10_000

export interface DeliveryInit {
  retentionMs: number
  retryIntervalMs: number
  directTimeoutMs: number
}

/** Moves outbox entries towards their recipients. */
export class Delivery {
  private readonly pending = new Map<number, OutboxEntry>()
  private readonly byMessage = new Map<string, Set<number>>()
  private readonly inFlight = new Set<number>()
  /** Device peer id -> time before which we do not try it directly again. */
  private readonly unreachableUntil = new Map<string, number>()
  /** `relay/device` -> time before which that relay is not asked again (it refused for a quota). */
  private readonly refusedUntil = new Map<string, number>()
  private timer?: ReturnType<typeof setInterval>
  private pumping = false
  private running = false
  /** Ephemeral keys for envelopes written straight to a device (see DirectEphemerals). */
  private readonly direct: DirectEphemerals

  constructor (private readonly m: Messenger, private readonly init: DeliveryInit) {
    this.direct = new DirectEphemerals(m.init.crypto, m.now)
  }

  async start (): Promise<void> {
    this.running = true
    for (const entry of await this.m.outbox.load()) this.track(entry)
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

  /** A new entry, already stored. */
  add (entry: OutboxEntry): void {
    this.track(entry)
    this.pump()
  }

  private track (entry: OutboxEntry): void {
    this.pending.set(entry.seq, entry)
    const set = this.byMessage.get(entry.messageId) ?? new Set()
    set.add(entry.seq)
    this.byMessage.set(entry.messageId, set)
  }

  private untrack (entry: OutboxEntry): void {
    this.pending.delete(entry.seq)
    const set = this.byMessage.get(entry.messageId)
    set?.delete(entry.seq)
    if (set?.size === 0) this.byMessage.delete(entry.messageId)
  }

  /** Periodic: a device may be back; relayed entries may have expired. */
  private retry (): void {
    const now = this.m.now()
    for (const entry of this.pending.values()) {
      if (now - entry.createdAt > this.init.retentionMs && !this.inFlight.has(entry.seq)) {
        this.expire(entry).catch(err => log.error('expiring failed: %s', (err as Error).message))
      }
    }
    this.pump()
  }

  /** Starts attempts for every entry that is neither in flight nor held by relays. */
  private pump (): void {
    if (!this.running || this.pumping) return
    this.pumping = true
    try {
      for (const entry of this.pending.values()) {
        if (this.inFlight.size >= MAX_IN_FLIGHT) break
        if (this.inFlight.has(entry.seq) || entry.relays.length > 0) continue
        this.inFlight.add(entry.seq)
        this.attempt(entry)
          .catch(err => log('attempt failed: %s', (err as Error).message))
          .finally(() => {
            this.inFlight.delete(entry.seq)
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
    const id = this.m.init.identity
    const recipient = fromHex(entry.identityKey)
    const ephemeral = path === 'direct' ? await this.direct.get(recipient) : undefined
    const sealed = await sealEnvelope(this.m.init.crypto, recipient, { accountKey: id.accountPublicKey, identityKey: id.identityKey }, entry.inner, { id: fromHex(entry.envelopeId), ephemeral })
    return sealed.envelope
  }

  private async attempt (entry: OutboxEntry): Promise<void> {
    const peerId = peerIdFromText(entry.device)
    const until = this.unreachableUntil.get(entry.device) ?? 0
    if (until <= this.m.now()) {
      const device = await this.m.device(peerId, until > 0)
      try {
        await this.m.init.transport.sendDirect(peerId, device?.addrs ?? [], await this.seal(entry, 'direct'), AbortSignal.timeout(this.init.directTimeoutMs))
        this.unreachableUntil.delete(entry.device)
        await this.delivered(entry)
        return
      } catch (err) {
        log('direct send to %s failed: %s', entry.device, (err as Error).message)
        this.unreachableUntil.set(entry.device, this.m.now() + this.init.retryIntervalMs)
      }
    }
    await this.relay(entry, peerId)
  }

  /** Hands the envelope to up to two relays; keeps it queued if none takes it. */
  private async relay (entry: OutboxEntry, peerId: PeerId): Promise<void> {
    log('looking up %p to relay %s', peerId, entry.envelopeId)
    const device = await this.m.device(peerId)
    const envelope = await this.seal(entry, 'relay')
    const candidates = new Map<string, { peerId: PeerId, addrs: RemoteDevice['addrs'] }>()
    for (const r of [...(device?.relays ?? []), ...this.m.init.relays()]) {
      if (!candidates.has(r.peerId.toString())) candidates.set(r.peerId.toString(), r)
    }
    const held: string[] = []
    for (const relay of candidates.values()) {
      if (held.length >= RELAYS_PER_ENVELOPE) break
      const refusal = `${relay.peerId.toString()}/${entry.device}`
      if ((this.refusedUntil.get(refusal) ?? 0) > this.m.now()) continue
      try {
        log('handing %s for %p to relay %p at %s', entry.envelopeId, peerId, relay.peerId, relay.addrs.map(String).join(' '))
        const custody = await this.m.init.transport.storeOnRelay(relay.peerId, relay.addrs, peerId, envelope, AbortSignal.timeout(this.init.directTimeoutMs))
        log('relay %p holds %s', relay.peerId, entry.envelopeId)
        held.push(custody.relay)
      } catch (err) {
        log('relay %p refused or failed: %s', relay.peerId, (err as Error).message)
        if ((err as Error).name === 'QuotaExceededError') this.refusedForQuota(entry, relay.peerId, refusal, err as Error & { quota?: string })
      }
    }
    if (held.length === 0) return
    if (!this.pending.has(entry.seq)) return
    // Not synced: if lost, the envelope is handed to relays again (they and the recipient drop duplicates).
    if (entry.kind === 'receipt') {
      this.untrack(entry)
      await this.m.commit([this.m.outbox.removeOp(entry)], [], { sync: false })
      return
    }
    entry.relays = held
    const ops = [this.m.outbox.putOp(entry)]
    const status = await this.m.outbox.statusOp(fromHex(entry.messageId), 'relayed', held.length, this.m.now())
    if (status != null) ops.push(status.op)
    await this.m.commit(ops, [], { sync: false })
    if (status != null) this.emitStatus(entry, status.status.state, status.status.relays)
  }

  /**
   * The device acknowledged the envelope (direct ack): the entry is done, and
   * a session it was the initial message of is confirmed. Not synced: if the
   * write is lost, the envelope is sent again and acknowledged as a duplicate.
   */
  private async delivered (entry: OutboxEntry): Promise<void> {
    if (!this.pending.has(entry.seq)) return
    this.untrack(entry)
    const ops = [this.m.outbox.removeOp(entry)]
    const status = entry.kind === 'content' ? await this.m.outbox.statusOp(fromHex(entry.messageId), 'delivered', 0, this.m.now()) : undefined
    if (status != null) ops.push(status.op)
    if (entry.confirms != null) {
      const identityKey = fromHex(entry.confirms.identityKey)
      const baseKey = fromHex(entry.confirms.baseKey)
      const { ops: sessionOps, release } = await this.m.sessions.with(identityKey, async (record) => {
        const confirmed = record.current != null ? confirmSession(record.current, baseKey) : undefined
        return { record: confirmed != null ? { current: confirmed, archived: record.archived } : undefined, result: undefined }
      })
      try {
        await this.m.commit([...ops, ...sessionOps], sessionOps.length > 0 ? [identityKey] : [], { sync: false, release: [release] })
      } finally {
        release()
      }
    } else {
      await this.m.commit(ops, [], { sync: false })
    }
    if (status != null) this.emitStatus(entry, 'delivered', status.status.relays)
  }

  /**
   * A delivery or read receipt from `device` for our messages: their entries
   * for that device leave the outbox; their state moves forward.
   */
  async acknowledged (messageIds: string[], device: string, state: 'delivered' | 'read'): Promise<void> {
    const ops = []
    const changed: Array<{ id: string, state: SendState, relays: number }> = []
    for (const id of messageIds) {
      for (const seq of [...(this.byMessage.get(id) ?? [])]) {
        const entry = this.pending.get(seq)
        if (entry == null || entry.device !== device) continue
        this.untrack(entry)
        ops.push(this.m.outbox.removeOp(entry))
      }
      const status = await this.m.outbox.statusOp(fromHex(id), state, 0, this.m.now())
      if (status != null) {
        ops.push(status.op)
        changed.push({ id, state: status.status.state, relays: status.status.relays })
      }
    }
    // Not synced: if lost, the entries are sent again and acknowledged as duplicates.
    if (ops.length > 0) await this.m.commit(ops, [], { sync: false })
    for (const c of changed) this.m.emit({ type: 'status', id: c.id, state: c.state, relays: c.relays })
  }

  private async expire (entry: OutboxEntry): Promise<void> {
    if (!this.pending.has(entry.seq)) return
    this.untrack(entry)
    const ops = [this.m.outbox.removeOp(entry)]
    const status = entry.kind === 'content' ? await this.m.outbox.statusOp(fromHex(entry.messageId), 'expired', 0, this.m.now()) : undefined
    if (status != null) ops.push(status.op)
    await this.m.commit(ops)
    if (status != null) this.emitStatus(entry, 'expired', 0)
  }

  /** Typing indicators: encrypted and sent directly once; never stored or retried. */
  async sendEphemeral (conversation: Uint8Array, devices: RemoteDevice[], message: Message): Promise<void> {
    const id = this.m.init.identity
    const plaintext = encodePayload(id.handleName, encodeMessage(message))
    await Promise.all(devices.map(async device => {
      const { result: sealed, ops, release } = await this.m.sessions.with(device.identityKey, async (record) => {
        if (record.current == null) return { result: undefined }
        const out = await encrypt(this.m.init.crypto, record.current, plaintext)
        const envelope = await sealEnvelope(this.m.init.crypto, device.identityKey, { accountKey: id.accountPublicKey, identityKey: id.identityKey }, out.message, { ephemeral: await this.direct.get(device.identityKey) })
        return { record: { current: out.state, archived: record.archived }, result: envelope }
      })
      try {
        if (sealed == null) return
        await this.m.commit([...ops, this.m.history.observeOp(conversation, message.lamport)], [device.identityKey], { release: [release] })
      } finally {
        release()
      }
      try {
        await this.m.init.transport.sendDirect(device.peerId, device.addrs, sealed.envelope, AbortSignal.timeout(this.init.directTimeoutMs))
      } catch (err) {
        log('typing indicator to %p not sent: %s', device.peerId, (err as Error).message)
      }
    }))
  }

  /** A relay refused for a quota: the sender is told, and the relay rests for this device. */
  private refusedForQuota (entry: OutboxEntry, relay: PeerId, key: string, err: Error & { quota?: string }): void {
    setNewest(this.refusedUntil, key, this.m.now() + QUOTA_BACKOFF_RETRIES * this.init.retryIntervalMs, MAX_QUOTA_REFUSALS)
    if (entry.kind !== 'content') return
    this.m.emit({
      type: 'relay-refused',
      id: entry.messageId,
      conversation: entry.conversation,
      relay: relay.toString(),
      quota: err.quota ?? 'unknown',
      reason: err.message
    })
  }

  private emitStatus (entry: OutboxEntry, state: SendState, relays: number): void {
    this.m.emit({ type: 'status', id: entry.messageId, conversation: entry.conversation, state, relays })
  }
}
