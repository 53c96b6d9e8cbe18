/**
 * The sync tree's pure parts, as properties (fast-check): a path's key
 * range holds exactly the keys under the path; sums add and subtract in any
 * order; inputs decoded from the wire (Node Buffers, whose slice() is a
 * view) are never changed.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { ITEM_KEY_LENGTH, MAX_PATH_NIBBLES, itemHash, pathBounds } from '../../../../src/protocols/relay-sync/index.js'
import { SUM_WORDS, addHash, compareBytes, fingerprint, keyHasPath, pathOf } from '../../../../src/protocols/relay-sync/tree.js'

const key = fc.uint8Array({ minLength: ITEM_KEY_LENGTH, maxLength: ITEM_KEY_LENGTH })
const path = fc.array(fc.integer({ min: 0, max: 15 }), { maxLength: MAX_PATH_NIBBLES }).map(n => Uint8Array.from(n))

function inRange (k: Uint8Array, bounds: { gte: Uint8Array, lt?: Uint8Array }): boolean {
  return compareBytes(k, bounds.gte) >= 0 && (bounds.lt == null || compareBytes(k, bounds.lt) < 0)
}

describe('relay-sync: tree', () => {
  it('a path\'s range holds exactly the keys under it', () => {
    fc.assert(fc.property(key, path, (k, p) => {
      assert.equal(inRange(k, pathBounds(p)), keyHasPath(k, p))
    }), { numRuns: 2000 })
    // Keys that share a prefix with the path and then differ, on both sides of it.
    fc.assert(fc.property(key, fc.integer({ min: 1, max: MAX_PATH_NIBBLES }), (k, n) => {
      const p = pathOf(k, n)
      assert.ok(inRange(k, pathBounds(p)))
      assert.ok(keyHasPath(k, p))
    }), { numRuns: 500 })
  })

  it('a path decoded as a Node Buffer (slice is a view) is not changed by computing its range', () => {
    fc.assert(fc.property(path, (p) => {
      const backing = Buffer.alloc(p.length + 8)
      backing.set(p, 4)
      const decoded = backing.subarray(4, 4 + p.length)
      pathBounds(decoded)
      assert.deepEqual(Uint8Array.from(decoded), p)
    }), { numRuns: 500 })
  })

  it('sums are order-free: adding items in any order, and taking one out, agree', () => {
    fc.assert(fc.property(fc.array(key, { minLength: 1, maxLength: 20 }), (keys) => {
      const items = keys.map(k => ({ key: k, tombstone: k[0] % 2 === 0 }))
      const forward = new Uint32Array(SUM_WORDS)
      const backward = new Uint32Array(SUM_WORDS)
      for (const item of items) addHash(forward, 0, itemHash(item))
      for (const item of [...items].reverse()) addHash(backward, 0, itemHash(item))
      assert.deepEqual(fingerprint(forward, 0, items.length), fingerprint(backward, 0, items.length))
      addHash(forward, 0, itemHash(items[0]), true)
      const rest = new Uint32Array(SUM_WORDS)
      for (const item of items.slice(1)) addHash(rest, 0, itemHash(item))
      assert.deepEqual(fingerprint(forward, 0, items.length - 1), fingerprint(rest, 0, items.length - 1))
    }), { numRuns: 300 })
  })

  it('an envelope and the tombstone of the same key hash differently', () => {
    fc.assert(fc.property(key, (k) => {
      assert.notDeepEqual(itemHash({ key: k, tombstone: false }), itemHash({ key: k, tombstone: true }))
    }), { numRuns: 100 })
  })
})
