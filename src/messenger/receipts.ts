/**
 * Receipts on the receiving side: which incoming messages get a delivery
 * receipt, and which the user has not read yet. A read receipt names the
 * unread ones; they are then marked read (`read/<id>` in the `dedup`
 * namespace), so that the next read receipt does not name them again.
 */
import { concat, equalBytes, utf8 } from './bytes.js'
import type { Store } from '../store/index.js'
import type { MessengerIdentity } from './init.js'
import type { History } from './history.js'
import type { Commit } from './commit.js'

const READ = utf8('read/')

/**
 * Message kinds that get a delivery receipt when they came through a relay:
 * what the user sees. Receipts and typing indicators get none (a receipt
 * for a receipt would be answered in turn, without end).
 */
export const RECEIPTED = new Set(['text', 'reply', 'reaction', 'edit', 'delete', 'attachment', 'call'])

/** What {@link ReadMarks} works with. */
export interface ReadMarksComponents {
  /** This device's account: our own messages are never unread. */
  identity: Pick<MessengerIdentity, 'accountPublicKey'>
  /** Read marks (`dedup` namespace). */
  store: Pick<Store, 'get'>
  history: Pick<History, 'messages'>
  commit: Commit
}

/** Which incoming messages are read. */
export class ReadMarks {
  constructor (private readonly components: ReadMarksComponents) {}

  /** Incoming messages of a conversation not yet marked read. */
  async unread (conversation: Uint8Array): Promise<Uint8Array[]> {
    const { identity, store, history } = this.components
    const out: Uint8Array[] = []
    for (const message of await history.messages(conversation)) {
      if (equalBytes(message.author.account, identity.accountPublicKey)) continue
      if (!RECEIPTED.has(message.body.kind)) continue
      if ((await store.get('dedup', concat(READ, message.id))) != null) continue
      out.push(message.id)
    }
    return out
  }

  /** Remembers that these messages were read. */
  async mark (ids: Uint8Array[]): Promise<void> {
    await this.components.commit(ids.map(id => ({ type: 'put', namespace: 'dedup', key: concat(READ, id), value: new Uint8Array([1]) })))
  }
}
