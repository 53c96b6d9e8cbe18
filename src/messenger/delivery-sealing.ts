/**
 * Sealing what delivery sends (the envelope layer, crypto/envelope.ts). An
 * envelope written straight to a device is sealed under an ephemeral key
 * this device reuses for that recipient for a while (DirectEphemerals): it
 * travels inside Noise, where nobody but the recipient, who learns the sender
 * anyway, sees that two envelopes share it, and both sides keep the DH result
 * instead of computing it per envelope. An envelope handed to relays gets a
 * fresh one, since relays and their mailboxes see it. An outbox entry keeps
 * its envelope id on every path, so that relays and the recipient drop the
 * copies of one entry as duplicates.
 */
import { DirectEphemerals, sealEnvelope } from '../crypto/envelope.js'
import type { Crypto } from '../crypto/index.js'
import { fromHex } from './bytes.js'
import type { MessengerIdentity } from './init.js'
import type { OutboxEntry } from './outbox.js'

/** The path an envelope takes: straight to the device, or to relays. */
export type DeliveryPath = 'direct' | 'relay'

/** Seals outbox entries and direct-only messages from this device. */
export class DeliverySealer {
  /** Ephemeral keys for envelopes written straight to a device (see DirectEphemerals). */
  private readonly ephemerals: DirectEphemerals

  constructor (
    private readonly crypto: Crypto,
    /** This device: the sender block of sealed envelopes. */
    private readonly identity: Pick<MessengerIdentity, 'accountPublicKey' | 'identityKey'>,
    now: () => number
  ) {
    this.ephemerals = new DirectEphemerals(crypto, now)
  }

  /**
   * The entry's envelope for one path: sealed with the device's direct
   * ephemeral key, or for relays with a fresh one, always under the entry's
   * envelope id (entries stored before sealing moved here hold theirs).
   */
  async entry (entry: OutboxEntry, path: DeliveryPath): Promise<Uint8Array> {
    if (entry.inner == null || entry.identityKey == null) {
      if (entry.envelope == null) throw new TypeError(`outbox entry ${entry.seq} holds nothing to send`)
      return entry.envelope
    }
    const recipient = fromHex(entry.identityKey)
    const ephemeral = path === 'direct' ? await this.ephemerals.get(recipient) : undefined
    const sealed = await sealEnvelope(this.crypto, recipient, this.sender(), entry.inner, { id: fromHex(entry.envelopeId), ephemeral })
    return sealed.envelope
  }

  /** A message that is only ever sent directly (a typing indicator), under a new envelope id. */
  async direct (recipient: Uint8Array, inner: Uint8Array): Promise<Uint8Array> {
    const sealed = await sealEnvelope(this.crypto, recipient, this.sender(), inner, { ephemeral: await this.ephemerals.get(recipient) })
    return sealed.envelope
  }

  private sender (): { accountKey: Uint8Array, identityKey: MessengerIdentity['identityKey'] } {
    return { accountKey: this.identity.accountPublicKey, identityKey: this.identity.identityKey }
  }
}
