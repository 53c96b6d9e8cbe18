/**
 * Which devices may speak for an account (DESIGN.md, Identity): a device
 * joins a contact only through a verified device record of that account.
 *
 * An envelope proves that its sender holds an identity key (the static DH),
 * and the session proves which account signed that key (the PQXDH header's
 * account signature, or the verified record we started the session from).
 * What neither proves is the device's peer id that a message names as its
 * author: that binding comes from a device record, signed by the account and
 * by the device's own peer key, that names this peer id, this identity key and
 * this account. A session's first messages carry the sender's record (see
 * payload.ts); without one, the record is looked up in the DHT.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { deviceRecordKey, encodeDeviceRecord, verifyDeviceRecord } from '../identity/index.js'
import type { DeviceRecord } from '../identity/index.js'
import type { Crypto } from '../crypto/index.js'
import type { Directory } from '../net/directory.js'
import { RejectedEnvelopeError, UnverifiedDeviceError } from './errors.js'
import { equalBytes } from './bytes.js'

const log = logger('starling:messenger:device-binding')

/** How long one DHT look-up of an unknown device may take. */
export const BINDING_LOOKUP_TIMEOUT_MS = 5_000
/** DHT look-ups for unknown devices under way at once; more wait for a later attempt. */
export const MAX_BINDING_LOOKUPS = 4

/** What a device claims to be: its peer id, the identity key it proved, the account its session proved. */
export interface DeviceClaim {
  account: Uint8Array
  device: PeerId
  identityKey: Uint8Array
}

export interface DeviceBindingsInit {
  crypto: Crypto
  directory: Pick<Directory, 'lookupDevice'>
  now(): number
}

/** Checks that an account vouches for a device and its identity key. */
export class DeviceBindings {
  private lookups = 0

  constructor (private readonly init: DeviceBindingsInit) {}

  /**
   * The verified record that binds the claim, from `carried` (the record a
   * message came with) or else from the DHT. Throws RejectedEnvelopeError
   * when a record shows the claim false (or none exists), and
   * UnverifiedDeviceError when the DHT could not answer (try again later).
   */
  async verify (claim: DeviceClaim, carried?: Uint8Array): Promise<Uint8Array> {
    if (carried != null) {
      let record: DeviceRecord
      try {
        record = await verifyDeviceRecord(this.init.crypto, deviceRecordKey(claim.device), carried, this.init.now(), { allowExpired: true })
      } catch (err) {
        throw new RejectedEnvelopeError(`the device record the message carries does not verify: ${(err as Error).message}`)
      }
      this.check(claim, record)
      return carried
    }
    if (this.lookups >= MAX_BINDING_LOOKUPS) throw new UnverifiedDeviceError(`too many device look-ups under way; ${claim.device.toString()} is checked later`)
    this.lookups++
    let record: DeviceRecord | undefined
    try {
      record = await this.init.directory.lookupDevice(claim.device, { signal: AbortSignal.timeout(BINDING_LOOKUP_TIMEOUT_MS) })
    } catch (err) {
      log('look-up of device %p failed: %s', claim.device, (err as Error).message)
      throw new UnverifiedDeviceError(`the record of device ${claim.device.toString()} could not be read: ${(err as Error).message}`)
    } finally {
      this.lookups--
    }
    if (record == null) throw new RejectedEnvelopeError(`device ${claim.device.toString()} has no device record: nothing shows its account vouches for it`)
    this.check(claim, record)
    return encodeDeviceRecord(record)
  }

  private check (claim: DeviceClaim, record: DeviceRecord): void {
    if (!equalBytes(record.peerId, claim.device.toMultihash().bytes)) throw new RejectedEnvelopeError(`the device record is of another device than ${claim.device.toString()}`)
    if (!equalBytes(record.accountKey, claim.account)) throw new RejectedEnvelopeError(`device ${claim.device.toString()} belongs to another account than the one that wrote`)
    if (!equalBytes(record.identityKey, claim.identityKey)) throw new RejectedEnvelopeError(`device ${claim.device.toString()} has another identity key than the one that wrote`)
  }
}
