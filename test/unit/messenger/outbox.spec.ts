import assert from 'node:assert/strict'
import { MAX_CACHED_STATUSES, Outbox } from '../../../src/messenger/outbox.js'
import { concat, jsonBytes, toHex, u64, utf8 } from '../../../src/messenger/bytes.js'
import type { LevelStore } from '../../../src/store/index.js'
import { tempStore } from '../store/helpers.js'

const fields = {
  messageId: '01'.repeat(16),
  conversation: '02'.repeat(32),
  device: '12D3KooWExample',
  envelopeId: '03'.repeat(16),
  kind: 'content' as const,
  createdAt: 5
}

describe('messenger: Outbox', () => {
  let store: LevelStore
  let cleanup: () => Promise<void>
  beforeEach(async () => { ({ store, cleanup } = await tempStore()) })
  afterEach(async () => { await cleanup() })

  describe('entries', () => {
  it('store the session message with the device key, read back byte for byte', async () => {
    const inner = new Uint8Array(1100).map((_, i) => i % 251)
    const { entry, op } = new Outbox(store).add({ ...fields, identityKey: '04'.repeat(32), inner })
    await store.batch([op])
    const [loaded] = await new Outbox(store).load()
    assert.deepEqual({ ...loaded, inner: toHex(loaded.inner as Uint8Array) }, { ...entry, inner: toHex(inner) })
    assert.equal(loaded.envelope, undefined)
  })

  it('read entries stored before sealing moved to delivery as sealed envelopes', async () => {
    // The earlier layout: u32 JSON length | JSON fields (no identityKey) | envelope bytes.
    const envelope = new Uint8Array(401).fill(7)
    const json = jsonBytes({ ...fields, seq: 9, relays: ['relay-a'] })
    const value = new Uint8Array(4 + json.length + envelope.length)
    new DataView(value.buffer).setUint32(0, json.length)
    value.set(json, 4)
    value.set(envelope, 4 + json.length)
    await store.batch([{ type: 'put', namespace: 'outbox', key: concat(utf8('q/'), u64(9)), value }])
    const outbox = new Outbox(store)
    const [loaded] = await outbox.load()
    assert.equal(toHex(loaded.envelope as Uint8Array), toHex(envelope))
    assert.equal(loaded.inner, undefined)
    assert.deepEqual(loaded.relays, ['relay-a'])
    // Written back (e.g. relays updated) it keeps its envelope; new entries number after it.
    await store.batch([outbox.putOp(loaded)])
    assert.equal(toHex((await new Outbox(store).load())[0].envelope as Uint8Array), toHex(envelope))
    assert.equal(outbox.add({ ...fields, identityKey: '04'.repeat(32), inner: new Uint8Array(1) }).entry.seq, 10)
  })

  it('refuses an entry with nothing to send', () => {
    assert.throws(() => new Outbox(store).add({ ...fields, identityKey: '04'.repeat(32) }), TypeError)
  })
  })

  describe('states', () => {
  const id = (n: number): Uint8Array => { const b = new Uint8Array(16); new DataView(b.buffer).setUint32(0, n); return b }

  it('move forward only, and past the in-memory bound are read back from the store', async () => {
    const outbox = new Outbox(store)
    const first = await outbox.statusOp(id(0), 'delivered', 0, 1, true)
    assert.ok(first != null)
    await store.batch([first.op])
    assert.equal(await outbox.statusOp(id(0), 'relayed', 2, 2), undefined, 'a late custody receipt does not undo delivered')
    // Enough other messages to push the first out of memory.
    for (let n = 1; n <= MAX_CACHED_STATUSES; n++) await outbox.statusOp(id(n), 'queued', 0, 3, true)
    assert.equal(outbox.cachedStatuses, MAX_CACHED_STATUSES)
    assert.equal(await outbox.statusOp(id(0), 'relayed', 2, 4), undefined, 'read back from the store: still delivered')
    const read = await outbox.statusOp(id(0), 'read', 0, 5)
    assert.equal(read?.status.state, 'read')
  })
})
})
