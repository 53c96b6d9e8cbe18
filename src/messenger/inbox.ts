/**
 * The receiving side: envelopes that arrive directly or are fetched from
 * relay mailboxes. An envelope is opened, its ratchet message decrypted, its
 * message validated, and message + session state + de-duplication marker
 * are written in one synced batch; only then does the caller acknowledge
 * (the direct ack, or the relay delete and an end-to-end delivery receipt).
 * An envelope id already stored is acknowledged again without decrypting;
 * anything that does not open, decrypt or validate is rejected and stores
 * nothing.
 */
import { logger } from '@libp2p/logger'
import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { openEnvelope, parseEnvelopeHeader } from '../crypto/envelope.js'
import { decrypt, isPrekeyMessage, respondToSession } from '../crypto/session.js'
import type { SessionState } from '../crypto/session.js'
import { decodePrekeyMessage } from '../crypto/pqxdh.js'
import { formatHandle, handleTag, validateHandleName } from '../identity/index.js'
import { decodeMessage } from './model/index.js'
import type { Message } from './model/index.js'
import { decodePayload } from './payload.js'
import type { Payload } from './payload.js'
import { bodyToJson } from './json.js'
import { peerIdFromBytes } from './devices.js'
import type { RemoteDevice } from './devices.js'
import { promote } from './sessions.js'
import type { SessionRecord } from './sessions.js'
import { envelopeMarkerKey, envelopeMarkerValue } from './history.js'
import type { EnvelopeMarker } from './history.js'
import { DuplicateEnvelopeError, RejectedEnvelopeError } from './errors.js'
import { concat, equalBytes, fromHex, toHex, utf8 } from './bytes.js'
import type { BatchOp } from '../store/index.js'
import type { Messenger } from './messenger.js'

const log = logger('starling:messenger:inbox')

/** Pages read from one relay in one pass (bounded work per pass). */
export const MAX_PAGES_PER_FETCH = 100
/** How long one mailbox request may take. */
export const FETCH_TIMEOUT_MS = 15_000

const READ = utf8('read/')

/** Delivery receipts owed to one device for a mailbox page. */
interface Receipts {
  account: Uint8Array
  ids: Uint8Array[]
  identityKey?: Uint8Array
}

export interface InboxInit {
  fetchIntervalMs: number
}

/** Message kinds that get a delivery receipt when they came through a relay. */
const RECEIPTED = new Set(['text', 'reply', 'reaction', 'edit', 'delete', 'attachment', 'call'])

/** A message stored from an envelope: the message, its author's device and that device's identity key. */
export interface Stored {
  message: Message
  device: PeerId
  identityKey: Uint8Array
}

/** Receives envelopes and reads mailboxes. */
export class Inbox {
  private timer?: ReturnType<typeof setInterval>
  private fetching?: Promise<void>
  private again = false
  private readonly inProgress = new Map<string, Promise<void>>()

  constructor (private readonly m: Messenger, private readonly init: InboxInit) {}

