/**
 * Every provider gives identical results for the deterministic operations:
 * DH with fixed keys, Ed25519 signatures, AEAD with a fixed key and nonce,
 * hashes, HMAC, HKDF, ML-KEM key generation from a seed and decapsulation.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { toHex } from '../../../src/crypto/bytes.js'
import { providerCases } from './providers.js'
import type { ProviderCase } from './providers.js'

const bytes = (n: number): fc.Arbitrary<Uint8Array> => fc.uint8Array({ minLength: n, maxLength: n })

/** Runs `op` on every provider and asserts that all hex results are equal. */
async function same (op: (p: ProviderCase) => Promise<Uint8Array | boolean> | Uint8Array): Promise<void> {
  const results: string[] = []
  for (const p of providerCases) {
    const r = await op(p)
    results.push(typeof r === 'boolean' ? String(r) : toHex(r))
  }
  for (let i = 1; i < results.length; i++) assert.equal(results[i], results[0], providerCases[i].name)
}

describe('provider equivalence', () => {
  it('runs three providers', () => {
    assert.deepEqual(providerCases.map(p => p.name), ['noble', 'webcrypto', 'node'])
  })

  it('X25519 public keys and shared secrets', async () => {
    await fc.assert(fc.asyncProperty(bytes(32), bytes(32), async (a, b) => {
      const bPublic = await providerCases[0].crypto.x25519.publicKey(b)
      await same(p => p.crypto.x25519.publicKey(a))
      await same(p => p.crypto.x25519.sharedSecret(a, bPublic))
    }), { numRuns: 20 })
  })

  it('X25519 one-step ephemeral DH (where a provider has it) agrees with the other side\'s DH, and refuses a low-order point', async () => {
    const withEphemeral = providerCases.filter(p => p.crypto.x25519.ephemeral != null)
    assert.ok(withEphemeral.some(p => p.name === 'node'), 'node:crypto offers the one-step ephemeral DH')
    for (const p of withEphemeral) {
      const recipient = await providerCases[0].crypto.x25519.generateKeyPair()
      const eph = await p.crypto.x25519.ephemeral?.(recipient.publicKey)
      assert.ok(eph != null)
      const other = await providerCases[0].crypto.x25519.sharedSecret(recipient.secretKey, eph.publicKey)
      assert.equal(toHex(eph.sharedSecret), toHex(other), p.name)
      const again = await p.crypto.x25519.ephemeral?.(recipient.publicKey)
      assert.notEqual(toHex(again?.publicKey ?? new Uint8Array(0)), toHex(eph.publicKey), 'a fresh key each time')
      await assert.rejects(p.crypto.x25519.ephemeral?.(new Uint8Array(32)) ?? Promise.resolve(), { name: 'InvalidKeyError' })
    }
  })

  it('random bytes: every provider gives fresh, unshared arrays of the asked length, short and long', () => {
    for (const p of providerCases) {
      const seen = new Set<string>()
      const arrays: Uint8Array[] = []
      for (let i = 0; i < 600; i++) {
        const length = [12, 16, 32, 64, 65, 100][i % 6]
        const r = p.crypto.randomBytes(length)
        assert.equal(r.length, length)
        assert.equal(r.byteOffset, 0, `${p.name}: an array of its own`)
        assert.equal(r.buffer.byteLength, length, `${p.name}: not a view into a shared pool`)
        seen.add(toHex(r))
        arrays.push(r)
      }
      assert.equal(seen.size, 600, `${p.name}: no value twice`)
      const copy = arrays[1].slice()
      arrays[0].fill(0)
      assert.deepEqual(arrays[1], copy, `${p.name}: arrays do not share bytes`)
    }
  })

  it('Ed25519 public keys, signatures and verification', async () => {
    await fc.assert(fc.asyncProperty(bytes(32), fc.uint8Array({ maxLength: 300, size: 'max' }), async (seed, msg) => {
      const pub = await providerCases[0].crypto.ed25519.publicKey(seed)
      const sig = await providerCases[0].crypto.ed25519.sign(seed, msg)
      await same(p => p.crypto.ed25519.publicKey(seed))
      await same(p => p.crypto.ed25519.sign(seed, msg))
      await same(p => p.crypto.ed25519.verify(pub, msg, sig))
    }), { numRuns: 20 })
  })

  it('AES-256-GCM with a fixed key and nonce, and cross-provider decryption', async () => {
    await fc.assert(fc.asyncProperty(bytes(32), bytes(12), fc.uint8Array({ maxLength: 1500, size: 'max' }), fc.uint8Array({ maxLength: 40, size: 'max' }), async (key, nonce, pt, aad) => {
      await same(p => p.crypto.aead.encrypt(key, nonce, pt, aad))
      const ct = await providerCases[0].crypto.aead.encrypt(key, nonce, pt, aad)
      await same(p => p.crypto.aead.decrypt(key, nonce, ct, aad))
      const tampered = ct.slice()
      tampered[tampered.length - 1] ^= 0x80
      for (const p of providerCases) {
        await assert.rejects(p.crypto.aead.decrypt(key, nonce, tampered, aad), { name: 'DecryptionError' }, p.name)
      }
    }), { numRuns: 30 })
  })

  it('SHA-256, SHA-512, HMAC-SHA256 and HKDF-SHA256', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 200, size: 'max' }), fc.uint8Array({ maxLength: 100, size: 'max' }), fc.integer({ min: 1, max: 255 * 32 }), async (data, key, length) => {
      await same(p => p.crypto.hash.sha256(data))
      await same(p => p.crypto.hash.sha512(data))
      await same(p => p.crypto.hash.hmacSha256(key, data))
      await same(p => p.crypto.hash.hkdf(data, key, key, length))
    }), { numRuns: 50 })
  })

  it('ML-KEM-768 key generation from a seed, and decapsulation', async () => {
    await fc.assert(fc.asyncProperty(bytes(64), async (seed) => {
      await same(async p => (await p.crypto.kem.generateKeyPair(seed)).publicKey)
      for (const sender of providerCases) {
        const pub = (await sender.crypto.kem.generateKeyPair(seed)).publicKey
        const { cipherText, sharedSecret } = await sender.crypto.kem.encapsulate(pub)
        for (const p of providerCases) {
          assert.equal(toHex(await p.crypto.kem.decapsulate(seed, cipherText)), toHex(sharedSecret), `${sender.name} -> ${p.name}`)
        }
        // Implicit rejection (FIPS 203 §6.3): a flipped bit gives a different,
        // but provider-independent, secret.
        const flipped = cipherText.slice()
        flipped[0] ^= 1
        await same(p => p.crypto.kem.decapsulate(seed, flipped))
      }
    }), { numRuns: 5 })
  })

  it('rejects malformed keys with InvalidKeyError on every provider', async () => {
    for (const p of providerCases) {
      await assert.rejects(p.crypto.x25519.sharedSecret(new Uint8Array(31), new Uint8Array(32)), { name: 'InvalidKeyError' }, p.name)
      await assert.rejects(p.crypto.x25519.sharedSecret(new Uint8Array(32), new Uint8Array(33)), { name: 'InvalidKeyError' }, p.name)
      await assert.rejects(p.crypto.kem.generateKeyPair(new Uint8Array(63)), { name: 'InvalidKeyError' }, p.name)
      await assert.rejects(p.crypto.kem.encapsulate(new Uint8Array(1183)), { name: 'InvalidKeyError' }, p.name)
      await assert.rejects(p.crypto.kem.decapsulate(new Uint8Array(64), new Uint8Array(1087)), { name: 'DecryptionError' }, p.name)
      await assert.rejects(p.crypto.aead.encrypt(new Uint8Array(16), new Uint8Array(12), new Uint8Array(1)), { name: 'InvalidKeyError' }, p.name)
      assert.equal(await p.crypto.ed25519.verify(new Uint8Array(31), new Uint8Array(0), new Uint8Array(64)), false, p.name)
    }
  })
})
