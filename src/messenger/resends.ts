/**
 * Messages sent again when a device starts a new session with us while we
 * had one with it (a restored backup starts fresh: the old session is gone
 * there). What we queued for it under the old session may never decrypt,
 * so each message still waiting for it is encrypted again under the
 * current session, with the same message id (the device keeps one copy;
 * once one copy is acknowledged the others leave the outbox).
 *
 * One new copy per waiting message, whatever number of copies wait. Its
 * first copy stays (two sessions started at once is no loss: the device may
 * still read it); copies made at earlier restarts were sealed under
 * sessions the device has replaced since, and go. Re-encrypting every copy
 * doubled them at each restart: a contact that never acknowledged and kept
 * starting sessions multiplied our outbox by 2^k. One run at a time per
 * device; restarts that arrive meanwhile ask for one more run after it.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import type { Message } from './model/index.js'
import type { OutboxEntry } from './outbox.js'
import type { RemoteDevice } from './devices.js'
import { equalBytes, fromHex, toHex } from './bytes.js'

const log = logger('starling:messenger:resends')

/** What {@link Resends} needs of the messenger. */
export interface ResendsInit {
  /** Entries waiting for the device with this identity key (hex). */
  pendingFor(identityKey: string): OutboxEntry[]
  /** Takes superseded copies out of the outbox. */
  drop(entries: OutboxEntry[]): Promise<void>
  /** A stored message and its conversation. */
  find(id: Uint8Array): Promise<{ conversation: Uint8Array, message: Message } | undefined>
  /** The contact's kept record of a device. */
  device(peer: PeerId, conversation: Uint8Array): Promise<RemoteDevice | undefined>
  /** Encrypts a message for a device under its current session and queues it. */
  send(conversation: Uint8Array, device: RemoteDevice, message: Message): Promise<void>
}

/** Sends waiting messages again under a device's new session (see the file comment). */
export class Resends {
  /** Devices whose waiting messages are being encrypted again (value: another run is wanted). */
  private readonly running = new Map<string, boolean>()

  constructor (private readonly init: ResendsInit) {}

  /** The device with `identityKey` started a new session: in the background, errors logged. */
  request (identityKey: Uint8Array, peer: PeerId): void {
    const key = toHex(identityKey)
    if (this.running.has(key)) {
      this.running.set(key, true)
      return
    }
    this.running.set(key, false)
    void (async () => {
      do {
        this.running.set(key, false)
        await this.once(identityKey, peer)
      } while (this.running.get(key) === true)
    })()
      .catch(err => { log('sending again under the new session failed: %s', (err as Error).message) })
      .finally(() => { this.running.delete(key) })
  }

  private async once (identityKey: Uint8Array, peer: PeerId): Promise<void> {
    const copies = new Map<string, OutboxEntry[]>()
    for (const entry of this.init.pendingFor(toHex(identityKey))) {
      if (entry.kind !== 'content' || entry.device !== peer.toString()) continue
      copies.set(entry.messageId, [...(copies.get(entry.messageId) ?? []), entry])
    }
    for (const [messageId, list] of copies) {
      const found = await this.init.find(fromHex(messageId))
      if (found == null) continue
      const device = await this.init.device(peer, found.conversation)
      if (device == null || !equalBytes(device.identityKey, identityKey)) return
      await this.init.drop(list.sort((a, b) => a.seq - b.seq).slice(1))
      await this.init.send(found.conversation, device, found.message)
    }
  }
}
