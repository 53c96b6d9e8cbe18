/**
 * Ephemeral sends (typing indicators): encrypted under the current session
 * with each device and written to it directly, once. They are never stored
 * in the outbox, retried or handed to relays: an indicator that arrives late
 * is wrong, and one that is lost costs nothing. The session's new state and
 * the conversation's Lamport counter are still committed before sending, as
 * for any message, so that the ratchet never reuses a key.
 */
import { logger } from '@libp2p/logger'
import { encrypt } from '../crypto/session.js'
import type { Crypto } from '../crypto/index.js'
import { encodeMessage } from './model/index.js'
import type { Message } from './model/index.js'
import { encodePayload, withDeviceRecord } from './payload.js'
import type { RemoteDevice } from './devices.js'
import type { MessengerIdentity } from './init.js'
import type { DeliveryTransport } from './transport.js'
import type { Sessions } from './sessions.js'
import type { History } from './history.js'
import type { Commit } from './commit.js'
import type { DeliverySealer } from './delivery-sealing.js'

const log = logger('starling:messenger:delivery')

/** What {@link EphemeralSends} works with. */
export interface EphemeralSendsComponents {
  crypto: Crypto
  /** This device: the name in the payload, and the record a first message carries. */
  identity: Pick<MessengerIdentity, 'handleName' | 'deviceRecord'>
  transport: Pick<DeliveryTransport, 'sendDirect'>
  /** Indicators are encrypted under the current session; none is started for them. */
  sessions: Pick<Sessions, 'with'>
  /** Indicators move the conversation's Lamport counter. */
  history: Pick<History, 'observeOp'>
  commit: Commit
  sealer: Pick<DeliverySealer, 'direct'>
}

/** Sends messages that are never stored or retried. */
export class EphemeralSends {
  constructor (private readonly components: EphemeralSendsComponents, private readonly directTimeoutMs: number) {}

  /** Encrypts `message` for each device it has a session with and sends it directly; a device that cannot be reached misses it. */
  async send (conversation: Uint8Array, devices: RemoteDevice[], message: Message): Promise<void> {
    const { crypto, identity: id, sessions, history, commit, sealer, transport } = this.components
    const plaintext = encodePayload(id.handleName, encodeMessage(message))
    await Promise.all(devices.map(async device => {
      const { result: envelope, ops, release } = await sessions.with(device.identityKey, async (record) => {
        if (record.current == null) return { result: undefined }
        const ownRecord = record.current.pendingPrekey != null ? id.deviceRecord?.() : undefined
        const out = await encrypt(crypto, record.current, ownRecord != null ? withDeviceRecord(plaintext, ownRecord) : plaintext)
        return { record: { current: out.state, archived: record.archived }, result: await sealer.direct(device.identityKey, out.message) }
      })
      try {
        if (envelope == null) return
        await commit([...ops, history.observeOp(conversation, message.lamport)], [device.identityKey], { release: [release] })
      } finally {
        release()
      }
      try {
        await transport.sendDirect(device.peerId, device.addrs, envelope, AbortSignal.timeout(this.directTimeoutMs))
      } catch (err) {
        log('typing indicator to %p not sent: %s', device.peerId, (err as Error).message)
      }
    }))
  }
}
