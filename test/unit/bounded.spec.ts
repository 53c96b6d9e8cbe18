import assert from 'node:assert/strict'
import { setNewest } from '../../src/bounded.js'

describe('setNewest', () => {
  it('keeps at most max entries, dropping the one put in longest ago', () => {
    const map = new Map<string, number>()
    for (const [i, k] of ['a', 'b', 'c', 'd'].entries()) setNewest(map, k, i, 3)
    assert.deepEqual([...map], [['b', 1], ['c', 2], ['d', 3]])
  })

  it('makes an existing key the newest, without dropping anything for it', () => {
    const map = new Map([['a', 0], ['b', 1], ['c', 2]])
    setNewest(map, 'a', 9, 3)
    assert.deepEqual([...map], [['b', 1], ['c', 2], ['a', 9]])
    setNewest(map, 'd', 3, 3)
    assert.deepEqual([...map.keys()], ['c', 'a', 'd'])
  })

  it('shrinks a map already over the bound', () => {
    const map = new Map([['a', 0], ['b', 1], ['c', 2], ['d', 3]])
    setNewest(map, 'e', 4, 2)
    assert.deepEqual([...map.keys()], ['d', 'e'])
  })
})
