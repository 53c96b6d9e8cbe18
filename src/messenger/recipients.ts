/**
 * Who a handle is, for sending: a resolution through the DHT, pinned as a
 * contact (a changed key blocks sending until the user trusts it), reused
 * for {@link RESOLUTION_TTL_MS}, and when the DHT cannot answer, the pinned
 * contact's last verified device records, so a contact stays reachable.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { decodeDeviceRecord, encodeDeviceRecord } from '../identity/index.js'
import type { Directory } from '../net/directory.js'
import type { Contact, Contacts } from './contacts.js'
import { remoteDevice } from './devices.js'
import type { RemoteDevice } from './devices.js'
import { BlockedContactError, KeyChangedError, NoDeviceError, UnconfirmedHandleError } from './errors.js'
import { fromHex, toHex } from './bytes.js'
import type { MessengerEvent } from './events.js'

const log = logger('starling:messenger:recipients')

/** How long a handle's resolution is reused before the DHT is asked again. */
export const RESOLUTION_TTL_MS = 10 * 60_000

/** Someone to talk to, resolved and pinned. */
export interface Recipient {
  contact: Contact
  account: Uint8Array
  handle: string
  devices: RemoteDevice[]
}

/** How a first contact is confirmed. */
export interface RecipientOptions {
  /** The user confirmed what a bare name resolves to: pin it. */
  confirm?: boolean
  /**
   * The `name~tag` the user saw and confirmed: a resolution to any other is
   * refused (UnconfirmedHandleError naming the new one), nothing pinned.
   */
  expect?: string
}

export interface RecipientsInit {
  directory: Pick<Directory, 'resolveOne' | 'lookupDevice'>
  contacts: Contacts
  now(): number
  emit(event: MessengerEvent): void
}

/**
 * How many devices and resolutions are kept in memory: an evicted device is
 * read again from its contact's kept record or the DHT, an evicted resolution
 * is resolved again. Without a bound, every device a peer made us look up
 * stayed for the life of the process.
 */
const KEPT_IN_MEMORY = 1024

/** Sets `key` last in `map` (the most recently used), dropping the least recently used past {@link KEPT_IN_MEMORY}. */
function keep<V> (map: Map<string, V>, key: string, value: V): void {
  map.delete(key)
  map.set(key, value)
  if (map.size > KEPT_IN_MEMORY) map.delete(map.keys().next().value as string)
}

/** Resolutions, pins and known devices. */
export class Recipients {
  private readonly devices = new Map<string, RemoteDevice>()
  private readonly resolutions = new Map<string, { at: number, recipient: Recipient }>()
  private readonly directory: RecipientsInit['directory']
  private readonly contacts: Contacts
  private readonly now: () => number
  private readonly emit: (event: MessengerEvent) => void

  constructor (init: RecipientsInit) {
    this.directory = init.directory
    this.contacts = init.contacts
    this.now = init.now
    this.emit = init.emit
  }

  /** Forgets every cached resolution (after the user trusted new keys). */
  forget (): void {
    this.resolutions.clear()
  }

  /**
   * Resolves a handle to one account, pins it, and refuses changed or
   * blocked contacts. A resolution is reused for {@link RESOLUTION_TTL_MS}
   * (the DHT is not asked again for every message), and a stale one is used
   * when the DHT cannot answer, so that a contact stays reachable. A bare
   * name not pinned yet is refused unless `confirm` (see {@link refuseUnconfirmed}).
   */
  async recipient (handle: string, options: RecipientOptions = {}): Promise<Recipient> {
    if (options.confirm !== true) await this.refuseUnconfirmed(handle)
    const cached = this.resolutions.get(handle)
    if (cached != null && this.now() - cached.at < RESOLUTION_TTL_MS && (options.expect == null || cached.recipient.handle === options.expect)) return this.checked(cached.recipient)
    try {
      const fresh = await this.resolveRecipient(handle, options.expect)
      keep(this.resolutions, handle, { at: this.now(), recipient: fresh })
      return this.checked(fresh)
    } catch (err) {
      const name = (err as Error).name
      if (name === 'AmbiguousHandleError' || name === 'KeyChangedError' || name === 'BlockedContactError' || name === 'UnconfirmedHandleError') throw err
      if (cached != null) {
        log('resolving %s failed (%s); using the resolution of %d s ago', handle, (err as Error).message, Math.round((this.now() - cached.at) / 1000))
        return this.checked(cached.recipient)
      }
      // A contact away for longer than its records live, or a DHT that cannot
      // answer: the pinned contact's last verified device records still say
      // how to reach it (its keys, its relays).
      const pinned = await this.pinnedRecipient(handle)
      if (pinned == null) throw err
      log('resolving %s failed (%s); using its last known device records', handle, (err as Error).message)
      return this.checked(pinned)
    }
  }

