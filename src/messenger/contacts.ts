/**
 * Contacts, pinned on first use (DESIGN.md, Identity). A contact is an
 * account key, the handle it was reached by, and the X25519 identity key of
 * each of its devices. A bare name the user typed is pinned to the account it
 * resolved to. If a later resolution or an incoming message shows another key,
 * the contact is marked changed: a loud warning, and sending is blocked until
 * the user accepts the new key (`trust`).
 *
 * Someone who is not a contact arrives as a request, which the user accepts
 * or blocks; a blocked account's messages are dropped.
 */
import type { BatchOp, Store } from '../store/index.js'
import { concat, equalBytes, fromHex, jsonBytes, parseJson, toHex, utf8 } from './bytes.js'

/** Where a contact stands. */
export type ContactState = 'accepted' | 'request' | 'blocked'

/** A pinned contact. */
export interface Contact {
  /** Account key, hex. */
  account: string
  /** Canonical handle `name~tag`. */
  handle: string
  state: ContactState
  /** Device peer id -> pinned X25519 identity key (hex). */
  devices: Record<string, string>
  /** While a message request: what it made us keep so far (see request-budget.ts). */
  request?: { messages: number, bytes: number }
  /**
   * Set when a key differs from the pinned one; sending is blocked until
   * `trust`. `alias`: the bare name the user typed was shown to resolve to
   * this account now (another than the one it is pinned to): trusting this
   * account moves the name to it.
   */
  keyChange?: { what: string, seenAt: number, alias?: string }
  addedAt: number
}

const ALIAS = utf8('alias/')
const ACCOUNT = utf8('account/')
const DEVICE = utf8('device/')

function accountKey (account: Uint8Array): Uint8Array {
  return new Uint8Array([...ACCOUNT, ...account])
}

function aliasKey (name: string): Uint8Array {
  return new Uint8Array([...ALIAS, ...utf8(name)])
}

/** The contact book over the `contacts` namespace. */
export class Contacts {
  /** Contacts read or written so far, by account (hex): every message looks its sender up. */
  private readonly cache = new Map<string, Contact>()

  /**
   * Changes of one account, one at a time: each reads the contact and writes
   * it back. Side by side, a message from an unknown account (a new
   * request) and our first message to it (an accepted contact) both read
   * "none", and the one written last won: we could write to someone whose
   * record then said "request".
   */
  private readonly changing = new Map<string, Promise<unknown>>()

  /** Told of every saved contact with what it was before (the request budget follows requests opened and closed). */
  onStateChange?: (before: Contact | undefined, after: Contact) => void

  /**
   * How contacts are written: the messenger's group commit once it exists
   * (parts.ts), so that a contact's change and a message batch carrying the
   * same contact reach the disk in the order they were queued.
   */
  write: (ops: BatchOp[]) => Promise<void>

  constructor (private readonly store: Store, private readonly now: () => number) {
    this.write = async (ops) => { await store.batch(ops, { sync: true }) }
  }

  async get (account: Uint8Array): Promise<Contact | undefined> {
    const id = toHex(account)
    const cached = this.cache.get(id)
    if (cached != null) return { ...cached, devices: { ...cached.devices } }
    const bytes = await this.store.get('contacts', accountKey(account))
    if (bytes == null) return undefined
    const contact = parseJson<Contact>(bytes)
    this.cache.set(id, contact)
    return { ...contact, devices: { ...contact.devices } }
  }

  /** The account a bare name was pinned to, if any. */
  async alias (name: string): Promise<Uint8Array | undefined> {
    const bytes = await this.store.get('contacts', aliasKey(name))
    return bytes == null ? undefined : fromHex(parseJson<string>(bytes))
  }

  /** Every contact. */
  async list (): Promise<Contact[]> {
    const out: Contact[] = []
    for await (const [, value] of this.store.iterate('contacts', { gte: ACCOUNT, lt: utf8('account0') })) {
      out.push(parseJson<Contact>(value))
    }
    return out
  }

  /**
   * Keeps the last verified device record of each of a contact's devices,
   * so a contact stays reachable (its relays, its keys) when its records
   * have expired from the DHT while it was away.
   */
  async saveDevices (account: Uint8Array, records: Array<{ peerId: string, record: Uint8Array }>): Promise<void> {
    if (records.length === 0) return
    await this.store.batch(records.map(r => ({ type: 'put' as const, namespace: 'contacts' as const, key: concat(DEVICE, account, utf8(r.peerId)), value: r.record })), { sync: true })
  }

