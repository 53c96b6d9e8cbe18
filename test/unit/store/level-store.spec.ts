import assert from 'node:assert/strict'
import { LevelStore, NAMESPACES } from '../../../src/store/index.js'
import type { Namespace } from '../../../src/store/index.js'
import { collect, tempStore } from './helpers.js'

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs)
const text = (s: string): Uint8Array => new TextEncoder().encode(s)

describe('store: LevelStore', () => {
  let store: LevelStore
  let cleanup: () => Promise<void>

  beforeEach(async () => { ({ store, cleanup } = await tempStore()) })
  afterEach(async () => { await cleanup() })

  it('puts, gets and deletes binary values, returning plain Uint8Arrays', async () => {
    const value = bytes(0, 255, 1, 254, 0)
    await store.put('contacts', bytes(0, 0, 1), value, { sync: true })
    const got = await store.get('contacts', bytes(0, 0, 1))
    assert.deepEqual(got, value)
    assert.equal(Object.getPrototypeOf(got), Uint8Array.prototype)
    await store.del('contacts', bytes(0, 0, 1))
    assert.equal(await store.get('contacts', bytes(0, 0, 1)), undefined)
  })

  it('keeps namespaces apart', async () => {
    for (const ns of NAMESPACES) await store.put(ns, text('k'), text(ns))
    for (const ns of NAMESPACES) {
      assert.deepEqual(await store.get(ns, text('k')), text(ns))
      assert.deepEqual((await collect(store.iterate(ns))).map(([, v]) => new TextDecoder().decode(v)), [ns])
    }
  })

  it('applies a batch across namespaces as one', async () => {
    await store.put('outbox', text('m1'), text('pending'))
    await store.batch([
      { type: 'del', namespace: 'outbox', key: text('m1') },
      { type: 'put', namespace: 'messages', key: text('m1'), value: text('body') },
      { type: 'put', namespace: 'dedup', key: text('m1'), value: bytes(1) },
      { type: 'put', namespace: 'sessions', key: text('alice'), value: text('ratchet state') }
    ], { sync: true })
    assert.equal(await store.get('outbox', text('m1')), undefined)
    assert.deepEqual(await store.get('messages', text('m1')), text('body'))
    assert.deepEqual(await store.get('dedup', text('m1')), bytes(1))
    assert.deepEqual(await store.get('sessions', text('alice')), text('ratchet state'))
  })

  it('writes nothing of a batch with one bad operation', async () => {
    await assert.rejects(store.batch([
      { type: 'put', namespace: 'messages', key: text('a'), value: text('x') },
      { type: 'put', namespace: 'dedup', key: new Uint8Array(0), value: text('x') }
    ]), { name: 'InvalidStoreKeyError' })
    await assert.rejects(store.batch([
      { type: 'put', namespace: 'messages', key: text('b'), value: text('x') },
      { type: 'put', namespace: 'nope' as Namespace, key: text('b'), value: text('x') }
    ]), { name: 'InvalidStoreKeyError' })
    assert.deepEqual(await collect(store.iterate('messages')), [])
  })

  it('iterates in byte order with ranges, reverse and limit', async () => {
    const keys = [bytes(2), bytes(0, 255), bytes(1), bytes(0), bytes(1, 0), bytes(255)]
    for (const k of keys) await store.put('relay', k, k)
    const all = (await collect(store.iterate('relay'))).map(([k]) => [...k])
    assert.deepEqual(all, [[0], [0, 255], [1], [1, 0], [2], [255]])
    const mid = (await collect(store.iterate('relay', { gte: bytes(1), lt: bytes(2) }))).map(([k]) => [...k])
    assert.deepEqual(mid, [[1], [1, 0]])
    const open = (await collect(store.iterate('relay', { gt: bytes(1), lte: bytes(2) }))).map(([k]) => [...k])
    assert.deepEqual(open, [[1, 0], [2]])
    const last2 = (await collect(store.iterate('relay', { reverse: true, limit: 2 }))).map(([k]) => [...k])
    assert.deepEqual(last2, [[255], [2]])
  })

  it('stops an iteration early on break, and opens again after close', async () => {
    for (let i = 0; i < 10; i++) await store.put('messages', bytes(i + 1), bytes(i))
    const seen: number[] = []
    for await (const [, value] of store.iterate('messages')) {
      seen.push(value[0])
      if (seen.length === 3) break
    }
    assert.deepEqual(seen, [0, 1, 2])
    await store.close()
    await store.open()
    assert.equal((await collect(store.iterate('messages'))).length, 10)
  })

  it('refuses operations when closed, and keeps data across reopen', async () => {
    await store.put('contacts', text('bob'), text('key'), { sync: true })
    await store.close()
    await assert.rejects(store.get('contacts', text('bob')), { name: 'StoreClosedError' })
    await assert.rejects(store.put('contacts', text('bob'), text('x')), { name: 'StoreClosedError' })
    const again = new LevelStore(store.location)
    await again.open()
    assert.deepEqual(await again.get('contacts', text('bob')), text('key'))
    await again.close()
  })
})
