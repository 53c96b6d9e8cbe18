import assert from 'node:assert/strict'
import fc from 'fast-check'
import { compare } from 'uint8arrays/compare'
import {
  conversationRange, decodeOrderKey, encodeOrderKey, messageKey, ORDER_KEY_BYTES, orderKeyOfMessageKey, prefixRange
} from '../../../src/store/index.js'
import type { LevelStore } from '../../../src/store/index.js'
import { collect, tempStore } from './helpers.js'

const partsArb = fc.record({
  lamport: fc.oneof(fc.nat({ max: 300 }), fc.nat({ max: Number.MAX_SAFE_INTEGER })),
  author: fc.uint8Array({ minLength: 32, maxLength: 32 }),
  id: fc.uint8Array({ minLength: 16, maxLength: 16 })
}, { noNullPrototype: true })

type Parts = typeof partsArb extends fc.Arbitrary<infer T> ? T : never

function compareParts (a: Parts, b: Parts): number {
  if (a.lamport !== b.lamport) return a.lamport < b.lamport ? -1 : 1
  return compare(a.author, b.author) !== 0 ? compare(a.author, b.author) : compare(a.id, b.id)
}

describe('store: order keys', () => {
  it('byte order of order keys is (lamport, author, id) order (property)', () => {
    fc.assert(fc.property(partsArb, partsArb, (a, b) => {
      const ka = encodeOrderKey(a.lamport, a.author, a.id)
      const kb = encodeOrderKey(b.lamport, b.author, b.id)
      assert.equal(Math.sign(compare(ka, kb)), Math.sign(compareParts(a, b)))
    }), { numRuns: 2000 })
  })

  it('orders lamport numerically across byte boundaries (255 < 256, 2^32 - 1 < 2^32)', () => {
    const author = new Uint8Array(32)
    const id = new Uint8Array(16)
    for (const [x, y] of [[255, 256], [65535, 65536], [2 ** 32 - 1, 2 ** 32], [9, 10]]) {
      assert.ok(compare(encodeOrderKey(x, author, id), encodeOrderKey(y, author, id)) < 0, `${x} < ${y}`)
    }
  })

  it('decodes what it encodes (property)', () => {
    fc.assert(fc.property(partsArb, p => {
      const key = encodeOrderKey(p.lamport, p.author, p.id)
      assert.equal(key.length, ORDER_KEY_BYTES)
      assert.deepEqual(decodeOrderKey(key), p)
    }))
  })

  it('refuses malformed parts', () => {
    const a = new Uint8Array(32)
    const id = new Uint8Array(16)
    assert.throws(() => encodeOrderKey(-1, a, id), { name: 'InvalidStoreKeyError' })
    assert.throws(() => encodeOrderKey(1.5, a, id), { name: 'InvalidStoreKeyError' })
    assert.throws(() => encodeOrderKey(2 ** 53, a, id), { name: 'InvalidStoreKeyError' })
    assert.throws(() => encodeOrderKey(1, new Uint8Array(31), id), { name: 'InvalidStoreKeyError' })
    assert.throws(() => encodeOrderKey(1, a, new Uint8Array(17)), { name: 'InvalidStoreKeyError' })
    assert.throws(() => decodeOrderKey(new Uint8Array(10)), { name: 'InvalidStoreKeyError' })
    assert.throws(() => messageKey(new Uint8Array(0), encodeOrderKey(1, a, id)), { name: 'InvalidStoreKeyError' })
    assert.throws(() => messageKey(new Uint8Array(256), encodeOrderKey(1, a, id)), { name: 'InvalidStoreKeyError' })
  })

  it('computes prefix ranges, including trailing 0xff bytes', () => {
    assert.deepEqual(prefixRange(Uint8Array.of(1, 2)), { gte: Uint8Array.of(1, 2), lt: Uint8Array.of(1, 3) })
    assert.deepEqual(prefixRange(Uint8Array.of(1, 255, 255)), { gte: Uint8Array.of(1, 255, 255), lt: Uint8Array.of(2) })
    assert.deepEqual(prefixRange(Uint8Array.of(255)), { gte: Uint8Array.of(255) })
  })

  describe('in LevelDB', () => {
    let store: LevelStore
    let cleanup: () => Promise<void>

    beforeEach(async () => { ({ store, cleanup } = await tempStore()) })
    afterEach(async () => { await cleanup() })

    it('iterates the messages of one conversation in conversation order, and pages after a key', async () => {
      const convA = Uint8Array.of(7, 7)
      const convB = Uint8Array.of(7) // a prefix of convA's bytes: the length byte keeps them apart
      const convC = Uint8Array.of(7, 7, 0)
      const parts = fc.sample(partsArb, { numRuns: 200, seed: 42 })
      const expected = [...parts].sort(compareParts)
      await store.batch(parts.flatMap(p => {
        const ok = encodeOrderKey(p.lamport, p.author, p.id)
        return [
          { type: 'put' as const, namespace: 'messages' as const, key: messageKey(convA, ok), value: p.id },
          { type: 'put' as const, namespace: 'messages' as const, key: messageKey(convB, ok), value: new Uint8Array(1) },
          { type: 'put' as const, namespace: 'messages' as const, key: messageKey(convC, ok), value: new Uint8Array(1) }
        ]
      }))
      const got = await collect(store.iterate('messages', conversationRange(convA)))
      assert.equal(got.length, parts.length)
      assert.deepEqual(got.map(([k]) => decodeOrderKey(orderKeyOfMessageKey(k))), expected)
      assert.deepEqual(got.map(([, v]) => v), expected.map(p => p.id))

      const tenth = orderKeyOfMessageKey(got[9][0])
      const page = await collect(store.iterate('messages', { ...conversationRange(convA, tenth), limit: 5 }))
      assert.deepEqual(page.map(([k]) => k), got.slice(10, 15).map(([k]) => k))
    })
  })
})
