/**
 * One device's messenger state for unit tests of a single part (delivery,
 * outgoing, inbox, mailboxes...): contacts, sessions, history and outbox
 * over an in-memory store (memory-level), the group-commit writer, and a
 * log of the events the part emits. The part itself is built by the test
 * with these as its collaborators, and fakes for the rest.
 */
import { GroupCommitWriter } from '../../../src/store/index.js'
import type { LevelStore } from '../../../src/store/index.js'
import { Contacts } from '../../../src/messenger/contacts.js'
import { Sessions } from '../../../src/messenger/sessions.js'
import { History } from '../../../src/messenger/history.js'
import { Outbox } from '../../../src/messenger/outbox.js'
import { committer } from '../../../src/messenger/commit.js'
import type { Commit } from '../../../src/messenger/commit.js'
import { Outgoing } from '../../../src/messenger/outgoing.js'
import type { OutboxEntry } from '../../../src/messenger/outbox.js'
import type { MessengerEvent } from '../../../src/messenger/index.js'
import { encodeMessage, newMessageId } from '../../../src/messenger/model/index.js'
import type { Message, MessageBody } from '../../../src/messenger/model/index.js'
import { encodePayload } from '../../../src/messenger/payload.js'
import { remoteDevice } from '../../../src/messenger/devices.js'
import type { RemoteDevice } from '../../../src/messenger/devices.js'
import { sealEnvelope } from '../../../src/crypto/envelope.js'
import { fromHex } from '../../../src/messenger/bytes.js'
import type { Crypto } from '../../../src/crypto/index.js'
import { memoryStore } from './harness.js'
import type { TestDevice } from './harness.js'

/** A device's stores and writer, and the events emitted to it. */
export interface DeviceState {
  store: LevelStore
  contacts: Contacts
  sessions: Sessions
  history: History
  outbox: Outbox
  writer: GroupCommitWriter
  commit: Commit
  events: MessengerEvent[]
  emit(event: MessengerEvent): void
}

/** Fresh state in memory; `now` is the clock contacts are stamped with. */
export async function deviceState (crypto: Crypto, now: () => number): Promise<DeviceState> {
  const store = await memoryStore()
  const sessions = new Sessions(store, crypto)
  const writer = new GroupCommitWriter(store, { sync: true })
  const events: MessengerEvent[] = []
  return {
    store,
    contacts: new Contacts(store, now),
    sessions,
    history: new History(store),
    outbox: new Outbox(store),
    writer,
    commit: committer(writer, sessions),
    events,
    emit: (event) => { events.push(event) }
  }
}

/** A message from `from` with the given body. */
export function messageFrom (crypto: Crypto, from: TestDevice, body: MessageBody, lamport = 1, timestamp = Date.now()): Message {
  return { id: newMessageId(crypto), author: { account: from.accountKey, device: from.peerId.toMultihash().bytes }, timestamp, lamport, body }
}

/**
 * A sender's side for inbox and mailbox tests: `from` encrypts messages for
 * `to` under a real session (its own Outgoing over its own state) and
 * seals them as delivery would; what delivery would get is in `entries`.
 */
export class Sender {
  readonly entries: OutboxEntry[] = []
  private readonly outgoing: Outgoing
  readonly to: RemoteDevice

  constructor (private readonly crypto: Crypto, private readonly from: TestDevice, to: TestDevice, state: DeviceState, now: () => number) {
    this.to = remoteDevice(to.record)
    this.outgoing = new Outgoing({
      crypto,
      identity: from.identity,
      sessions: state.sessions,
      outbox: state.outbox,
      history: state.history,
      writer: state.writer,
      commit: state.commit,
      delivery: { add: (entry) => { this.entries.push(entry) } },
      now
    })
  }

  /** Encrypts `message` (as `name` calls itself) and returns its sealed envelope. */
  async envelope (message: Message, name = this.from.name): Promise<Uint8Array> {
    await this.outgoing.plaintext(this.to.accountKey, [this.to], encodePayload(name, encodeMessage(message)), message.id, 'content', [])
    const entry = this.entries.at(-1)
    if (entry?.inner == null) throw new Error('no entry was queued')
    return (await sealEnvelope(this.crypto, this.to.identityKey, { accountKey: this.from.accountKey, identityKey: this.from.identity.identityKey }, entry.inner, { id: fromHex(entry.envelopeId) })).envelope
  }
}
