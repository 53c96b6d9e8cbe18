import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createCrypto, LARGE_AEAD_BYTES, LARGE_HASH_BYTES, MEASURED_PREFERENCE, nobleProvider, webCryptoProvider } from '../../../src/crypto/index.js'
import type { CryptoProvider } from '../../../src/crypto/index.js'
import { nodeProvider } from '../../../node/crypto/node-provider.js'
import { toHex } from '../../../src/crypto/bytes.js'

describe('createCrypto', () => {
  it('chooses each primitive by the measured preference, whatever the order given', () => {
    const c = createCrypto([nobleProvider(), nodeProvider()])
    assert.equal(c.name, 'x25519:node,ed25519:node,aead:node,aeadLarge:node,kem:node,hash:noble,hashLarge:node')
    // Without node:crypto (a browser), AEAD and hashes are noble's.
    assert.equal(createCrypto([nobleProvider()]).name, 'x25519:noble,ed25519:noble,aead:noble,aeadLarge:noble,kem:noble,hash:noble,hashLarge:noble')
  })

  it('splits AEAD by size and both halves interoperate', async () => {
    const counted: string[] = []
    const spy = (p: CryptoProvider): CryptoProvider => ({
      ...p,
      aead: {
        encrypt: async (...args) => { counted.push(p.name); return await p.aead!.encrypt(...args) },
        decrypt: async (...args) => { counted.push(p.name); return await p.aead!.decrypt(...args) }
      }
    })
    // A preference that puts small inputs on one provider and large ones on another.
    const c = createCrypto([spy(nodeProvider()), spy(nobleProvider())], { preference: { ...MEASURED_PREFERENCE, aead: ['noble', 'node'], aeadLarge: ['node', 'noble'] } })
    const key = new Uint8Array(32).fill(7)
    const nonce = new Uint8Array(12)
    for (const length of [10, LARGE_AEAD_BYTES - 17, LARGE_AEAD_BYTES, 4000]) {
      const pt = new Uint8Array(length).fill(1)
      const ct = await c.aead.encrypt(key, nonce, pt)
      assert.equal(toHex(await c.aead.decrypt(key, nonce, ct)), toHex(pt))
    }
    assert.deepEqual(counted, ['noble', 'noble', 'noble', 'noble', 'node', 'node', 'node', 'node'])
  })

  it('splits SHA-256 and SHA-512 by size (the same digests either way); HMAC and HKDF stay with the small-input provider', () => {
    const counted: string[] = []
    const spy = (p: CryptoProvider): CryptoProvider => ({
      ...p,
      hash: {
        ...p.hash!,
        sha256: (data) => { counted.push(`${p.name} sha256`); return p.hash!.sha256(data) },
        sha512: (data) => { counted.push(`${p.name} sha512`); return p.hash!.sha512(data) },
        hmacSha256: (key, data) => { counted.push(`${p.name} hmac`); return p.hash!.hmacSha256(key, data) }
      }
    })
    const c = createCrypto([spy(nodeProvider()), spy(nobleProvider())])
    const reference = nobleProvider().hash!
    for (const length of [0, LARGE_HASH_BYTES - 1, LARGE_HASH_BYTES, 70_000]) {
      const data = new Uint8Array(length).map((_, i) => i * 7)
      assert.equal(toHex(c.hash.sha256(data)), toHex(reference.sha256(data)))
      assert.equal(toHex(c.hash.sha512(data)), toHex(reference.sha512(data)))
    }
    c.hash.hmacSha256(new Uint8Array(32), new Uint8Array(1000))
    assert.deepEqual(counted, [
      'noble sha256', 'noble sha512', 'noble sha256', 'noble sha512',
      'node sha256', 'node sha512', 'node sha256', 'node sha512',
      'noble hmac'
    ])
  })

  // The split sends a view of a caller's buffer to node:crypto: any bytes, at any offset of any backing store, give SHA-2's digest.
  it('the split facade gives SHA-256 and SHA-512 of any input, at any offset, in a shared buffer too (property)', () => {
    const c = createCrypto([nodeProvider(), nobleProvider()])
    const reference = nobleProvider().hash!
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2 * LARGE_HASH_BYTES + 64, size: 'max' }), fc.nat(7), fc.boolean(), (bytes, offset, shared) => {
      const backing = new Uint8Array(shared ? new SharedArrayBuffer(offset + bytes.length + 3) : new ArrayBuffer(offset + bytes.length + 3)).fill(0xa5)
      backing.set(bytes, offset)
      const data = backing.subarray(offset, offset + bytes.length)
      assert.equal(toHex(c.hash.sha256(data)), toHex(reference.sha256(bytes)))
      assert.equal(toHex(c.hash.sha512(data)), toHex(reference.sha512(bytes)))
    }), { numRuns: 300 })
    // And the table-driven hex is the byte-by-byte one.
    const every = Uint8Array.from({ length: 256 }, (_, b) => b)
    assert.equal(toHex(every), Array.from(every, b => b.toString(16).padStart(2, '0')).join(''))
  })

  it("'as-given' takes the first provider that has the primitive", () => {
    assert.equal(createCrypto([nobleProvider(), nodeProvider()], { preference: 'as-given' }).name.split(',').every(p => p.endsWith(':noble')), true)
  })
})

describe('webCryptoProvider', () => {
  it('includes only the algorithms the platform passes its known-answer checks for', async () => {
    const refusing = new Proxy({}, { get: () => async () => { throw new Error('NotSupportedError') } }) as SubtleCrypto
    const none = await webCryptoProvider(refusing)
    assert.deepEqual([none.x25519, none.ed25519, none.aead, none.kem, none.hash], [undefined, undefined, undefined, undefined, undefined])
    const here = await webCryptoProvider()
    assert.ok(here.x25519 != null && here.ed25519 != null && here.aead != null, 'Node 24 has X25519, Ed25519 and AES-GCM')
    assert.equal(here.hash, undefined, 'hashes are never taken from WebCrypto (async only)')
  })
})
