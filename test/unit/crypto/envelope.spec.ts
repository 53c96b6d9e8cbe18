import assert from 'node:assert/strict'
import fc from 'fast-check'
import { toHex } from '../../../src/crypto/bytes.js'
import { ENVELOPE_OVERHEAD, openEnvelope, parseEnvelopeHeader, sealEnvelope } from '../../../src/crypto/envelope.js'
import { MIN_PADDED_LENGTH, pad, padmeLength, paddedLength, unpad } from '../../../src/crypto/padding.js'
import { decrypt, encrypt } from '../../../src/crypto/session.js'
import { daemonCrypto as crypto } from './providers.js'
import { connectedPair, makeParty, text } from './parties.js'

describe('padding', () => {
  it('Padmé lengths (PURBs paper, §4)', () => {
    assert.deepEqual([0, 1, 2, 9, 10, 11, 100, 300, 1000, 1025, 100_000].map(padmeLength), [0, 1, 2, 10, 10, 12, 104, 304, 1024, 1088, 100_352])
  })

  it('round-trips, never shrinks, stays within 12% above the minimum', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 5000 }), (content) => {
      const p = pad(content)
      assert.equal(p.length, paddedLength(content.length + 1))
      assert.ok(p.length >= MIN_PADDED_LENGTH)
      if (content.length + 1 > MIN_PADDED_LENGTH) assert.ok(p.length <= (content.length + 1) * 1.12)
      assert.equal(toHex(unpad(p)), toHex(content))
    }))
    assert.throws(() => unpad(new Uint8Array(256)), { name: 'InvalidMessageError' })
  })
})

describe('sealed envelopes', () => {
  it('carries the sender inside only, and opens for the recipient', async () => {
    const alice = await makeParty(crypto)
    const bob = await makeParty(crypto)
    const { id, envelope } = await sealEnvelope(crypto, bob.identity.identityKey.publicKey, alice.identity, text('inner'))
    assert.equal(id.length, 16)
    assert.equal(toHex(parseEnvelopeHeader(envelope).id), toHex(id))
    assert.equal(toHex(envelope).includes(toHex(alice.identity.accountKey)), false)
    assert.equal(toHex(envelope).includes(toHex(alice.identity.identityKey.publicKey)), false)
    const opened = await openEnvelope(crypto, bob.identity.identityKey, envelope)
    assert.equal(toHex(opened.id), toHex(id))
    assert.equal(toHex(opened.sender.accountKey), toHex(alice.identity.accountKey))
    assert.equal(toHex(opened.sender.identityKey), toHex(alice.identity.identityKey.publicKey))
    assert.equal(new TextDecoder().decode(opened.inner), 'inner')
  })

  it('a 1-character and a 150-character message are the same size on the wire', async () => {
    const { alice, bob, a, b } = await connectedPair(crypto)
    const reply = await encrypt(crypto, bob, text('hi'))
    const talking = (await decrypt(crypto, alice, reply.message)).state
    const sizes: number[] = []
    for (const body of ['x', 'y'.repeat(150)]) {
      const m = await encrypt(crypto, talking, text(body))
      const { envelope } = await sealEnvelope(crypto, b.identity.identityKey.publicKey, a.identity, m.message)
      sizes.push(envelope.length)
    }
    assert.equal(sizes[0], sizes[1])
    assert.equal(sizes[0], MIN_PADDED_LENGTH + ENVELOPE_OVERHEAD)
  })

  it('rejects tampering anywhere, another recipient, and malformed input with named errors', async () => {
    const alice = await makeParty(crypto)
    const bob = await makeParty(crypto)
    const carol = await makeParty(crypto)
    const { envelope } = await sealEnvelope(crypto, bob.identity.identityKey.publicKey, alice.identity, text('inner'))
    for (const offset of [1, 20, 60, 130, envelope.length - 1]) {
      const t = envelope.slice()
      t[offset] ^= 1
      // A flipped bit in E may land on a low-order point: InvalidKeyError; anything else fails authentication.
      await assert.rejects(openEnvelope(crypto, bob.identity.identityKey, t), (err: Error) => /^(DecryptionError|InvalidKeyError)$/.test(err.name), `offset ${offset}`)
    }
    await assert.rejects(openEnvelope(crypto, carol.identity.identityKey, envelope), { name: 'DecryptionError' })
    await assert.rejects(openEnvelope(crypto, bob.identity.identityKey, envelope.subarray(0, 100)), { name: 'InvalidMessageError' })
    const wrongVersion = envelope.slice()
    wrongVersion[0] = 9
    assert.throws(() => parseEnvelopeHeader(wrongVersion), { name: 'InvalidMessageError' })
  })
})
