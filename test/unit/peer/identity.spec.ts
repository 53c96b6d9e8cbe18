/**
 * An identity's life in src/peer, over key storage in memory (what node/
 * keeps in a file and web/ in IndexedDB): created once and never
 * overwritten, loaded back the same, encrypted once a passphrase is given,
 * its prekeys rotated when due and only then written.
 */
import assert from 'node:assert/strict'
import { PREKEY_ROTATION_MS } from '../../../src/crypto/prekeys.js'
import { createIdentity, encryptKeyFileIfPlain, loadIdentity, rotateIfDue } from '../../../src/peer/index.js'
import { isEncryptedKeyFile } from '../../../src/identity/index.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { memoryKeyStorage } from './platform.js'

const T0 = Date.UTC(2026, 11, 6)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('peer: identity lifecycle', function () {
  // Each passphrase costs a scrypt (about 0.7 s of a core, more on a busy machine).
  this.timeout(60_000)

  it('creates an identity and loads back the same keys, handle and peer id', async () => {
    const keys = memoryKeyStorage()
    const created = await createIdentity(crypto, keys, 'alice', { now: () => T0 })
    const loaded = await loadIdentity(crypto, keys)
    assert.equal(loaded.handleName, 'alice')
    assert.equal(loaded.tag, created.tag)
    assert.equal(loaded.peerId.toString(), created.peerId.toString())
    assert.equal(hex(loaded.accountPublicKey), hex(created.accountPublicKey))
    assert.equal(hex(loaded.identityPublicKey), hex(created.identityPublicKey))
    assert.equal(loaded.prekeys.signedPrekey.id, created.prekeys.signedPrekey.id)
    assert.equal(loaded.createdAt, T0)
    assert.equal(loaded.encrypted, false)
  })

  it('refuses a second identity (IdentityExistsError) and leaves the first one as it was', async () => {
    const keys = memoryKeyStorage()
    const first = await createIdentity(crypto, keys, 'alice')
    const stored = keys.bytes?.slice()
    await assert.rejects(createIdentity(crypto, keys, 'mallory'), { name: 'IdentityExistsError' })
    assert.deepEqual(keys.bytes, stored)
    assert.equal(keys.writes, 1)
    assert.equal((await loadIdentity(crypto, keys)).peerId.toString(), first.peerId.toString())
  })

  it('a bad handle is refused before anything is stored; loading with nothing stored is NoIdentityError', async () => {
    const keys = memoryKeyStorage()
    await assert.rejects(createIdentity(crypto, keys, 'Al ice'), { name: 'InvalidHandleError' })
    assert.equal(keys.writes, 0)
    await assert.rejects(loadIdentity(crypto, keys), { name: 'NoIdentityError' })
  })

  it('a key file stored in the clear is encrypted once a passphrase is given, and then opens only with it', async () => {
    const keys = memoryKeyStorage()
    const local = await createIdentity(crypto, keys, 'alice')
    assert.equal(await encryptKeyFileIfPlain(crypto, keys, local), false, 'no passphrase: nothing written')
    assert.equal(await encryptKeyFileIfPlain(crypto, keys, local, 'correct horse'), true)
    assert.equal(local.encrypted, true)
    assert.ok(keys.bytes != null && isEncryptedKeyFile(keys.bytes))
    assert.equal(await encryptKeyFileIfPlain(crypto, keys, local, 'correct horse'), false, 'already encrypted: nothing written')
    assert.equal(keys.writes, 2)
    await assert.rejects(loadIdentity(crypto, keys), { name: 'PassphraseRequiredError' })
    await assert.rejects(loadIdentity(crypto, keys, 'wrong horse'), { name: 'WrongPassphraseError' })
    const loaded = await loadIdentity(crypto, keys, 'correct horse')
    assert.equal(loaded.encrypted, true)
    assert.equal(loaded.peerId.toString(), local.peerId.toString())
  })

  it('prekeys rotate only when due; the rotated ones are stored and load back', async () => {
    const keys = memoryKeyStorage()
    const local = await createIdentity(crypto, keys, 'alice', { now: () => T0 })
    const first = local.prekeys.signedPrekey.id
    assert.equal(await rotateIfDue(crypto, keys, local, { now: () => T0 + PREKEY_ROTATION_MS - 1 }), false)
    assert.equal(keys.writes, 1, 'not due: nothing written')
    assert.equal(await rotateIfDue(crypto, keys, local, { now: () => T0 + PREKEY_ROTATION_MS }), true)
    assert.notEqual(local.prekeys.signedPrekey.id, first)
    assert.equal(local.prekeys.previousSignedPrekey?.id, first, 'the replaced prekey is kept for its grace period')
    const loaded = await loadIdentity(crypto, keys)
    assert.equal(loaded.prekeys.signedPrekey.id, local.prekeys.signedPrekey.id)
    assert.equal(loaded.prekeys.previousSignedPrekey?.id, first)
  })
})