  /**
   * Accepts the keys a handle has now: clears the warning, re-pins its
   * devices. The handle is resolved again, so a DHT answer that differs
   * from what the user checked (another claim of the name, the owner's
   * claim expired) would be pinned: a bare name is pinned only to the
   * account it is pinned to already, to the account a key-change warning
   * named as where it resolves now, or to the `name~tag` the user confirmed
   * (`expect`); otherwise UnconfirmedHandleError names the account it
   * resolves to, nothing pinned. Trusting the `name~tag` a warning named
   * moves the name too.
   */
  async trust (handle: string, options: { expect?: string } = {}): Promise<Contact> {
    this.forget()
    const claim = await this.directory.resolveOne(handle)
    const devices: Record<string, Uint8Array> = {}
    for (const d of claim.devices) if (d.record != null) devices[d.peerId.toString()] = d.record.identityKey
    const existing = await this.contacts.get(claim.accountKey)
    // A key-change warning named this account as where the name resolves now.
    const moved = existing?.keyChange?.alias === claim.name
    const bare = !handle.includes('~')
    if (bare && options.expect !== claim.handle) {
      const pinned = await this.contacts.alias(claim.name)
      const pinnedHere = pinned != null && toHex(pinned) === toHex(claim.accountKey)
      // Unless the account the name is pinned to has a warning of its own, which `trust <name>` may be meant for.
      const seen = pinnedHere || (moved && pinned != null && (await this.contacts.get(pinned))?.keyChange == null)
      if (!seen) {
        throw new UnconfirmedHandleError(
          `${claim.name} resolves to ${claim.handle}, account fingerprint ${claim.fingerprint}, which you have not confirmed for it: check the fingerprint with them, then use ${claim.handle}`,
          claim.handle,
          claim.fingerprint
        )
      }
    }
    const alias = bare || moved ? claim.name : undefined
    return await this.contacts.trust({ alias, account: claim.accountKey, handle: claim.handle, devices })
  }

  /**
   * A first contact through a bare name never pins silently: a DHT cannot
   * say who claimed a name first, so a bare name that is not pinned yet is
   * resolved and refused with the `name~tag` and fingerprint it resolved to,
   * for the user to check and confirm.
   *
   * @throws {UnconfirmedHandleError}
   */
  private async refuseUnconfirmed (handle: string): Promise<void> {
    if (handle.includes('~') || await this.contacts.alias(handle) != null) return
    const claim = await this.directory.resolveOne(handle)
    throw new UnconfirmedHandleError(
      `${handle} is not a contact yet: it resolves to ${claim.handle}, account fingerprint ${claim.fingerprint}. Anyone can claim a name: check the fingerprint with them, then use ${claim.handle}`,
      claim.handle,
      claim.fingerprint
    )
  }

  /** A contact as last resolved: the pinned account and its kept device records. */
  private async pinnedRecipient (handle: string): Promise<Recipient | undefined> {
    let account: Uint8Array | undefined
    if (!handle.includes('~')) {
      account = await this.contacts.alias(handle)
    } else {
      const known = (await this.contacts.list()).find(c => c.handle === handle)
      if (known != null) account = fromHex(known.account)
    }
    if (account == null) return undefined
    const contact = await this.contacts.get(account)
    if (contact == null) return undefined
    const devices = await this.keptDevices(account, contact)
    if (devices.length === 0) return undefined
    return { contact, account, handle: contact.handle, devices }
  }

  /**
   * A contact's kept device records whose identity key is the pinned one, as
   * devices (remembered unless a fresher one is in memory).
   */
  private async keptDevices (account: Uint8Array, contact: Contact): Promise<RemoteDevice[]> {
    const devices: RemoteDevice[] = []
    for (const bytes of await this.contacts.devicesOf(account)) {
      try {
        const device = remoteDevice(decodeDeviceRecord(bytes))
        if (contact.devices[device.peerId.toString()] !== toHex(device.identityKey)) continue
        devices.push(device)
        if (!this.devices.has(device.peerId.toString())) keep(this.devices, device.peerId.toString(), device)
      } catch (err) {
        log('kept device record unreadable: %s', (err as Error).message)
      }
    }
    return devices
  }

