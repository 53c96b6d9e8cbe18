/**
 * The receiving side: envelopes that arrive directly or are fetched from
 * relay mailboxes (mailboxes.ts reads those). An envelope is opened, its
 * ratchet message decrypted (inbox-ratchet.ts), its message validated, and
 * message + session state + de-duplication marker are written in one synced
 * batch (incoming.ts); only then does the caller acknowledge (the direct ack,
 * or the relay delete and an end-to-end delivery receipt). An envelope id
 * already stored is acknowledged again without decrypting; anything that
 * does not open, decrypt or validate is rejected and stores nothing.
 *
 * This file owns an envelope's way through those steps: copies of one
 * envelope arriving side by side, envelopes refused for now, the session
 * lock and replay guard held from decryption until the commit is queued,
 * and the check that the envelope and its session speak for one account.
 * Read marks are in receipts.ts.
 */
import type { PeerId } from '@libp2p/interface'
import { EphemeralSecrets, openEnvelope, parseEnvelopeHeader } from '../crypto/envelope.js'
import { DuplicateEnvelopeError, FirstMessageBudgetError, RejectedEnvelopeError, SkipBudgetExceededError, UnverifiedDeviceError } from './errors.js'
import { RetryLater } from './retry-later.js'
import { equalBytes, toHex } from './bytes.js'
import type { BatchOp, Store } from '../store/index.js'
import type { Crypto } from '../crypto/index.js'
import type { MessengerIdentity } from './init.js'
import type { Sessions } from './sessions.js'
import type { History } from './history.js'
import type { Contacts } from './contacts.js'
import { InboxRatchet } from './inbox-ratchet.js'
import type { InboxRatchetComponents } from './inbox-ratchet.js'
import { Incoming } from './incoming.js'
import type { IncomingComponents, Stored } from './incoming.js'
import { ReadMarks } from './receipts.js'

/**
 * What {@link Inbox} works with: what its parts need (see
 * IncomingComponents and InboxRatchetComponents for the fields taken from
 * them) and what it uses itself.
 */
export interface InboxComponents extends
  Pick<IncomingComponents, 'directory' | 'requests' | 'delivery' | 'attachments' | 'commit' | 'emit' | 'now' | 'onStored'>,
  Pick<InboxRatchetComponents, 'skipBudget' | 'firstMessageBudget'> {
  crypto: Crypto
  /** This device: the key envelopes are sealed to, and the prekeys first messages use. */
  identity: Pick<MessengerIdentity, 'accountPublicKey' | 'identityKey' | 'prekeys'>
  /** Read marks (`dedup` namespace). */
  store: Pick<Store, 'get'>
  history: Pick<History, 'hasEnvelope' | 'lamport' | 'find' | 'putOps' | 'observeOp' | 'messages'>
  sessions: Pick<Sessions, 'replayGuard' | 'with' | 'forget'>
  contacts: Pick<Contacts, 'get' | 'pinIncoming' | 'saveDevices' | 'exclusive'>
  /**
   * A device started a new session while we had one with it (a restored
   * backup): what waits for it is sent again under the new one.
   */
  restarted(identityKey: Uint8Array, device: PeerId): void
}

/** Receives envelopes, from the direct path or from mailboxes (see mailboxes.ts). */
export class Inbox {
  /** Envelopes being opened, by id (hex), with the hash of their bytes. */
  private readonly inProgress = new Map<string, { hash: Uint8Array, work: Promise<void> }>()
  /** DH results for the ephemeral keys direct senders reuse (see DirectEphemerals). */
  private readonly ephemeralSecrets = new EphemeralSecrets()
  /** Envelopes refused for now, not opened again until their wait is over. */
  private readonly retryLater: RetryLater
  private readonly ratchet: InboxRatchet
  private readonly incoming: Incoming
  private readonly readMarks: ReadMarks

  private readonly crypto: Crypto
  private readonly identity: InboxComponents['identity']
  private readonly history: InboxComponents['history']
  private readonly sessions: InboxComponents['sessions']
  private readonly restarted: InboxComponents['restarted']

