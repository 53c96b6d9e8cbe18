/**
 * The ratchet on the receiving side: which of a device's sessions decrypts
 * an incoming message (the current one or an archived one), or a new
 * session started from a first message (PQXDH), and the budgets that bound
 * the work a sender can make us do: skipped message keys per sender
 * (skip-budget.ts), and first messages from strangers, which are answered
 * one at a time and all share one budget (first-message-budget.ts). Being
 * over a budget means "not now" and is thrown as such (the envelope is
 * received again later); anything else the ratchet refuses is a
 * RejectedEnvelopeError.
 */
import { decrypt, isPrekeyMessage, respondToSession } from '../crypto/session.js'
import type { SessionState, SkipLimits } from '../crypto/session.js'
import { decodePrekeyMessage } from '../crypto/pqxdh.js'
import type { BatchOp } from '../store/index.js'
import type { Crypto } from '../crypto/index.js'
import { promote } from './sessions.js'
import type { SessionRecord, Sessions } from './sessions.js'
import { FirstMessageBudgetError, RejectedEnvelopeError, SkipBudgetExceededError } from './errors.js'
import { SkipBudget, isAcceptedDevice } from './skip-budget.js'
import type { SkipBudgetInit } from './skip-budget.js'
import { FirstMessageBudget } from './first-message-budget.js'
import { SerialTasks } from './serial-tasks.js'
import { equalBytes } from './bytes.js'
import type { BucketInit } from './token-bucket.js'
import type { MessengerIdentity } from './init.js'
import type { Contacts } from './contacts.js'

/** A session's replay guard with its writes (see Sessions.replayGuard). */
export type ReplayGuard = ReturnType<Sessions['replayGuard']>

/** A decrypted ratchet message and the session state that decrypted it. */
export interface Decrypted {
  plaintext: Uint8Array
  state: SessionState
  /** Set when the message started a new session with a device we already had one with. */
  restarted?: boolean
}

/** What {@link InboxRatchet} works with. */
export interface InboxRatchetComponents {
  crypto: Crypto
  /** This device: the keys and prekeys first messages are answered with. */
  identity: Pick<MessengerIdentity, 'accountPublicKey' | 'identityKey' | 'prekeys'>
  sessions: Pick<Sessions, 'with'>
  /** Budgets depend on whether the sender is an accepted contact's device. */
  contacts: Pick<Contacts, 'get'>
  now(): number
  /** Skipped message keys senders may make us derive (default DEFAULT_SKIP_BUDGET). */
  skipBudget?: SkipBudgetInit
  /** First messages (PQXDH) answered for strangers, all together (default DEFAULT_FIRST_MESSAGE_BUDGET). */
  firstMessageBudget?: BucketInit
}

/** Decrypts incoming ratchet messages within the senders' budgets. */
export class InboxRatchet {
  /** Skipped message keys each sender may still make us derive. */
  private readonly skipBudget: SkipBudget
  /** First messages (PQXDH) are answered one at a time, each in its own event-loop task. */
  private readonly firstMessages = new SerialTasks()
  /** First messages from strangers answered (PQXDH runs), shared by all of them. */
  private readonly firstMessageBudget: FirstMessageBudget

  constructor (private readonly components: InboxRatchetComponents) {
    this.skipBudget = new SkipBudget(components.now, components.skipBudget)
    this.firstMessageBudget = new FirstMessageBudget(components.now, components.firstMessageBudget)
  }

  /**
   * Decrypts `inner` from the device with the identity key an envelope
   * proved, under that device's session lock. Resolves with the result, the
   * session's new state to write, and `release`, which unlocks the session
   * (the caller releases it once the message's commit is queued or refused).
   * On failure the replay guard is discarded: nothing of the message stays.
   */
  async decrypt (sender: { accountKey: Uint8Array, identityKey: Uint8Array }, inner: Uint8Array, guard: ReplayGuard): Promise<{ decrypted: Decrypted, sessionOps: BatchOp[], release: () => void }> {
    // The budget is looked up by the identity key the envelope proves; the account it names only finds the contact to check that key against.
    const contact = await this.components.contacts.get(sender.accountKey)
    const skip = this.skipBudget.limits(sender.identityKey, contact)
    const accepted = isAcceptedDevice(contact, sender.identityKey)
    try {
      const out = await this.components.sessions.with(sender.identityKey, async (record) => this.decryptWith(record, inner, guard, skip, accepted))
      return { decrypted: out.result, sessionOps: out.ops, release: out.release }
    } catch (err) {
      guard.discard()
      // Over budget is "not now", not "bad": the envelope is received again later.
      if (err instanceof SkipBudgetExceededError || err instanceof FirstMessageBudgetError) throw err
      throw new RejectedEnvelopeError(`ratchet refused the message: ${(err as Error).name}: ${(err as Error).message}`)
    }
  }

  /** Decrypts with the session the message belongs to, or starts one from an initial message. */
  private async decryptWith (record: SessionRecord, inner: Uint8Array, guard: ReplayGuard, skip: SkipLimits, accepted: boolean): Promise<{ record: SessionRecord, result: Decrypted }> {
    const crypto = this.components.crypto
    const states = [record.current, ...record.archived].filter((s): s is SessionState => s != null)
    if (isPrekeyMessage(inner)) {
      const { header } = decodePrekeyMessage(inner)
      const known = states.find(s => equalBytes(s.baseKey, header.baseKey))
      if (known != null) {
        const out = await decrypt(crypto, known, inner, undefined, skip)
        return { record: promote(record, out.state, known), result: out }
      }
      // PQXDH for a stranger: charged before any of its work (first-message-budget.ts).
      if (!accepted) this.firstMessageBudget.charge()
      const me = this.components.identity
      const out = await this.firstMessages.run(async () => respondToSession(crypto, {
        accountKey: me.accountPublicKey,
        identityKey: me.identityKey,
        prekeys: me.prekeys()
      }, inner, guard, { now: this.components.now(), skip }))
      // A session replacing one we had: the device may have lost the old one (a restored backup).
      return { record: promote(record, out.state), result: { ...out, restarted: record.current != null } }
    }
    let lastError: unknown = new Error('no session with this device')
    for (const state of states) {
      try {
        const out = await decrypt(crypto, state, inner, undefined, skip)
        return { record: promote(record, out.state, state), result: out }
      } catch (err) {
        lastError = err
      }
    }
    throw lastError
  }
}
