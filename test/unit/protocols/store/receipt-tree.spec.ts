/**
 * The hash tree of tree receipts: RFC 9162's tree (the RFC 6962 test
 * vectors), inclusion proofs that lead every leaf to the root, and no proof
 * that leads anywhere else to it (another leaf, index or path).
 */
import assert from 'node:assert/strict'
import { fromHex, toHex } from '../../../../src/crypto/bytes.js'
import { MAX_PUT_BATCH } from '../../../../src/protocols/store/index.js'
import { MAX_RECEIPT_PATH, buildTree, leafHash, rootFromPath } from '../../../../src/protocols/store/receipt-tree.js'

// The leaves and roots of RFC 6962's reference tests (certificate-transparency's merkle tree tests), trees of 1 to 8 leaves.
const LEAVES = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex)
const ROOTS = [
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328'
]

function hex (bytes: Uint8Array | undefined): string | undefined {
  return bytes == null ? undefined : toHex(bytes)
}

describe('protocols/store receipt trees', () => {
  it('builds RFC 9162\'s tree: the RFC 6962 reference roots for 1 to 8 leaves', () => {
    assert.equal(MAX_PUT_BATCH, LEAVES.length, 'the vectors cover every batch size')
    for (let n = 1; n <= LEAVES.length; n++) {
      assert.equal(toHex(buildTree(LEAVES.slice(0, n).map(leafHash)).root), ROOTS[n - 1], `${n} leaves`)
    }
  })

  it('every leaf\'s path leads to the root, and no path is longer than the bound the decoder keeps', () => {
    for (let n = 1; n <= MAX_PUT_BATCH; n++) {
      const leaves = LEAVES.slice(0, n).map(leafHash)
      const tree = buildTree(leaves)
      for (let i = 0; i < n; i++) {
        assert.ok(tree.paths[i].length <= MAX_RECEIPT_PATH)
        assert.equal(hex(rootFromPath(leaves[i], i, n, tree.paths[i])), toHex(tree.root), `leaf ${i} of ${n}`)
      }
    }
  })

  // A path alone does not bind the tree's size (leaf 0 of 3 has the path of leaf 0 of 4): the relay signs the size with the root.
  it('no proof leads to the root from another leaf or index, nor with a path changed, cut or lengthened', () => {
    for (let n = 1; n <= MAX_PUT_BATCH; n++) {
      const leaves = LEAVES.slice(0, n).map(leafHash)
      const tree = buildTree(leaves)
      const root = toHex(tree.root)
      for (let i = 0; i < n; i++) {
        const path = tree.paths[i]
        const misses: Array<[string, Uint8Array | undefined]> = []
        for (let j = 0; j < n; j++) {
          if (j !== i) {
            misses.push([`leaf ${j} at index ${i}`, rootFromPath(leaves[j], i, n, path)])
            misses.push([`leaf ${i} at index ${j}`, rootFromPath(leaves[i], j, n, path)])
          }
        }
        for (let k = 0; k < path.length; k++) {
          const flipped = path.map(p => p.slice())
          flipped[k][k % 32] ^= 1
          misses.push([`sibling ${k} changed`, rootFromPath(leaves[i], i, n, flipped)])
          misses.push([`sibling ${k} cut`, rootFromPath(leaves[i], i, n, path.filter((_, at) => at !== k))])
          misses.push([`sibling ${k} short`, rootFromPath(leaves[i], i, n, path.map((p, at) => at === k ? p.subarray(1) : p))])
        }
        misses.push(['a sibling too many', rootFromPath(leaves[i], i, n, [...path, leaves[i]])])
        misses.push(['a negative index', rootFromPath(leaves[i], -1, n, path)])
        misses.push(['a fractional index', rootFromPath(leaves[i], i + 0.5, n, path)])
        for (const [what, computed] of misses) assert.notEqual(hex(computed), root, `${what} (leaf ${i} of ${n})`)
      }
    }
  })

  it('refuses what no batch can be: no leaves, more than a batch, an index past the end, a path past the bound', () => {
    assert.throws(() => buildTree([]), RangeError)
    const leaf = leafHash(new Uint8Array(1))
    assert.equal(rootFromPath(leaf, 0, 0, []), undefined)
    assert.equal(rootFromPath(leaf, 0, MAX_PUT_BATCH + 1, [leaf, leaf, leaf, leaf]), undefined)
    assert.equal(rootFromPath(leaf, 2, 2, [leaf]), undefined)
    assert.equal(rootFromPath(leaf, 0, 1, Array.from({ length: MAX_RECEIPT_PATH + 1 }, () => leaf)), undefined)
  })
})
