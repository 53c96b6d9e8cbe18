import assert from 'node:assert/strict'
import { scryptSync } from 'node:crypto'
import fc from 'fast-check'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { checkScryptParams, derivePasswordKey } from '../../../src/crypto/password-kdf.js'
import { decodeKeyFile, encodeKeyFile } from '../../../src/identity/key-file.js'
import { NOW, crypto } from './helpers.js'
import type { KeyFileData } from '../../../src/identity/key-file.js'

/** Cheap scrypt parameters for tests (N = 16). */
const CHEAP = { logN: 4, r: 8, p: 1 }

async function sampleData (prekeys?: Uint8Array): Promise<KeyFileData> {
  const account = await crypto.ed25519.generateKeyPair()
  const identity = await crypto.x25519.generateKeyPair()
  const peerKey = await generateKeyPair('Ed25519')
  const data: KeyFileData = {
    accountSecretKey: account.secretKey,
    devicePrivateKey: privateKeyToProtobuf(peerKey),
    deviceIdentitySecretKey: identity.secretKey,
    handle: 'alice',
    createdAt: NOW
  }
  if (prekeys != null) data.prekeys = prekeys
  return data
}

function contains (haystack: Uint8Array, needle: Uint8Array): boolean {
  return Buffer.from(haystack).includes(Buffer.from(needle))
}

