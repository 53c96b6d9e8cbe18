import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { createCrypto } from '../../../src/crypto/index.js'
import { parseHandle } from '../../../src/identity/handle.js'
import { handleProviderCid, handleTag } from '../../../src/identity/tag.js'

const crypto = createCrypto()

/** An independent RFC 4648 base32 encoder (lower case, no padding) for reference. */
function base32Reference (bytes: Uint8Array): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567'
  let bits = 0
  let value = 0
  let out = ''
  for (const byte of bytes) {
    value = (value << 8) | byte
    bits += 8
    while (bits >= 5) {
      out += alphabet[(value >>> (bits - 5)) & 31]
      bits -= 5
    }
  }
  if (bits > 0) out += alphabet[(value << (5 - bits)) & 31]
  return out
}

function referenceTag (name: string, publicKey: Uint8Array): string {
  const digest = createHash('sha256').update('starling-handle-tag-v2').update(Uint8Array.of(name.length)).update(name).update(publicKey).digest()
  return base32Reference(digest).slice(0, 10)
}

describe('identity/tag', () => {
  it('the reference base32 encoder matches RFC 4648 section 10', () => {
    const vectors: Array<[string, string]> = [['f', 'my'], ['fo', 'mzxq'], ['foo', 'mzxw6'], ['foob', 'mzxw6yq'], ['fooba', 'mzxw6ytb'], ['foobar', 'mzxw6ytboi']]
    for (const [input, expected] of vectors) assert.equal(base32Reference(new TextEncoder().encode(input)), expected)
  })

  it('is the first 10 base32 characters of SHA-256(label || len(name) || name || key), by an independent computation', async () => {
    for (const name of ['alice', 'bob', 'x_1', 'a'.repeat(30)]) {
      const { publicKey } = await crypto.ed25519.generateKeyPair()
      assert.equal(handleTag(crypto, name, publicKey), referenceTag(name, publicKey))
    }
  })

  it('a fixed known answer (the formula cannot drift unnoticed)', () => {
    const key = Uint8Array.from({ length: 32 }, (_, i) => i)
    assert.equal(handleTag(crypto, 'alice', key), referenceTag('alice', key))
    // Computed apart: python3 hashlib.sha256(b'starling-handle-tag-v2' + bytes([5]) + b'alice' + bytes(range(32))), base32, lower case.
    assert.equal(handleTag(crypto, 'alice', key), 'psbwups364')
  })

  it('is deterministic, 10 characters of [a-z2-7], and parses as a tag', async () => {
    const { publicKey } = await crypto.ed25519.generateKeyPair()
    const tag = handleTag(crypto, 'alice', publicKey)
    assert.equal(handleTag(crypto, 'Alice', Uint8Array.from(publicKey)), tag)
    assert.match(tag, /^[a-z2-7]{10}$/)
    assert.deepEqual(parseHandle(`alice~${tag}`), { name: 'alice', tag })
  })

  it('differs between keys', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ minLength: 32, maxLength: 32 }), (a, b) => {
      fc.pre(Buffer.compare(a, b) !== 0)
      assert.notEqual(handleTag(crypto, 'alice', a), handleTag(crypto, 'alice', b))
      assert.equal(handleTag(crypto, 'alice', a), referenceTag('alice', a))
    }))
  })

  it('differs between names for one key: one candidate key is a try against one name only', () => {
    const names = fc.stringMatching(/^[a-z0-9_]{3,30}$/)
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), names, names, (key, a, b) => {
      fc.pre(a !== b)
      assert.notEqual(handleTag(crypto, a, key), handleTag(crypto, b, key))
    }))
  })

  it('refuses a key that is not 32 bytes, and an invalid name', () => {
    assert.throws(() => handleTag(crypto, 'alice', new Uint8Array(31)), { name: 'RangeError' })
    assert.throws(() => handleTag(crypto, '\u0430lice', new Uint8Array(32)), { name: 'InvalidHandleError' })
  })

  describe('handleProviderCid', () => {
    it('is CIDv1 raw sha2-256 of "starling-handle:" + name, by an independent computation', async () => {
      const expected = CID.createV1(raw.code, await sha256.digest(new TextEncoder().encode('starling-handle:alice')))
      const cid = handleProviderCid(crypto, 'alice')
      assert.equal(cid.toString(), expected.toString())
      assert.equal(cid.version, 1)
      assert.equal(cid.code, raw.code)
    })

    it('is the same for every spelling that folds to the same name', () => {
      assert.equal(handleProviderCid(crypto, 'Alice').toString(), handleProviderCid(crypto, 'alice').toString())
      assert.notEqual(handleProviderCid(crypto, 'alice').toString(), handleProviderCid(crypto, 'alicf').toString())
    })

    it('refuses an invalid name', () => {
      assert.throws(() => handleProviderCid(crypto, '\u0430lice'), { name: 'InvalidHandleError' })
    })
  })
})