  start (): void {
    this.fetchSoon()
    this.timer = setInterval(() => { this.fetchSoon() }, this.init.fetchIntervalMs)
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Reads every mailbox now, or right after the pass in progress. */
  fetchSoon (): void {
    if (this.fetching != null) {
      this.again = true
      return
    }
    this.fetching = this.fetchAll()
      .catch(err => log.error('mailbox fetch failed: %s', (err as Error).message))
      .finally(() => {
        this.fetching = undefined
        if (this.again) {
          this.again = false
          this.fetchSoon()
        }
      })
  }

  /** Waits for the fetch in progress (tests, catch-up benchmark). */
  async settled (): Promise<void> {
    while (this.fetching != null) await this.fetching
  }

  private async fetchAll (): Promise<void> {
    for (const relay of this.m.init.relays()) {
      try {
        await this.fetchFrom(relay.peerId)
      } catch (err) {
        log('mailbox on %p not read: %s', relay.peerId, (err as Error).message)
      }
    }
  }

  private async fetchFrom (relay: PeerId): Promise<void> {
    // A page's delete goes out while the next page is read: at most one in flight.
    let deleting: Promise<void> = Promise.resolve()
    try {
      await this.fetchPages(relay, (done) => {
        const previous = deleting
        deleting = previous.then(async () => this.m.init.transport.deleteFromMailbox(relay, done, AbortSignal.timeout(FETCH_TIMEOUT_MS)))
        return previous
      })
    } finally {
      await deleting
    }
  }

  private async fetchPages (relay: PeerId, remove: (ids: Uint8Array[]) => Promise<void>): Promise<void> {
    let cursor: Uint8Array | undefined
    for (let page = 0; page < MAX_PAGES_PER_FETCH; page++) {
      const { items, cursor: next, more } = await this.m.init.transport.fetchMailbox(relay, cursor, AbortSignal.timeout(FETCH_TIMEOUT_MS))
      const receipts = new Map<string, Receipts>()
      const receipt = (device: string, account: Uint8Array, id: Uint8Array, identityKey?: Uint8Array): void => {
        const r = receipts.get(device) ?? { account, ids: [] }
        r.ids.push(id)
        r.identityKey ??= identityKey
        receipts.set(device, r)
      }
      // The page is received concurrently: each session still takes its
      // messages one at a time, but the page's writes share a few synced
      // batches instead of one fsync per envelope.
      // Only what is settled leaves the relay: stored, already stored, or
      // refused for good. A local failure (a write that failed, say) keeps
      // the envelope there for the next pass instead of losing the message.
      const settled: Array<{ id: Uint8Array, receiptTo?: string }> = []
      await Promise.all(items.map(async item => {
        try {
          const stored = await this.receive(item.envelope, 'relay')
          if (stored != null && RECEIPTED.has(stored.message.body.kind)) {
            receipt(stored.device.toString(), stored.message.author.account, stored.message.id, stored.identityKey)
            settled.push({ id: item.id, receiptTo: stored.device.toString() })
            return
          }
        } catch (err) {
          const name = (err as Error).name
          if (name === 'DuplicateEnvelopeError') {
            // Stored before: directly (the sender never saw the ack, so it
            // handed the envelope to a relay) or in a pass that was cut short.
            // Its receipt may never have left: send it again.
            const marker = await this.duplicateMarker(item.envelope)
            if (marker != null) {
              receipt(marker.device, fromHex(marker.account), fromHex(marker.message))
              settled.push({ id: item.id, receiptTo: marker.device })
              return
            }
          } else if (name === 'RejectedEnvelopeError') {
            log('mailbox envelope dropped: %s', (err as Error).message)
          } else {
            log.error('mailbox envelope kept on the relay for the next pass: %s', (err as Error).message)
            return
          }
        }
        settled.push({ id: item.id })
      }))
      // Receipts are queued durably before the relay deletes the envelopes: a
      // crash in between leaves them on the relay, and the next pass sends
      // their receipts as duplicates. So does a receipt that could not be
      // queued (no current record of the sender's device, say).
      const unsent = await this.sendReceipts(receipts)
      const done = settled.filter(s => s.receiptTo == null || !unsent.has(s.receiptTo)).map(s => s.id)
      // Waits for the previous page's delete (its failure ends this pass), not this one's.
      if (done.length > 0) await remove(done)
      cursor = next
      if (!more || items.length === 0) break
    }
  }

  private async duplicateMarker (envelope: Uint8Array): Promise<EnvelopeMarker | undefined> {
    try {
      return await this.m.history.envelopeMarker(parseEnvelopeHeader(envelope).id)
    } catch {
      return undefined
    }
  }

  /**
   * One delivery receipt per sender device for what a page fetched: the
   * end-to-end ack. Resolves with the devices of accepted contacts whose
   * receipt could not be queued.
   */
  private async sendReceipts (receipts: Map<string, Receipts>): Promise<Set<string>> {
    const unsent = new Set<string>()
    for (const [device, r] of receipts) {
      const remote = await this.receiptDevice(peerIdFromString(device), r)
      if (remote == null) {
        // Held back only for people we talk to: a stranger's device without
        // a record must not keep envelopes in our mailbox (and its quota).
        const accepted = (await this.m.contacts.get(r.account))?.state === 'accepted'
        log('no device record for %s: delivery receipt not sent%s', device, accepted ? ' yet' : '')
        if (accepted) unsent.add(device)
        continue
      }
      for (let i = 0; i < r.ids.length; i += 1000) {
        await this.m.sendToAccount(r.account, [remote], { kind: 'delivered', ids: r.ids.slice(i, i + 1000) }, 'receipt')
      }
    }
    return unsent
  }

  /**
   * Where a receipt goes: the device as known (cached, or the contact's kept
   * record); else, when we have a session with its identity key (it just
   * wrote to us), the device by that key alone, since encrypting needs no
   * record and delivery finds its addresses itself; else its record from
   * the DHT. The DHT is not waited for while a mailbox page is read.
   */
  private async receiptDevice (peerId: PeerId, r: Receipts): Promise<RemoteDevice | undefined> {
    const known = await this.m.device(peerId, false, r.account, { dht: false })
    if (known != null) return known
    if (r.identityKey != null && (await this.m.sessions.get(r.identityKey)).current != null) {
      return { peerId, accountKey: r.account, identityKey: r.identityKey, addrs: [], relays: [] }
    }
    return this.m.device(peerId)
  }

  /**
   * Opens, decrypts, validates and stores one envelope. Resolves with the
   * stored message (undefined when it was dropped: typing, blocked sender,
   * a message id already stored); throws DuplicateEnvelopeError for an
   * envelope id already stored and RejectedEnvelopeError for anything bad.
   */
  async receive (envelope: Uint8Array, via: 'direct' | 'relay', from?: PeerId): Promise<Stored | undefined> {
    let id: Uint8Array
    try {
      id = parseEnvelopeHeader(envelope).id
    } catch (err) {
      throw new RejectedEnvelopeError(`not an envelope: ${(err as Error).message}`)
    }
    const key = toHex(id)
    const running = this.inProgress.get(key)
    if (running != null) {
      await running.catch(() => {})
      throw new DuplicateEnvelopeError('envelope already being stored')
    }
    if (await this.m.history.hasEnvelope(id)) throw new DuplicateEnvelopeError('envelope already stored')
    let result: Stored | undefined
    const work = this.open(id, envelope, via, from).then(r => { result = r })
    this.inProgress.set(key, work)
    try {
      await work
    } finally {
      this.inProgress.delete(key)
    }
    return result
  }

  private async open (id: Uint8Array, envelope: Uint8Array, via: 'direct' | 'relay', from?: PeerId): Promise<Stored | undefined> {
    const me = this.m.init.identity
    let opened
    try {
      opened = await openEnvelope(this.m.init.crypto, me.identityKey, envelope)
    } catch (err) {
      throw new RejectedEnvelopeError(`envelope does not open with our key: ${(err as Error).message}`)
    }
    const sender = opened.sender
    const guard = this.m.sessions.replayGuard()
    let decrypted: { plaintext: Uint8Array }
    let sessionOps: BatchOp[]
    let release: () => void
    try {
      const out = await this.m.sessions.with(sender.identityKey, async (record) => this.decryptWith(record, opened.inner, guard))
      decrypted = out.result
      sessionOps = out.ops
      release = out.release
    } catch (err) {
      throw new RejectedEnvelopeError(`ratchet refused the message: ${(err as Error).name}: ${(err as Error).message}`)
    }
    // The session stays locked until this message's commit is queued (or it is refused).
    try {
      return await this.store(id, opened.sender, decrypted.plaintext, sessionOps, guard, release, via, from)
    } finally {
      release()
    }
  }

  /** Validates and stores a decrypted message; `release` unlocks the sender's session once the commit is queued. */
  private async store (id: Uint8Array, sender: { accountKey: Uint8Array, identityKey: Uint8Array }, plaintext: Uint8Array, sessionOps: BatchOp[], guard: ReturnType<Messenger['sessions']['replayGuard']>, release: () => void, via: 'direct' | 'relay', from?: PeerId): Promise<Stored | undefined> {
    let message: Message
    let name: string
    let device: PeerId
    let payload: Payload
    try {
      payload = decodePayload(plaintext)
    } catch (err) {
      this.m.sessions.forget(sender.identityKey)
      throw new RejectedEnvelopeError(`bad payload: ${(err as Error).message}`)
    }
    if (payload.type === 'chunk') {
      await this.chunk(id, sender.accountKey, sender.identityKey, payload.chunk, [...sessionOps, ...guard.replayOps()], release)
      return undefined
    }
    try {
      message = decodeMessage(payload.message)
      name = payload.name
      device = peerIdFromBytes(message.author.device)
    } catch (err) {
      this.m.sessions.forget(sender.identityKey)
      throw new RejectedEnvelopeError(`bad message: ${(err as Error).message}`)
    }
    if (!equalBytes(message.author.account, sender.accountKey)) {
      this.m.sessions.forget(sender.identityKey)
      throw new RejectedEnvelopeError('message author is not the envelope sender')
    }
    if (from != null && via === 'direct' && !from.equals(device)) log('envelope from %p carries a message of device %p', from, device)

    let handleName = 'unknown'
    try {
      handleName = validateHandleName(name)
    } catch {
      // A sender calling itself something invalid is shown as "unknown~tag".
    }
    const handle = formatHandle(handleName, handleTag(this.m.init.crypto, sender.accountKey))
    const conversation = sender.accountKey
    const contact = await this.m.contacts.pinIncoming(sender.accountKey, handle, device.toString(), sender.identityKey)
    const kind = message.body.kind
    const drop = contact.state === 'blocked' || kind === 'typing' || (await this.m.history.find(message.id)) != null
    const marker = !drop && RECEIPTED.has(kind) ? { message: toHex(message.id), account: toHex(sender.accountKey), device: device.toString() } : undefined
    const ops: BatchOp[] = [...sessionOps, ...guard.replayOps(), { type: 'put', namespace: 'dedup', key: envelopeMarkerKey(id), value: envelopeMarkerValue(marker) }]
    if (!drop) ops.push(...this.m.history.putOps(conversation, message))
    ops.push(this.m.history.observeOp(conversation, message.lamport))
    await this.m.commit(ops, [sender.identityKey], { release: [release] })
    if (contact.state === 'blocked') return undefined
    if (kind === 'typing') {
      this.m.emit({ type: 'typing', handle, on: message.body.kind === 'typing' && message.body.on })
      return undefined
    }
    if (drop) return undefined
    if (message.body.kind === 'attachment' && this.m.attachments != null) {
      await this.m.attachments.received(message.body.attachment, device)
    }
    if (message.body.kind === 'delivered' || message.body.kind === 'read') {
      await this.m.delivery.acknowledged(message.body.ids.map(toHex), device.toString(), message.body.kind)
    }
    const storedAt = performance.timeOrigin + performance.now()
    this.m.received.messages++
    this.m.received.lastStoredAt = storedAt
    this.m.emit({ type: 'message', direction: 'in', via, handle, conversation: toHex(conversation), id: toHex(message.id), kind, lamport: message.lamport, timestamp: message.timestamp, storedAt, text: 'text' in message.body ? message.body.text : undefined, body: bodyToJson(message.body), request: contact.state === 'request' })
    return { message, device, identityKey: sender.identityKey }
  }

  /**
   * An attachment chunk: stored durably in the blob store first, then the
   * session and the envelope marker, so a crash in between only means the
   * chunk is received (harmlessly) again. Only from senders we know.
   */
  private async chunk (id: Uint8Array, account: Uint8Array, identityKey: Uint8Array, chunk: Uint8Array, sessionOps: BatchOp[], release: () => void): Promise<void> {
    const contact = await this.m.contacts.get(account)
    const marker: BatchOp = { type: 'put', namespace: 'dedup', key: envelopeMarkerKey(id), value: new Uint8Array([1]) }
    if (this.m.attachments == null || contact == null || contact.state === 'blocked') {
      await this.m.commit([...sessionOps, marker], [identityKey], { release: [release] })
      return
    }
    try {
      await this.m.attachments.chunk(chunk)
    } catch (err) {
      this.m.sessions.forget(identityKey)
      throw new RejectedEnvelopeError(`bad attachment chunk: ${(err as Error).message}`)
    }
    await this.m.commit([...sessionOps, marker], [identityKey], { release: [release] })
  }

  /** Decrypts with the session the message belongs to, or starts one from an initial message. */
  private async decryptWith (record: SessionRecord, inner: Uint8Array, guard: ReturnType<Messenger['sessions']['replayGuard']>): Promise<{ record: SessionRecord, result: { plaintext: Uint8Array } }> {
    const crypto = this.m.init.crypto
    const states = [record.current, ...record.archived].filter((s): s is SessionState => s != null)
    if (isPrekeyMessage(inner)) {
      const { header } = decodePrekeyMessage(inner)
      const known = states.find(s => equalBytes(s.baseKey, header.baseKey))
      if (known != null) {
        const out = await decrypt(crypto, known, inner)
        return { record: promote(record, out.state, known), result: out }
      }
      const me = this.m.init.identity
      const out = await respondToSession(crypto, {
        accountKey: me.accountPublicKey,
        identityKey: me.identityKey,
        prekeys: me.prekeys()
      }, inner, guard, { now: this.m.now() })
      return { record: promote(record, out.state), result: out }
    }
    let lastError: unknown = new Error('no session with this device')
    for (const state of states) {
      try {
        const out = await decrypt(crypto, state, inner)
        return { record: promote(record, out.state, state), result: out }
      } catch (err) {
        lastError = err
      }
    }
    throw lastError
  }

  /** Incoming messages of a conversation not yet marked read. */
  async unread (conversation: Uint8Array): Promise<Uint8Array[]> {
    const out: Uint8Array[] = []
    for (const message of await this.m.history.messages(conversation)) {
      if (equalBytes(message.author.account, this.m.init.identity.accountPublicKey)) continue
      if (!RECEIPTED.has(message.body.kind)) continue
      if ((await this.m.init.store.get('dedup', concat(READ, message.id))) != null) continue
      out.push(message.id)
    }
    return out
  }

  /** Remembers that these messages were read. */
  async markReadOps (_conversation: Uint8Array, ids: Uint8Array[]): Promise<void> {
    await this.m.commit(ids.map(id => ({ type: 'put', namespace: 'dedup', key: concat(READ, id), value: new Uint8Array([1]) })))
  }
}
