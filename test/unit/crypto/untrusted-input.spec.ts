/**
 * Untrusted bytes: whatever arrives, every decoder and decryptor fails with
 * one of the crypto layer's named errors (never a TypeError or RangeError),
 * and the session state given to it stays usable.
 */
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { openEnvelope, parseEnvelopeHeader, sealEnvelope } from '../../../src/crypto/envelope.js'
import { decodePrekeyState } from '../../../src/crypto/prekeys.js'
import { decodeSession, decrypt, encodeSession, encrypt, respondToSession } from '../../../src/crypto/session.js'
import { daemonCrypto as crypto } from './providers.js'
import { connectedPair, makeParty, str, T0, text } from './parties.js'

const NAMED = new Set(['InvalidMessageError', 'DecryptionError', 'ReplayError', 'InvalidKeyError', 'PrekeyNotFoundError', 'InvalidSignatureError', 'TooManySkippedError'])

async function failsNamed (fn: () => Promise<unknown> | unknown): Promise<void> {
  try {
    await fn()
  } catch (err) {
    assert.ok(NAMED.has((err as Error).name), `unexpected ${(err as Error).name}: ${(err as Error).message}`)
    return
  }
  assert.fail('accepted garbage')
}

describe('untrusted input', () => {
  it('random and mutated bytes are refused with named errors', async () => {
    const { alice, bob, b } = await connectedPair(crypto)
    const a = await makeParty(crypto)
    const valid = await encrypt(crypto, alice, text('valid'))
    const sealed = await sealEnvelope(crypto, b.identity.identityKey.publicKey, a.identity, text('x'))
    const mutate = fc.tuple(fc.constantFrom(valid.message, sealed.envelope), fc.nat(), fc.integer({ min: 1, max: 255 }), fc.boolean())
      .map(([base, at, xor, cut]) => {
        const m = base.slice(0, cut ? at % base.length : base.length)
        if (m.length > 0) m[at % m.length] ^= xor
        return m
      })
    await fc.assert(fc.asyncProperty(fc.oneof(fc.uint8Array({ maxLength: 2000, size: 'max' }), mutate), async (bytes) => {
      await failsNamed(() => decrypt(crypto, bob, bytes))
      await failsNamed(() => respondToSession(crypto, b.device, bytes, b.guard, { now: T0 }))
      await failsNamed(() => openEnvelope(crypto, b.identity.identityKey, bytes))
      await failsNamed(() => decodeSession(bytes))
      await failsNamed(() => decodePrekeyState(bytes))
      if (bytes.length >= 145 && bytes[0] === 1) assert.equal(parseEnvelopeHeader(bytes).id.length, 16)
    }), { numRuns: 200 })
    // Bob's state is untouched by all of that.
    assert.equal(str((await decrypt(crypto, decodeSession(encodeSession(bob)), valid.message)).plaintext), 'valid')
  })
})