  /** The last device records kept for an account. */
  async devicesOf (account: Uint8Array): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    const prefix = concat(DEVICE, account)
    for await (const [, value] of this.store.iterate('contacts', { gte: prefix, lt: concat(prefix, new Uint8Array([0xff])) })) out.push(value)
    return out
  }

  /**
   * The op that writes a contact within the caller's batch (its state must
   * not change this way: use save). The cached copy is updated at once: if
   * the batch fails, the cache is a little ahead until the next start.
   */
  putOp (contact: Contact): BatchOp {
    this.cache.set(contact.account, { ...contact, devices: { ...contact.devices } })
    return { type: 'put', namespace: 'contacts', key: accountKey(fromHex(contact.account)), value: jsonBytes(contact) }
  }

  /** Writes a contact (durably). */
  async save (contact: Contact, alias?: string): Promise<void> {
    const before = this.cache.get(contact.account)
    // A request that is accepted or blocked keeps no request counts.
    if (contact.state !== 'request') delete contact.request
    const ops = [{ type: 'put' as const, namespace: 'contacts' as const, key: accountKey(fromHex(contact.account)), value: jsonBytes(contact) }]
    if (alias != null) ops.push({ type: 'put', namespace: 'contacts', key: aliasKey(alias), value: jsonBytes(contact.account) })
    await this.write(ops)
    this.cache.set(contact.account, { ...contact, devices: { ...contact.devices } })
    if (before?.state !== contact.state) this.onStateChange?.(before, contact)
  }

  /**
   * Pins what a resolution showed (the user is sending to this account).
   * Returns the contact; `keyChange` is set when something differs from the pins.
   */
  async pinOutgoing (input: { alias?: string, account: Uint8Array, handle: string, devices: Record<string, Uint8Array> }): Promise<Contact> {
    return await this.exclusive(input.account, async () => {
      const now = this.now()
      const changes: string[] = []
      // The name the user typed now points at another account than the one
      // pinned: the new account is the suspect one (the old contact's keys did
      // not change), and the name stays pinned to the old one until `trust`.
      let aliasMoved = false
      if (input.alias != null) {
        const pinned = await this.alias(input.alias)
        if (pinned != null && !equalBytes(pinned, input.account)) {
          changes.push(`${input.alias} now resolves to another account (${input.handle}) than the one you talked to`)
          aliasMoved = true
        }
      }
      const existing = await this.get(input.account)
      const contact: Contact = existing ?? { account: toHex(input.account), handle: input.handle, state: 'accepted', devices: {}, addedAt: now }
      // A pending request stays one: resolving a name (to read, to send a
      // receipt) is no consent; writing to it is (Messenger.send).
      for (const [peerId, key] of Object.entries(input.devices)) {
        const pinned = contact.devices[peerId]
        if (pinned == null) contact.devices[peerId] = toHex(key)
        else if (pinned !== toHex(key)) changes.push(`device ${peerId} of ${contact.handle} has a new identity key`)
      }
      if (changes.length > 0 && contact.keyChange == null && (existing != null || aliasMoved)) contact.keyChange = { what: changes.join('; '), seenAt: now }
      // The warning names this account as where the name resolves now (Messenger.trust moves the name only then).
      if (aliasMoved && contact.keyChange != null && contact.keyChange.alias == null) {
        const what = contact.keyChange.what.includes(changes[0]) ? contact.keyChange.what : `${contact.keyChange.what}; ${changes[0]}`
        contact.keyChange = { ...contact.keyChange, what, alias: input.alias }
      }
      await this.save(contact, aliasMoved ? undefined : input.alias)
      return contact
    })
  }

  /**
   * Records who wrote to us. Unknown accounts become requests; a known
   * device with another identity key marks the contact changed.
   */
  async pinIncoming (account: Uint8Array, handle: string, device: string, identityKey: Uint8Array): Promise<Contact> {
    return await this.exclusive(account, async () => {
      const existing = await this.get(account)
      if (existing == null) {
        const contact: Contact = { account: toHex(account), handle, state: 'request', devices: { [device]: toHex(identityKey) }, addedAt: this.now() }
        await this.save(contact)
        return contact
      }
      const pinned = existing.devices[device]
      if (pinned === toHex(identityKey)) return existing
      if (pinned == null) existing.devices[device] = toHex(identityKey)
      else existing.keyChange = { what: `device ${device} of ${existing.handle} has a new identity key`, seenAt: this.now() }
      await this.save(existing)
      return existing
    })
  }

  /** Accepts the keys seen now: clears the warning and re-pins. */
  async trust (input: { alias?: string, account: Uint8Array, handle: string, devices: Record<string, Uint8Array> }): Promise<Contact> {
    return await this.exclusive(input.account, async () => {
      const existing = await this.get(input.account)
      const contact: Contact = {
        account: toHex(input.account),
        handle: input.handle,
        state: existing?.state === 'blocked' ? 'blocked' : 'accepted',
        devices: Object.fromEntries(Object.entries(input.devices).map(([p, k]) => [p, toHex(k)])),
        addedAt: existing?.addedAt ?? this.now()
      }
      await this.save(contact, input.alias)
      return contact
    })
  }

  /** Sets accepted / blocked. */
  async setState (account: Uint8Array, state: ContactState): Promise<Contact | undefined> {
    return await this.exclusive(account, async () => {
      const existing = await this.get(account)
      if (existing == null) return undefined
      existing.state = state
      await this.save(existing)
      return existing
    })
  }

  /**
   * Runs `change` after the changes of `account` queued before it (see
   * {@link changing}); for a writer elsewhere whose batch carries this
   * contact (a request's counts, request-budget.ts), queued inside it.
   */
  async exclusive<T> (account: Uint8Array, change: () => Promise<T>): Promise<T> {
    const id = toHex(account)
    const before = this.changing.get(id) ?? Promise.resolve()
    const turn = before.then(change)
    const settled = turn.catch(() => {})
    this.changing.set(id, settled)
    try {
      return await turn
    } finally {
      // The last change of the account leaves nothing behind.
      if (this.changing.get(id) === settled) this.changing.delete(id)
    }
  }
}
