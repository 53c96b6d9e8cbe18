import assert from 'node:assert/strict'
import { toHex } from '../../../src/crypto/bytes.js'
import { decodePrekeyMessage } from '../../../src/crypto/pqxdh.js'
import { PrekeyKind, prekeySignaturePayload } from '../../../src/crypto/prekey-signature.js'
import { PREKEY_GRACE_MS, PREKEY_ROTATION_MS, rotatePrekeys } from '../../../src/crypto/prekeys.js'
import { decrypt, encrypt, initiateSession, respondToSession } from '../../../src/crypto/session.js'
import { providerCases, daemonCrypto } from './providers.js'
import { makeParty, str, T0, text } from './parties.js'

const crypto = daemonCrypto

describe('PQXDH session start', () => {
  for (const { name, crypto: c } of providerCases) {
    it(`starts a session both ways (${name})`, async () => {
      const a = await makeParty(c)
      const b = await makeParty(c)
      const { state } = await initiateSession(c, a.identity, b.bundle())
      const m = await encrypt(c, state, text('hello'))
      const r = await respondToSession(c, b.device, m.message, b.guard, { now: T0 })
      assert.equal(str(r.plaintext), 'hello')
      assert.equal(toHex(r.state.remoteAccountKey), toHex(a.identity.accountKey))
      assert.equal(toHex(r.state.remoteIdentityKey), toHex(a.identity.identityKey.publicKey))
      const reply = await encrypt(c, r.state, text('hi'))
      assert.equal(str((await decrypt(c, m.state, reply.message)).plaintext), 'hi')
    })
  }

  it('refuses a bundle whose identity key or prekeys are not signed by the account', async () => {
    const a = await makeParty(crypto)
    const b = await makeParty(crypto)
    const other = await makeParty(crypto)
    const good = b.bundle()
    await assert.rejects(initiateSession(crypto, a.identity, { ...good, accountKey: other.identity.accountKey }), { name: 'InvalidSignatureError' })
    await assert.rejects(initiateSession(crypto, a.identity, { ...good, signedPrekey: other.bundle().signedPrekey }), { name: 'InvalidSignatureError' })
    await assert.rejects(initiateSession(crypto, a.identity, { ...good, kemPrekey: other.bundle().kemPrekey }), { name: 'InvalidSignatureError' })
    await assert.rejects(initiateSession(crypto, a.identity, { ...good, identityKey: other.bundle().identityKey }), { name: 'InvalidSignatureError' })
  })

  it('rejects low-order and malformed keys', async () => {
    const a = await makeParty(crypto)
    const b = await makeParty(crypto)
    const evil = await makeParty(crypto)
    // A validly signed but low-order signed prekey: the account key signs anything it is given.
    const lowOrder = new Uint8Array(32) // u = 0
    const sig = await crypto.ed25519.sign(evil.accountSecretKey, prekeySignaturePayload(PrekeyKind.signedPrekey, 7, lowOrder))
    await assert.rejects(initiateSession(crypto, a.identity, { ...evil.bundle(), signedPrekey: { id: 7, publicKey: lowOrder, signature: sig } }), { name: 'InvalidKeyError' })
    // A first message whose base key (offset 129) is low order: u = 1 (RFC 7748 §6.1 lists 0 and 1).
    const { state } = await initiateSession(crypto, a.identity, b.bundle())
    const m = (await encrypt(crypto, state, text('x'))).message.slice()
    m.set(new Uint8Array(32), 129)
    m[129] = 1
    await assert.rejects(respondToSession(crypto, b.device, m, b.guard, { now: T0 }), { name: 'InvalidKeyError' })
    await assert.rejects(respondToSession(crypto, b.device, m.subarray(0, 200), b.guard, { now: T0 }), { name: 'InvalidMessageError' })
  })

  it('rejects a replayed first message (same prekey, same base key) and keeps the guard clean on failure', async () => {
    const a = await makeParty(crypto)
    const b = await makeParty(crypto)
    const { state } = await initiateSession(crypto, a.identity, b.bundle())
    const m = await encrypt(crypto, state, text('once'))
    const tampered = m.message.slice()
    tampered[tampered.length - 1] ^= 1
    await assert.rejects(respondToSession(crypto, b.device, tampered, b.guard, { now: T0 }), { name: 'DecryptionError' })
    const r = await respondToSession(crypto, b.device, m.message, b.guard, { now: T0 })
    assert.equal(str(r.plaintext), 'once')
    await assert.rejects(respondToSession(crypto, b.device, m.message, b.guard, { now: T0 }), { name: 'ReplayError' })
    // A resend with the same base key belongs to the existing session.
    const again = await encrypt(crypto, m.state, text('twice'))
    assert.equal(decodePrekeyMessage(again.message).header.baseKey.length, 32)
    // ...and every byte of its PQXDH prefix is authenticated (here: the KEM ciphertext at 173).
    const altered = again.message.slice()
    altered[200] ^= 1
    await assert.rejects(decrypt(crypto, r.state, altered), { name: 'DecryptionError' })
    assert.equal(str((await decrypt(crypto, r.state, again.message)).plaintext), 'twice')
  })

  it('accepts the previous signed prekey during the grace period, not after', async () => {
    const a = await makeParty(crypto)
    const b = await makeParty(crypto)
    const oldBundle = b.bundle()
    const t1 = T0 + PREKEY_ROTATION_MS
    b.device.prekeys = await rotatePrekeys(crypto, b.device.prekeys, b.accountSecretKey, t1)
    const m1 = await encrypt(crypto, (await initiateSession(crypto, a.identity, oldBundle)).state, text('late'))
    assert.equal(str((await respondToSession(crypto, b.device, m1.message, b.guard, { now: t1 + 1000 })).plaintext), 'late')
    const m2 = await encrypt(crypto, (await initiateSession(crypto, a.identity, oldBundle)).state, text('too late'))
    await assert.rejects(respondToSession(crypto, b.device, m2.message, b.guard, { now: t1 + PREKEY_GRACE_MS }), { name: 'PrekeyNotFoundError' })
  })

  it('uses a one-time prekey when the bundle has one, and reports it used', async () => {
    const a = await makeParty(crypto)
    const b = await makeParty(crypto, T0, 2)
    const bundle = b.bundle(true)
    assert.ok(bundle.oneTimePrekey != null)
    const m = await encrypt(crypto, (await initiateSession(crypto, a.identity, bundle)).state, text('otk'))
    const r = await respondToSession(crypto, b.device, m.message, b.guard, { now: T0 })
    assert.equal(str(r.plaintext), 'otk')
    assert.equal(r.usedOneTimePrekeyId, bundle.oneTimePrekey.id)
  })
})
