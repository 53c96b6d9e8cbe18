import assert from 'node:assert/strict'
import { toHex } from '../../../src/crypto/bytes.js'
import {
  createPrekeyState, decodePrekeyState, encodePrekeyState, findKemPrekey, findSignedPrekey, PREKEY_GRACE_MS,
  PREKEY_ROTATION_MS, publicPrekeys, rotatePrekeys, addOneTimePrekeys
} from '../../../src/crypto/prekeys.js'
import { PrekeyKind, prekeySignaturePayload } from '../../../src/crypto/prekey-signature.js'
import { daemonCrypto as crypto } from './providers.js'
import { T0 } from './parties.js'

describe('prekeys', () => {
  it('signs the signed and KEM prekeys with the account key', async () => {
    const account = await crypto.ed25519.generateKeyPair()
    const state = await createPrekeyState(crypto, account.secretKey, T0)
    const { signedPrekey, kemPrekey } = publicPrekeys(state)
    assert.equal(signedPrekey.publicKey.length, 32)
    assert.equal(kemPrekey.publicKey.length, 1184)
    assert.ok(await crypto.ed25519.verify(account.publicKey, prekeySignaturePayload(PrekeyKind.signedPrekey, signedPrekey.id, signedPrekey.publicKey), signedPrekey.signature))
    assert.ok(await crypto.ed25519.verify(account.publicKey, prekeySignaturePayload(PrekeyKind.kemPrekey, kemPrekey.id, kemPrekey.publicKey), kemPrekey.signature))
    assert.equal(await crypto.ed25519.verify(account.publicKey, prekeySignaturePayload(PrekeyKind.kemPrekey, signedPrekey.id, signedPrekey.publicKey), signedPrekey.signature), false)
  })

  it('rotates weekly and accepts the previous prekeys for the grace period only', async () => {
    const account = await crypto.ed25519.generateKeyPair()
    const s0 = await createPrekeyState(crypto, account.secretKey, T0)
    assert.equal(await rotatePrekeys(crypto, s0, account.secretKey, T0 + PREKEY_ROTATION_MS - 1), s0, 'not due: same object')
    const t1 = T0 + PREKEY_ROTATION_MS
    const s1 = await rotatePrekeys(crypto, s0, account.secretKey, t1)
    assert.notEqual(s1.signedPrekey.id, s0.signedPrekey.id)
    assert.notEqual(s1.kemPrekey.id, s0.kemPrekey.id)
    assert.equal(findSignedPrekey(s1, s0.signedPrekey.id, t1 + PREKEY_GRACE_MS - 1).id, s0.signedPrekey.id)
    assert.equal(findKemPrekey(s1, s0.kemPrekey.id, t1 + PREKEY_GRACE_MS - 1).id, s0.kemPrekey.id)
    assert.throws(() => findSignedPrekey(s1, s0.signedPrekey.id, t1 + PREKEY_GRACE_MS), { name: 'PrekeyNotFoundError' })
    assert.throws(() => findSignedPrekey(s1, 999, t1), { name: 'PrekeyNotFoundError' })
    const s2 = await rotatePrekeys(crypto, s1, account.secretKey, t1 + PREKEY_GRACE_MS)
    assert.equal(s2.previousSignedPrekey?.id, s1.signedPrekey.id, 'rotated again: the previous is the one from s1')
  })

  it('serialises and restores the state byte for byte', async () => {
    const account = await crypto.ed25519.generateKeyPair()
    let s = await createPrekeyState(crypto, account.secretKey, T0)
    s = await rotatePrekeys(crypto, s, account.secretKey, T0 + PREKEY_ROTATION_MS)
    s = (await addOneTimePrekeys(crypto, s, 3)).state
    const bytes = encodePrekeyState(s)
    const back = decodePrekeyState(bytes)
    assert.deepEqual(back, s)
    assert.equal(toHex(encodePrekeyState(back)), toHex(bytes))
    assert.throws(() => decodePrekeyState(bytes.subarray(0, bytes.length - 1)), { name: 'InvalidMessageError' })
    assert.throws(() => decodePrekeyState(new Uint8Array([9])), { name: 'InvalidMessageError' })
  })
})