  /** The kept device record of a contact's device, if its identity key is the pinned one. */
  private async keptDevice (peerId: PeerId, account: Uint8Array): Promise<RemoteDevice | undefined> {
    const contact = await this.contacts.get(account)
    if (contact?.devices[peerId.toString()] == null) return undefined
    return (await this.keptDevices(account, contact)).find(d => d.peerId.equals(peerId))
  }

  /** A cached recipient with its contact's current state: warnings and blocks apply at once. */
  private async checked (recipient: Recipient): Promise<Recipient> {
    const contact = await this.contacts.get(recipient.account) ?? recipient.contact
    this.refuseIfUnsafe(contact)
    return { ...recipient, contact }
  }

  private refuseIfUnsafe (contact: Contact): void {
    if (contact.keyChange != null) {
      this.emit({ type: 'key-change', handle: contact.handle, what: contact.keyChange.what })
      throw new KeyChangedError(`safety warning: ${contact.keyChange.what}. Sending is blocked until you check it (starling safety-number ${contact.handle}) and accept it (starling trust ${contact.handle})`)
    }
    if (contact.state === 'blocked') throw new BlockedContactError(`${contact.handle} is blocked`)
  }

  private async resolveRecipient (handle: string, expect?: string): Promise<Recipient> {
    const claim = await this.directory.resolveOne(handle)
    // The user confirmed one name~tag: another claim found now is shown to them, never pinned in its place.
    if (expect != null && claim.handle !== expect) {
      throw new UnconfirmedHandleError(`${handle} now resolves to ${claim.handle}, account fingerprint ${claim.fingerprint}, not to ${expect} as confirmed: check the fingerprint again`, claim.handle, claim.fingerprint)
    }
    const devices: RemoteDevice[] = []
    for (const d of claim.devices) {
      if (d.record == null) continue
      const device = remoteDevice(d.record)
      devices.push(device)
      keep(this.devices, device.peerId.toString(), device)
    }
    await this.contacts.saveDevices(claim.accountKey, claim.devices.flatMap(d => d.record != null ? [{ peerId: d.peerId.toString(), record: encodeDeviceRecord(d.record) }] : []))
    const bare = handle.includes('~') ? undefined : claim.name
    const contact = await this.contacts.pinOutgoing({
      alias: bare,
      account: claim.accountKey,
      handle: claim.handle,
      devices: Object.fromEntries(devices.map(d => [d.peerId.toString(), d.identityKey]))
    })
    this.refuseIfUnsafe(contact)
    if (devices.length === 0) throw new NoDeviceError(`${claim.handle} has no device with a current record`)
    return { contact, account: claim.accountKey, handle: claim.handle, devices }
  }

  /** A device from memory, a contact's kept record (with `account`), or the DHT (unless `dht: false`). */
  async device (peerId: PeerId, refresh = false, account?: Uint8Array, options: { dht?: boolean } = {}): Promise<RemoteDevice | undefined> {
    const cached = this.devices.get(peerId.toString())
    if (cached != null && !refresh) {
      // Used: the last to be let go (else a device in use went after any 1,024 looked up since it first was).
      keep(this.devices, peerId.toString(), cached)
      return cached
    }
    // After a restart the cache is empty: a contact's kept record (checked
    // against the pinned key) answers at once; a failed send refreshes it.
    if (cached == null && !refresh && account != null) {
      const kept = await this.keptDevice(peerId, account)
      if (kept != null) return kept
    }
    if (options.dht === false) return cached
    try {
      const record = await this.directory.lookupDevice(peerId)
      if (record != null) {
        const device = remoteDevice(record)
        keep(this.devices, peerId.toString(), device)
        return device
      }
    } catch (err) {
      log('device lookup of %p failed: %s', peerId, (err as Error).message)
    }
    // The DHT has nothing: what memory had, else (a device let go from memory) the contact's kept record.
    if (cached != null || account == null) return cached
    return await this.keptDevice(peerId, account)
  }
}
