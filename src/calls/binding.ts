/**
 * Who rings (issue 12, Binding): a call is taken only from a device that a
 * verified device record names, and that record says which account the
 * device belongs to (DESIGN.md, Identity: a device joins a pinned contact
 * only through a verified device record of that account). The device is the
 * stream's peer id, which Noise authenticated; the record (carried by the
 * ring, else read from the DHT) must be signed by that device's key and by
 * its account, and name that peer id. Whether the account is a contact, and
 * whether this device is one we pinned for it, decides if the call rings or
 * waits as a request.
 */
import type { PeerId } from '@libp2p/interface'
import type { Crypto } from '../crypto/index.js'
import { toHex } from '../crypto/bytes.js'
import { deviceRecordKey, formatHandle, handleTag, validateHandleName, verifyDeviceRecord } from '../identity/index.js'
import type { DeviceRecord } from '../identity/index.js'
import { UnverifiedCallerError } from './errors.js'
import type { RemoteParty } from './session.js'

/** How an account stands with us. */
export type Standing = 'contact' | 'stranger' | 'blocked'

/** What the call service asks the host about callers (the peer assembly answers from the messenger's contacts). */
export interface CallerDirectory {
  /**
   * How the account stands, for this device with this identity key: a
   * contact only when the device is one pinned for it with that key.
   */
  standing(account: Uint8Array, device: PeerId, identityKey: Uint8Array): Promise<{ standing: Standing, handle?: string }>
  /** A device pinned for a contact (a quick look, before any signature is checked: decides the budget). */
  isContactDevice(device: PeerId): Promise<boolean>
  /** The device's verified record from the DHT, when the ring carried none. */
  lookupDevice?(device: PeerId): Promise<DeviceRecord | undefined>
}

/**
 * The caller behind a ring from `device`: its verified record (carried or
 * looked up), its account and how it stands with us.
 *
 * @throws {UnverifiedCallerError} when no record verifies for this device, or its account is blocked
 */
export async function identifyCaller (crypto: Crypto, directory: CallerDirectory, device: PeerId, carried: Uint8Array | undefined, options: { now: number, name?: string }): Promise<RemoteParty> {
  let record: DeviceRecord | undefined
  if (carried != null) {
    try {
      // Under the key of the stream's peer id: a record of another device does not verify.
      record = await verifyDeviceRecord(crypto, deviceRecordKey(device), carried, options.now)
    } catch (err) {
      throw new UnverifiedCallerError(`the device record the call carries does not verify for ${device.toString()}: ${(err as Error).message}`)
    }
  } else {
    record = await directory.lookupDevice?.(device)
    if (record == null) throw new UnverifiedCallerError(`device ${device.toString()} has no device record: nothing shows which account it belongs to`)
  }
  const { standing, handle } = await directory.standing(record.accountKey, device, record.identityKey)
  if (standing === 'blocked') throw new UnverifiedCallerError('the caller\'s account is blocked')
  let claimed: string | undefined
  if (handle == null && options.name != null) {
    try {
      const name = validateHandleName(options.name)
      claimed = formatHandle(name, handleTag(crypto, name, record.accountKey))
    } catch {
      claimed = undefined
    }
  }
  return { device, account: toHex(record.accountKey), handle: handle ?? claimed, contact: standing === 'contact' }
}