  constructor (components: InboxComponents) {
    this.crypto = components.crypto
    this.identity = components.identity
    this.history = components.history
    this.sessions = components.sessions
    this.restarted = components.restarted
    this.ratchet = new InboxRatchet(components)
    this.incoming = new Incoming(components)
    this.readMarks = new ReadMarks(components)
    this.retryLater = new RetryLater(components.now, (bytes) => this.crypto.hash.sha256(bytes))
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
    const hash = this.crypto.hash.sha256(envelope)
    for (let running = this.inProgress.get(key); running != null; running = this.inProgress.get(key)) {
      if (equalBytes(running.hash, hash)) {
        // The same envelope from another relay, received side by side: it
        // shares the first copy's fate. Only a stored first copy makes it a
        // duplicate; a copy refused for now (or that failed here) must stay on
        // its relay, since deleting it there (same id, same bytes) deletes the
        // message from every relay of the network.
        await running.work
        throw new DuplicateEnvelopeError('envelope already being stored')
      }
      // Other bytes under the same id (another sealing, or junk a relay put
      // under a real id): never the first one's fate, or junk refused first
      // would get the real envelope refused and deleted. Once it settles,
      // this one is a duplicate if that one was stored, else opened itself.
      await running.work.catch(() => {})
    }
    if (await this.history.hasEnvelope(id)) throw new DuplicateEnvelopeError('envelope already stored')
    // Refused for now a moment ago: refused again without repeating the work.
    const later = this.retryLater.refusal(id, envelope)
    if (later != null) throw later
    let result: Stored | undefined
    const work = this.open(id, envelope, via, from).then(r => { result = r })
    this.inProgress.set(key, { hash, work })
    try {
      await work
      this.retryLater.settled(id)
    } catch (err) {
      if (isNotNow(err)) this.retryLater.refused(id, envelope, err)
      else this.retryLater.settled(id)
      throw err
    } finally {
      this.inProgress.delete(key)
    }
    return result
  }

  private async open (id: Uint8Array, envelope: Uint8Array, via: 'direct' | 'relay', from?: PeerId): Promise<Stored | undefined> {
    const me = this.identity
    let opened
    try {
      // Direct senders reuse an ephemeral key for a while; relayed envelopes never do.
      opened = await openEnvelope(this.crypto, me.identityKey, envelope, via === 'direct' ? this.ephemeralSecrets : undefined)
    } catch (err) {
      throw new RejectedEnvelopeError(`envelope does not open with our key: ${(err as Error).message}`)
    }
    const guard = this.sessions.replayGuard()
    const { decrypted, sessionOps, release } = await this.ratchet.decrypt(opened.sender, opened.inner, guard)
    // The session stays locked until this message's commit is queued (or it is refused).
    try {
      // The envelope proves its sender holds this identity key; the session
      // proves which account signed it (the PQXDH header, or the record we
      // started it from). The account the sender block names is only a claim.
      const account = decrypted.state.remoteAccountKey
      if (!equalBytes(opened.sender.accountKey, account)) throw new RejectedEnvelopeError('the envelope names another account than the one its session is with')
      const stored = await this.incoming.store({ id, sender: { accountKey: account, identityKey: opened.sender.identityKey }, plaintext: decrypted.plaintext, sessionOps, guard, release, via, from })
      if (decrypted.restarted === true && stored != null) this.restarted(opened.sender.identityKey, stored.device)
      return stored
    } catch (err) {
      // Nothing of a refused message stays: not its session state, not its replay marker.
      this.sessions.forget(opened.sender.identityKey)
      throw err
    } finally {
      release()
      // Committed (the replay keys are on disk now) or refused: either way
      // the in-memory note is no longer needed.
      guard.discard()
    }
  }

  /** Incoming messages of a conversation not yet marked read. */
  async unread (conversation: Uint8Array): Promise<readonly Uint8Array[]> {
    return await this.readMarks.unread(conversation)
  }

  /** Remembers that these messages were read. */
  async markRead (ids: readonly Uint8Array[]): Promise<void> {
    await this.readMarks.mark(ids)
  }

  /** Told of every write to the store, before and after it is applied (src/store/watched-store.ts). */
  written (ops: readonly BatchOp[]): void {
    this.readMarks.written(ops)
  }
}

/** Errors that mean "not now": the envelope is kept (on the relay) and received again later. */
function isNotNow (err: unknown): err is Error {
  return err instanceof SkipBudgetExceededError || err instanceof FirstMessageBudgetError || err instanceof UnverifiedDeviceError
}
