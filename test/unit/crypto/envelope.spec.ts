import assert from 'node:assert/strict'
import fc from 'fast-check'
import { toHex } from '../../../src/crypto/bytes.js'
import { DirectEphemerals, ENVELOPE_OVERHEAD, EphemeralSecrets, openEnvelope, parseEnvelopeHeader, sealEnvelope } from '../../../src/crypto/envelope.js'
import { MIN_PADDED_LENGTH, POWER_OF_TWO_UP_TO, pad, padmeLength, paddedLength, unpad } from '../../../src/crypto/padding.js'
import { decrypt, encrypt } from '../../../src/crypto/session.js'
import { daemonCrypto as crypto } from './providers.js'
import { connectedPair, makeParty, text } from './parties.js'

describe('padding', () => {
  it('Padmé lengths (PURBs paper, §4)', () => {
    assert.deepEqual([0, 1, 2, 9, 10, 11, 100, 300, 1000, 1025, 100_000].map(padmeLength), [0, 1, 2, 10, 10, 12, 104, 304, 1024, 1088, 100_352])
  })

  it('buckets: 256 bytes at least, powers of two up to 16 KiB, Padmé above', () => {
    assert.deepEqual([1, 256, 257, 1000, 1025, 3100, 4096, 4097, 16_384, 16_385, 100_000].map(paddedLength), [256, 256, 512, 1024, 2048, 4096, 4096, 8192, 16_384, 17_408, 100_352])
  })

  it('round-trips, never shrinks, stays within 2x up to 16 KiB and 12% above', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40_000, size: 'max' }), (content) => {
      const p = pad(content)
      assert.equal(p.length, paddedLength(content.length + 1))
      assert.ok(p.length >= MIN_PADDED_LENGTH)
      if (content.length + 1 > MIN_PADDED_LENGTH) assert.ok(p.length < (content.length + 1) * 2)
      if (content.length + 1 > POWER_OF_TWO_UP_TO) assert.ok(p.length <= (content.length + 1) * 1.12)
      assert.equal(toHex(unpad(p)), toHex(content))
    }), { numRuns: 200 })
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

  it('keeps a given id: the same message sealed again is recognised as the same envelope', async () => {
    const alice = await makeParty(crypto)
    const bob = await makeParty(crypto)
    const first = await sealEnvelope(crypto, bob.identity.identityKey.publicKey, alice.identity, text('inner'))
    const again = await sealEnvelope(crypto, bob.identity.identityKey.publicKey, alice.identity, text('inner'), { id: first.id })
    assert.equal(toHex(again.id), toHex(first.id))
    assert.notEqual(toHex(again.envelope), toHex(first.envelope), 'a fresh ephemeral key each time')
    assert.equal(toHex((await openEnvelope(crypto, bob.identity.identityKey, again.envelope)).id), toHex(first.id))
    await assert.rejects(sealEnvelope(crypto, bob.identity.identityKey.publicKey, alice.identity, text('inner'), { id: new Uint8Array(8) }), RangeError)
  })
})

describe('direct-path ephemeral keys', () => {
  it('a sender reuses one key per device within its limits, then replaces it', async () => {
    let now = 1_000
    const alice = await makeParty(crypto)
    const bob = await makeParty(crypto)
    const carol = await makeParty(crypto)
    const keys = new DirectEphemerals(crypto, () => now, { maxUses: 3, lifetimeMs: 60_000 })
    const bobKey = bob.identity.identityKey.publicKey
    const e = (await keys.get(bobKey)).publicKey
    assert.equal(toHex((await keys.get(bobKey)).publicKey), toHex(e))
    assert.notEqual(toHex((await keys.get(carol.identity.identityKey.publicKey)).publicKey), toHex(e), 'one key per device')
    assert.equal(toHex((await keys.get(bobKey)).publicKey), toHex(e))
    const afterUses = (await keys.get(bobKey)).publicKey
    assert.notEqual(toHex(afterUses), toHex(e), 'replaced after maxUses')
    now += 60_000
    assert.notEqual(toHex((await keys.get(bobKey)).publicKey), toHex(afterUses), 'replaced after lifetimeMs')
    // Envelopes sealed under a reused key open, each with its own keys (distinct ids as salts).
    const ephemeral = await keys.get(bobKey)
    const one = await sealEnvelope(crypto, bobKey, alice.identity, text('one'), { ephemeral })
    const two = await sealEnvelope(crypto, bobKey, alice.identity, text('one'), { ephemeral })
    assert.equal(toHex(one.envelope.subarray(17, 49)), toHex(two.envelope.subarray(17, 49)), 'same E on the wire')
    assert.notEqual(toHex(one.envelope.subarray(49)), toHex(two.envelope.subarray(49)))
    for (const sealed of [one, two]) assert.equal(new TextDecoder().decode((await openEnvelope(crypto, bob.identity.identityKey, sealed.envelope)).inner), 'one')
  })

  it('a recipient remembers DH(R, E) per key, bounded, and only for its own identity key', async () => {
    const alice = await makeParty(crypto)
    const bob = await makeParty(crypto)
    const carol = await makeParty(crypto)
    let computed = 0
    const counting = { ...crypto, x25519: { ...crypto.x25519, sharedSecret: async (s: Uint8Array, p: Uint8Array) => { computed++; return crypto.x25519.sharedSecret(s, p) } } }
    const secrets = new EphemeralSecrets(2)
    const keys = new DirectEphemerals(crypto, () => 0)
    const bobKey = bob.identity.identityKey.publicKey
    const ephemeral = await keys.get(bobKey)
    const sealed = await Promise.all([1, 2, 3].map(async i => sealEnvelope(crypto, bobKey, alice.identity, text(`m${i}`), { ephemeral })))
    // The static DH with alice is computed once for the process (cached in envelope.ts); count the ephemeral ones.
    await openEnvelope(counting, bob.identity.identityKey, sealed[0].envelope, secrets)
    const first = computed
    for (const s of sealed.slice(1)) assert.match(new TextDecoder().decode((await openEnvelope(counting, bob.identity.identityKey, s.envelope, secrets)).inner), /^m[23]$/)
    assert.equal(computed, first, 'no X25519 for envelopes that reuse E')
    // Another recipient key never gets bob's entry: its own DH with E.
    const forCarol = await secrets.get(crypto, carol.identity.identityKey, ephemeral.publicKey)
    assert.equal(toHex(forCarol), toHex(await crypto.x25519.sharedSecret(carol.identity.identityKey.secretKey, ephemeral.publicKey)))
    assert.notEqual(toHex(forCarol), toHex(ephemeral.sharedSecret))
    // Bounded: other keys push E out, and it is computed again.
    for (let i = 0; i < 2; i++) await openEnvelope(counting, bob.identity.identityKey, (await sealEnvelope(crypto, bobKey, alice.identity, text('x'))).envelope, secrets)
    assert.equal(secrets.size, 2)
    const before = computed
    await openEnvelope(counting, bob.identity.identityKey, sealed[0].envelope, secrets)
    assert.ok(computed > before, 'evicted entry computed again')
  })
})