describe('identity/key-file', () => {
  describe('password KDF (src/crypto/password-kdf.ts)', () => {
    it('is scrypt: matches node:crypto scryptSync', async () => {
      const salt = crypto.randomBytes(16)
      const ours = await derivePasswordKey('correct horse battery staple', salt, { logN: 10, r: 8, p: 2 }, 48)
      const theirs = scryptSync('correct horse battery staple', salt, 48, { N: 1024, r: 8, p: 2 })
      assert.deepEqual(Buffer.from(ours), theirs)
    })

    it('normalises the passphrase with NFKC', async () => {
      const salt = crypto.randomBytes(16)
      assert.deepEqual(await derivePasswordKey('\uFB01sh', salt, CHEAP), await derivePasswordKey('fish', salt, CHEAP))
      assert.notDeepEqual(await derivePasswordKey('fish', salt, CHEAP), await derivePasswordKey('fist', salt, CHEAP))
    })

    it('refuses out-of-bounds parameters, a short salt and an empty passphrase', async () => {
      assert.throws(() => checkScryptParams({ logN: 23, r: 8, p: 1 }), { name: 'RangeError' })
      assert.throws(() => checkScryptParams({ logN: 21, r: 8, p: 1 }), { name: 'RangeError' }) // 2 GiB
      assert.throws(() => checkScryptParams({ logN: 10, r: 0, p: 1 }), { name: 'RangeError' })
      assert.throws(() => checkScryptParams({ logN: 10, r: 8, p: 17 }), { name: 'RangeError' })
      await assert.rejects(async () => await derivePasswordKey('x', new Uint8Array(15), CHEAP), { name: 'RangeError' })
      await assert.rejects(async () => await derivePasswordKey('', new Uint8Array(16), CHEAP), { name: 'RangeError' })
    })
  })

  it('round-trips without a passphrase', async () => {
    const data = await sampleData(crypto.randomBytes(500))
    const file = await encodeKeyFile(crypto, data)
    assert.deepEqual(await decodeKeyFile(crypto, file), data)
  })

  it('round-trips with a passphrase, and the file shows no secret in clear', async () => {
    const data = await sampleData(crypto.randomBytes(100))
    const file = await encodeKeyFile(crypto, data, { passphrase: 'hunter2 hunter2', kdf: CHEAP })
    for (const secret of [data.accountSecretKey, data.deviceIdentitySecretKey, data.devicePrivateKey]) {
      assert.equal(contains(file, secret), false)
    }
    assert.equal(contains(file, new TextEncoder().encode('alice')), false)
    const back = await decodeKeyFile(crypto, file, { passphrase: 'hunter2 hunter2' })
    assert.deepEqual(back, data)
    assert.equal(privateKeyFromProtobuf(back.devicePrivateKey).type, 'Ed25519')
  })

  it('round-trips without prekeys', async () => {
    const data = await sampleData()
    const back = await decodeKeyFile(crypto, await encodeKeyFile(crypto, data, { passphrase: 'p', kdf: CHEAP }), { passphrase: 'p' })
    assert.equal(back.prekeys, undefined)
    assert.deepEqual(back, data)
  })

  it('works with the default (128 MiB) scrypt parameters', async () => {
    const data = await sampleData()
    const file = await encodeKeyFile(crypto, data, { passphrase: 'default cost' })
    assert.deepEqual([...file.subarray(6, 9)], [17, 8, 1])
    assert.deepEqual(await decodeKeyFile(crypto, file, { passphrase: 'default cost' }), data)
  })

  it('encrypts with fresh salt and nonce each time', async () => {
    const data = await sampleData()
    const a = await encodeKeyFile(crypto, data, { passphrase: 'p', kdf: CHEAP })
    const b = await encodeKeyFile(crypto, data, { passphrase: 'p', kdf: CHEAP })
    assert.notDeepEqual(a, b)
  })

  it('a wrong passphrase is a WrongPassphraseError', async () => {
    const file = await encodeKeyFile(crypto, await sampleData(), { passphrase: 'right', kdf: CHEAP })
    await assert.rejects(async () => await decodeKeyFile(crypto, file, { passphrase: 'wrong' }), { name: 'WrongPassphraseError' })
  })

  it('an encrypted file without a passphrase is a PassphraseRequiredError', async () => {
    const file = await encodeKeyFile(crypto, await sampleData(), { passphrase: 'right', kdf: CHEAP })
    await assert.rejects(async () => await decodeKeyFile(crypto, file), { name: 'PassphraseRequiredError' })
    await assert.rejects(async () => await decodeKeyFile(crypto, file, { passphrase: '' }), { name: 'PassphraseRequiredError' })
  })

  it('refuses to encode bad contents', async () => {
    const data = await sampleData()
    await assert.rejects(async () => await encodeKeyFile(crypto, { ...data, accountSecretKey: new Uint8Array(31) }), { name: 'RangeError' })
    await assert.rejects(async () => await encodeKeyFile(crypto, { ...data, handle: 'a-b' }), { name: 'InvalidHandleError' })
    await assert.rejects(async () => await encodeKeyFile(crypto, data, { passphrase: '', kdf: CHEAP }), { name: 'RangeError' })
  })

  describe('corrupt files are CorruptKeyFileError', () => {
    const cases: Array<[string, (f: Uint8Array) => Uint8Array]> = [
      ['empty', () => new Uint8Array(0)],
      ['wrong magic', f => { const g = Uint8Array.from(f); g[0] ^= 1; return g }],
      ['truncated', f => f.subarray(0, f.length - 1)],
      ['a flipped bit in the middle', f => { const g = Uint8Array.from(f); g[g.length >> 1] ^= 4; return g }],
      ['a flipped bit at byte 6 (the KDF parameters when encrypted)', f => { const g = Uint8Array.from(f); g[6] ^= 1; return g }],
      ['extra bytes', f => Uint8Array.from([...f, 0])]
    ]
    for (const encrypted of [false, true]) {
      for (const [what, damage] of cases) {
        it(`${encrypted ? 'encrypted' : 'plain'}: ${what}`, async () => {
          const options = encrypted ? { passphrase: 'p', kdf: CHEAP } : {}
          const file = await encodeKeyFile(crypto, await sampleData(), options)
          await assert.rejects(async () => await decodeKeyFile(crypto, damage(file), { passphrase: 'p' }), { name: 'CorruptKeyFileError' })
        })
      }
    }

    it('an unknown version', async () => {
      const file = await encodeKeyFile(crypto, await sampleData())
      const body = Uint8Array.from(file.subarray(0, file.length - 8))
      body[4] = 2
      const rechecked = Uint8Array.from([...body, ...crypto.hash.sha256(body).subarray(0, 8)])
      await assert.rejects(async () => await decodeKeyFile(crypto, rechecked), (err: Error) => {
        assert.equal(err.name, 'CorruptKeyFileError')
        assert.match(err.message, /version 2/)
        return true
      })
    })

    it('random bytes never decode and never throw anything else', async () => {
      await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 400, size: 'max' }), async (bytes) => {
        await assert.rejects(async () => await decodeKeyFile(crypto, bytes, { passphrase: 'p' }), { name: 'CorruptKeyFileError' })
      }), { numRuns: 300 })
    })
  })
})
