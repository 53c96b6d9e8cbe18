/**
 * Published known answers through the facade, on every provider:
 * RFC 7748 (X25519), RFC 8032 (Ed25519), RFC 5869 (HKDF-SHA256).
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fromHex, toHex } from '../../../src/crypto/bytes.js'
import { providerCases } from './providers.js'

function fixture<T> (name: string): T {
  return JSON.parse(readFileSync(new URL(`../../fixtures/crypto/${name}`, import.meta.url), 'utf8')) as T
}

interface Rfc7748 {
  scalarMult: Array<{ scalar: string, u: string, output: string }>
  iterated: { start: string, after1: string, after1000: string }
  dh: { alicePrivate: string, alicePublic: string, bobPrivate: string, bobPublic: string, shared: string }
}
interface Rfc8032 { vectors: Array<{ name: string, secretKey: string, publicKey: string, message: string, signature: string }> }
interface Rfc5869 { vectors: Array<{ name: string, ikm: string, salt: string, info: string, length: number, okm: string }> }

const rfc7748 = fixture<Rfc7748>('rfc7748.json')
const rfc8032 = fixture<Rfc8032>('rfc8032.json')
const rfc5869 = fixture<Rfc5869>('rfc5869.json')

for (const { name, crypto } of providerCases) {
  describe(`known answers (${name})`, () => {
    it('X25519 scalar multiplication, RFC 7748 §5.2', async () => {
      for (const v of rfc7748.scalarMult) {
        assert.equal(toHex(await crypto.x25519.sharedSecret(fromHex(v.scalar), fromHex(v.u))), v.output)
      }
    })

    it('X25519 iterated 1 and 1,000 times, RFC 7748 §5.2', async () => {
      let k = fromHex(rfc7748.iterated.start)
      let u = k
      for (let i = 1; i <= 1000; i++) {
        const next = await crypto.x25519.sharedSecret(k, u)
        u = k
        k = next
        if (i === 1) assert.equal(toHex(k), rfc7748.iterated.after1)
      }
      assert.equal(toHex(k), rfc7748.iterated.after1000)
    })

    it('X25519 Diffie-Hellman, RFC 7748 §6.1', async () => {
      const v = rfc7748.dh
      assert.equal(toHex(await crypto.x25519.publicKey(fromHex(v.alicePrivate))), v.alicePublic)
      assert.equal(toHex(await crypto.x25519.publicKey(fromHex(v.bobPrivate))), v.bobPublic)
      assert.equal(toHex(await crypto.x25519.sharedSecret(fromHex(v.alicePrivate), fromHex(v.bobPublic))), v.shared)
      assert.equal(toHex(await crypto.x25519.sharedSecret(fromHex(v.bobPrivate), fromHex(v.alicePublic))), v.shared)
    })

    it('X25519 rejects a low-order public key (all-zero shared secret)', async () => {
      await assert.rejects(crypto.x25519.sharedSecret(fromHex(rfc7748.dh.alicePrivate), new Uint8Array(32)), { name: 'InvalidKeyError' })
    })

    it('Ed25519 keys, signatures and verification, RFC 8032 §7.1', async () => {
      for (const v of rfc8032.vectors) {
        const sk = fromHex(v.secretKey)
        const msg = fromHex(v.message)
        assert.equal(toHex(await crypto.ed25519.publicKey(sk)), v.publicKey, v.name)
        assert.equal(toHex(await crypto.ed25519.sign(sk, msg)), v.signature, v.name)
        assert.equal(await crypto.ed25519.verify(fromHex(v.publicKey), msg, fromHex(v.signature)), true, v.name)
        const bad = fromHex(v.signature)
        bad[0] ^= 1
        assert.equal(await crypto.ed25519.verify(fromHex(v.publicKey), msg, bad), false, v.name)
      }
    })

    it('HKDF-SHA256, RFC 5869 appendix A', () => {
      for (const v of rfc5869.vectors) {
        assert.equal(toHex(crypto.hash.hkdf(fromHex(v.ikm), fromHex(v.salt), fromHex(v.info), v.length)), v.okm, v.name)
      }
    })
  })
}
