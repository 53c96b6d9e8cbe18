/**
 * The way out for one message: encrypted for each of the recipient's
 * devices under their sessions and committed together with the message and
 * its outbox entries before delivery starts (DESIGN.md, Messages); delivery
 * seals each entry for the path it takes. Either the synced commit comes
 * first, or, when the sessions' send reservations are already on disk, the
 * early path: written without fsync, sent, and written again synced while it
 * travels (see sendEarly and reserveSend in src/crypto/session.ts).
 */
import { initiateSession, encrypt, reserveSend } from '../crypto/session.js'
import type { SessionState } from '../crypto/session.js'
import { newEnvelopeId } from '../crypto/envelope.js'
import type { BatchOp } from '../store/index.js'
import type { OutboxEntry } from './outbox.js'
import type { RemoteDevice } from './devices.js'
import { NoDeviceError } from './errors.js'
import { isChunkPayload, withDeviceRecord } from './payload.js'
import { equalBytes, toHex } from './bytes.js'
import type { Crypto } from '../crypto/index.js'
import type { GroupCommitWriter } from '../store/index.js'
import type { MessengerIdentity } from './init.js'
import type { Sessions } from './sessions.js'
import type { History } from './history.js'
import type { Outbox } from './outbox.js'
import type { Delivery } from './delivery.js'
import type { Commit } from './commit.js'

/** A session's reservation after encrypting one message, and whether the message could go out before its commit was durable. */
interface Reserved {
  /** Remote identity key, hex. */
  key: string
  early: boolean
  reservation?: SessionState['sendReservation']
}

/** The prekeys to start a session with a device (a device known only by a session has none). */
function prekeyBundle (device: RemoteDevice): NonNullable<RemoteDevice['bundle']> {
  if (device.bundle == null) throw new NoDeviceError(`no session with device ${device.peerId.toString()} and no prekeys to start one`)
  return device.bundle
}

/** What {@link Outgoing} works with. */
export interface OutgoingComponents {
  crypto: Crypto
  /** This device: the keys a session starts from, and the record its first messages carry. */
  identity: Pick<MessengerIdentity, 'accountPublicKey' | 'identityKey' | 'identityKeySignature' | 'deviceRecord'>
  sessions: Pick<Sessions, 'with' | 'forget'>
  outbox: Pick<Outbox, 'add'>
  history: Pick<History, 'isLamportOp' | 'observeOp'>
  /** The writer itself for the early path (a write without fsync, then the synced copy); `commit` otherwise. */
  writer: Pick<GroupCommitWriter, 'commit' | 'syncing'>
  commit: Commit
  /** Where the committed entries go. */
  delivery: Pick<Delivery, 'add'>
  now(): number
}

/** Encrypts and commits outgoing messages, then hands them to delivery. */
export class Outgoing {
  /** Per remote identity key (hex): the send reservation known to be on disk (see reserveSend). */
  private readonly durableReservations = new Map<string, NonNullable<SessionState['sendReservation']>>()

  private readonly crypto: Crypto
  private readonly identity: OutgoingComponents['identity']
  private readonly sessions: OutgoingComponents['sessions']
  private readonly outbox: OutgoingComponents['outbox']
  private readonly history: OutgoingComponents['history']
  private readonly writer: OutgoingComponents['writer']
  private readonly commit: Commit
  private readonly delivery: OutgoingComponents['delivery']
  private readonly now: () => number

  constructor (components: OutgoingComponents) {
    this.crypto = components.crypto
    this.identity = components.identity
    this.sessions = components.sessions
    this.outbox = components.outbox
    this.history = components.history
    this.writer = components.writer
    this.commit = components.commit
    this.delivery = components.delivery
    this.now = components.now
  }

  /**
   * Encrypts `plaintext` for every device and commits the
   * message, the sessions and the outbox entries (with `extra`); then hands
   * the entries to delivery.
   */
  async plaintext (conversation: Uint8Array, devices: RemoteDevice[], plaintext: Uint8Array, messageId: Uint8Array, kind: 'content' | 'receipt', extra: BatchOp[]): Promise<void> {
    const ops: BatchOp[] = []
    const entries: OutboxEntry[] = []
    const release: Array<() => void> = []
    const sessionKeys = devices.map(d => d.identityKey)
    let reservations: Reserved[]
    try {
      reservations = await this.encryptForDevices(devices, plaintext, messageId, conversation, kind, ops, entries, release)
      ops.push(...extra)
      if (reservations.every(r => r.early) && !this.writer.syncing) {
        await this.sendEarly(conversation, ops, entries, sessionKeys, release)
        return
      }
      await this.commit(ops, sessionKeys, { release })
    } finally {
      for (const r of release) r()
    }
    this.markDurable(reservations)
    for (const entry of entries) this.delivery.add(entry)
  }

