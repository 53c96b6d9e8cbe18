import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { fromHex, toHex, utf8 } from '../../../src/crypto/bytes.js'
import { compareScannable, fingerprint, safetyNumber } from '../../../src/crypto/safety-number.js'
import { daemonCrypto as crypto, providerCases } from './providers.js'

const v = JSON.parse(readFileSync(new URL('../../fixtures/crypto/libsignal-fingerprint.json', import.meta.url), 'utf8')) as Record<string, string | number>

describe('safety numbers', () => {
  for (const { name, crypto: c } of providerCases) {
    it(`match libsignal's published fingerprint vector (${name})`, () => {
      const alice = { key: fromHex(v.aliceIdentity as string), stableId: utf8(v.aliceStableId as string) }
      const bob = { key: fromHex(v.bobIdentity as string), stableId: utf8(v.bobStableId as string) }
      const a = fingerprint(c, v.version as number, alice, bob, v.iterations as number)
      const b = fingerprint(c, v.version as number, bob, alice, v.iterations as number)
      assert.equal(a.digits, v.displayable)
      assert.equal(b.digits, v.displayable)
      assert.equal(toHex(a.scannable), v.aliceScannable)
      assert.equal(toHex(b.scannable), v.bobScannable)
      assert.equal(compareScannable(a.scannable, b.scannable), true)
      assert.equal(compareScannable(a.scannable, a.scannable), false)
    })
  }

  it('gives both Starling accounts the same 60 digits, and a different number for a third key', async () => {
    const [a, b, m] = [await crypto.ed25519.generateKeyPair(), await crypto.ed25519.generateKeyPair(), await crypto.ed25519.generateKeyPair()]
    const ab = safetyNumber(crypto, a.publicKey, b.publicKey)
    const ba = safetyNumber(crypto, b.publicKey, a.publicKey)
    assert.match(ab.digits, /^\d{60}$/)
    assert.equal(ab.digits, ba.digits)
    assert.equal(compareScannable(ab.scannable, ba.scannable), true)
    const am = safetyNumber(crypto, a.publicKey, m.publicKey)
    assert.notEqual(am.digits, ab.digits)
    assert.equal(compareScannable(am.scannable, ba.scannable), false)
    assert.throws(() => compareScannable(ab.scannable, ab.scannable.subarray(1)), { name: 'InvalidMessageError' })
  })
})
