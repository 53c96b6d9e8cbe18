/**
 * Receipts on the receiving side: which incoming messages get a delivery
 * receipt, and which the user has not read yet. A read receipt names the
 * unread ones; they are then marked read (`read/<id>` in the `dedup`
 * namespace), so that the next read receipt does not name them again.
 */
import { concat, equalBytes, utf8 } from './bytes.js'
import { conversationOfMessageKey, ReadCache } from '../store/index.js'
import type { BatchOp, Store } from '../store/index.js'
import type { MessengerIdentity } from './init.js'
import { conversationId } from './history.js'
import type { History } from './history.js'
import type { Commit } from './commit.js'

const READ = utf8('read/')

/** Conversations whose unread messages are kept (as the history keeps their messages). */
const MAX_CACHED_UNREAD = 32

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

/**
 * Which incoming messages are read. The unread ones of the conversations
 * asked about last are kept until a write touches them (a message of that
 * conversation, or any read mark): a screen asks on every event.
 */
export class ReadMarks {
  private readonly cached = new ReadCache<Uint8Array[]>(MAX_CACHED_UNREAD)

  constructor (private readonly components: ReadMarksComponents) {}

  /** Told of every write to the store, before and after it is applied (src/store/watched-store.ts). */
  written (ops: readonly BatchOp[]): void {
    for (const op of ops) {
      if (op.namespace === 'messages') this.cached.drop(conversationId(conversationOfMessageKey(op.key)))
      else if (op.namespace === 'dedup' && op.key.length >= READ.length && equalBytes(op.key.subarray(0, READ.length), READ)) this.cached.drop()
    }
  }

  /** Incoming messages of a conversation not yet marked read (shared with the cache: read, never change). */
  async unread (conversation: Uint8Array): Promise<readonly Uint8Array[]> {
    return await this.cached.get(conversationId(conversation), async () => {
      const { identity, store, history } = this.components
      const out: Uint8Array[] = []
      for (const message of await history.messages(conversation)) {
        if (equalBytes(message.author.account, identity.accountPublicKey)) continue
        if (!RECEIPTED.has(message.body.kind)) continue
        if ((await store.get('dedup', concat(READ, message.id))) != null) continue
        out.push(message.id)
      }
      return out
    })
  }

  /** Remembers that these messages were read. */
  async mark (ids: readonly Uint8Array[]): Promise<void> {
    await this.components.commit(ids.map(id => ({ type: 'put', namespace: 'dedup', key: concat(READ, id), value: new Uint8Array([1]) })))
  }
}
