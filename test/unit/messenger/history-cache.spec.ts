/**
 * The history keeps the decoded messages and views of the conversations
 * read last (src/messenger/history.ts): every write through the watched
 * store shows at once, a read that overlapped a write keeps nothing stale,
 * and the cache is bounded.
 */
import assert from 'node:assert/strict'
import { History, MAX_CACHED_CONVERSATIONS } from '../../../src/messenger/history.js'
import { watchWrites } from '../../../src/store/index.js'
import type { BatchOp, Store } from '../../../src/store/index.js'
import type { Author, Message } from '../../../src/messenger/model/index.js'
import { ReadMarks } from '../../../src/messenger/receipts.js'
import { memoryStore } from './harness.js'
import { makeAuthor } from './model/arbitraries.js'

describe('messenger: the history cache', function () {
  let alice: Author
  let counter = 0
  before(async () => { alice = await makeAuthor(1) })

  function text (lamport: number, words: string): Message {
    const id = new Uint8Array(16)
    new DataView(id.buffer).setUint32(12, ++counter)
    return { id, author: alice, timestamp: 1_700_000_000_000 + lamport, lamport, body: { kind: 'text', text: words } }
  }

  async function setUp (): Promise<{ raw: Store, store: Store, history: History }> {
    const raw = await memoryStore()
    const history = new History(raw)
    const store = watchWrites(raw, (ops) => { history.written(ops) })
    return { raw, store, history }
  }
  const conversation = (n: number): Uint8Array => new Uint8Array(32).fill(n)
  const texts = async (history: History, c: Uint8Array): Promise<string[]> => (await history.view(c)).messages.map(m => m.text ?? '')

  it('shows every message written through the watched store at once, in a view read before', async () => {
    const { store, history } = await setUp()
    const c = conversation(1)
    await store.batch(history.putOps(c, text(1, 'one')))
    assert.deepEqual(await texts(history, c), ['one'])
    await store.batch(history.putOps(c, text(2, 'two')))
    assert.deepEqual(await texts(history, c), ['one', 'two'])
    assert.equal((await history.messages(c)).length, 2)
  })

  it('reads the store again only after a write: the same view object until then', async () => {
    const { store, history } = await setUp()
    const c = conversation(2)
    await store.batch(history.putOps(c, text(1, 'one')))
    const first = await history.view(c)
    assert.equal(await history.view(c), first)
    await store.batch(history.putOps(conversation(3), text(1, 'elsewhere')))
    assert.equal(await history.view(c), first, 'a write to another conversation keeps this one')
    await store.batch(history.putOps(c, text(2, 'two')))
    assert.notEqual(await history.view(c), first)
  })

  it('a read that overlapped a write keeps nothing: the next read sees the write', async () => {
    const { raw, store, history } = await setUp()
    const c = conversation(4)
    await store.batch(history.putOps(c, text(1, 'one')))
    // A write that lands while a read is iterating: the store is slowed so that they overlap.
    let release!: () => void
    const gate = new Promise<void>(resolve => { release = resolve })
    const slow: Store = { ...raw, batch: async (ops: readonly BatchOp[], options) => { await gate; await raw.batch(ops, options) } }
    const slowStore = watchWrites(slow, (ops) => { history.written(ops) })
    const writing = slowStore.batch(history.putOps(c, text(2, 'two')))
    const reading = history.view(c)
    assert.deepEqual((await reading).messages.map(m => m.text), ['one'], 'read before the write landed')
    release()
    await writing
    assert.deepEqual(await texts(history, c), ['one', 'two'])
  })

  it('keeps at most MAX_CACHED_CONVERSATIONS, dropping the least recently read', async () => {
    const { store, history } = await setUp()
    const views = []
    for (let n = 0; n <= MAX_CACHED_CONVERSATIONS; n++) {
      await store.batch(history.putOps(conversation(10 + n), text(1, `c${n}`)))
      views.push(await history.view(conversation(10 + n)))
    }
    assert.notEqual(await history.view(conversation(10)), views[0], 'the oldest was dropped')
    assert.equal(await history.view(conversation(10 + MAX_CACHED_CONVERSATIONS)), views[MAX_CACHED_CONVERSATIONS], 'the newest is kept')
  })

  it('the unread messages of a conversation follow new messages and read marks at once', async () => {
    const { raw, history } = await setUp()
    const me = await makeAuthor(9)
    const marks = new ReadMarks({ identity: { accountPublicKey: me.account }, store: raw, history, commit: async (ops) => { await watched.batch(ops) } })
    const watched = watchWrites(raw, (ops) => { history.written(ops); marks.written(ops) })
    const c = conversation(5)
    const a = text(1, 'a')
    await watched.batch(history.putOps(c, a))
    assert.deepEqual(await marks.unread(c), [a.id])
    const b = text(2, 'b')
    await watched.batch(history.putOps(c, b))
    assert.deepEqual(await marks.unread(c), [a.id, b.id])
    await watched.batch([{ type: 'put', namespace: 'dedup', key: new TextEncoder().encode('unrelated'), value: Uint8Array.of(1) }])
    const kept = await marks.unread(c)
    assert.equal(await marks.unread(c), kept, 'kept while nothing it depends on was written')
    await marks.mark([a.id])
    assert.deepEqual(await marks.unread(c), [b.id])
  })
})