  /**
   * The early path, when every session's reservation is already on disk and
   * no fsync is under way or waiting (under load, group commit is the better
   * deal): the batch is written without fsync (it
   * is then in the outbox, and survives a crash of this process), the
   * sending starts, and the same batch is written again synced while the
   * message travels; the caller is answered once that copy is durable. A
   * power cut before then may lose the message here (the caller was not
   * answered) but never reuses a message key: the sessions read back resume
   * after their reservations. The synced copy is queued before the sessions
   * are released, so no later state can land under it.
   */
  private async sendEarly (conversation: Uint8Array, ops: BatchOp[], entries: OutboxEntry[], sessionKeys: Uint8Array[], release: Array<() => void>): Promise<void> {
    let durable: Promise<void>
    try {
      await this.writer.commit(ops, { sync: false })
      // The conversation's Lamport counter may have moved (another device of the account): write its current value.
      const again = [...ops.filter(op => !this.history.isLamportOp(op)), this.history.observeOp(conversation, 0)]
      durable = this.writer.commit(again, { sync: true })
    } catch (err) {
      for (const key of sessionKeys) this.sessions.forget(key)
      throw err
    } finally {
      for (const r of release) r()
    }
    for (const entry of entries) this.delivery.add(entry)
    try {
      await durable
    } catch (err) {
      for (const key of sessionKeys) this.sessions.forget(key)
      throw err
    }
  }

  /** Reservations just made durable by a synced commit: later messages of those sessions may take the early path. */
  private markDurable (reservations: Reserved[]): void {
    for (const r of reservations) if (r.reservation != null) this.durableReservations.set(r.key, r.reservation)
  }

  /**
   * Encrypts for each device, adding the session and outbox writes
   * to `ops`; the sessions stay locked until `release`. Says for each device
   * whether the message's sending position was covered by a reservation
   * already on disk (see reserveSend).
   */
  private async encryptForDevices (devices: RemoteDevice[], plaintext: Uint8Array, messageId: Uint8Array, conversation: Uint8Array, kind: 'content' | 'receipt', ops: BatchOp[], entries: OutboxEntry[], release: Array<() => void>): Promise<Reserved[]> {
    const id = this.identity
    const reserved: Reserved[] = []
    for (const device of devices) {
      const key = toHex(device.identityKey)
      const { result: encrypted, ops: sessionOps, release: unlock } = await this.sessions.with(device.identityKey, async (record) => {
        const started = record.current ?? (await initiateSession(this.crypto, {
          accountKey: id.accountPublicKey,
          identityKey: id.identityKey,
          identityKeySignature: id.identityKeySignature
        }, prekeyBundle(device))).state
        const { state: current, durableFirst } = reserveSend(started)
        const onDisk = this.durableReservations.get(key)
        const reservation = current.sendReservation
        const early = !durableFirst && onDisk != null && reservation != null && onDisk.until === reservation.until && equalBytes(onDisk.chain, reservation.chain)
        // A session's first messages show the recipient our device record: what binds this device to our account (payload.ts).
        const ownRecord = current.pendingPrekey != null && !isChunkPayload(plaintext) ? id.deviceRecord?.() : undefined
        const out = await encrypt(this.crypto, current, ownRecord != null ? withDeviceRecord(plaintext, ownRecord) : plaintext)
        // Until the device answers, messages carry the PQXDH header; its direct ack of this one ends that (delivery.ts).
        const confirms = current.pendingPrekey != null ? { identityKey: key, baseKey: toHex(current.baseKey) } : undefined
        return { record: { current: out.state, archived: record.archived }, result: { inner: out.message, confirms, early, reservation } }
      })
      release.push(unlock)
      reserved.push({ key, early: encrypted.early, reservation: encrypted.reservation })
      ops.push(...sessionOps)
      const { entry, op } = this.outbox.add({
        messageId: toHex(messageId),
        conversation: toHex(conversation),
        device: device.peerId.toString(),
        envelopeId: toHex(newEnvelopeId(this.crypto)),
        identityKey: key,
        inner: encrypted.inner,
        ...(encrypted.confirms != null ? { confirms: encrypted.confirms } : {}),
        kind,
        createdAt: this.now()
      })
      ops.push(op)
      entries.push(entry)
    }
    return reserved
  }
}
