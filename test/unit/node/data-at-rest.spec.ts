/**
 * The node side of data at rest (issue 9, item 7): a data directory made
 * private however it was left, and a backup of an identity with a
 * passphrase restored into an encrypted store.
 */
import assert from 'node:assert/strict'
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { createCrypto } from '../../../src/crypto/index.js'
import { encodeKeyFile } from '../../../src/identity/index.js'
import { encodeBackup } from '../../../src/messenger/backup-format.js'
import { makePrivate } from '../../../node/data-dir.js'
import { importBackup } from '../../../node/backup-files.js'
import { openUserStore } from '../../../node/at-rest.js'

const crypto = createCrypto()
const CHEAP = { logN: 10, r: 8, p: 1 }

describe('node: data at rest', () => {
  const dirs: string[] = []
  let umask: number
  before(() => {
    umask = process.umask(0o022)
  })
  after(async () => {
    process.umask(umask)
    for (const d of dirs) await rm(d, { recursive: true, force: true })
  })
  async function tempDir (): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'starling-at-rest-'))
    dirs.push(dir)
    return dir
  }
  const mode = async (path: string): Promise<number> => (await stat(path)).mode & 0o777

  it('makePrivate takes group and other permissions away from everything, never widens, never follows links, and sets the umask', async () => {
    const outside = await tempDir()
    await writeFile(join(outside, 'shared.txt'), 'not ours', { mode: 0o644 })
    const dir = join(await tempDir(), 'data')
    await mkdir(join(dir, 'store', 'deep'), { recursive: true, mode: 0o755 })
    await chmod(dir, 0o777)
    await writeFile(join(dir, 'identity.key'), 'k', { mode: 0o644 })
    await writeFile(join(dir, 'store', 'deep', '000003.log'), 'v', { mode: 0o666 })
    await writeFile(join(dir, 'readonly'), 'r', { mode: 0o400 })
    await symlink(join(outside, 'shared.txt'), join(dir, 'link'))

    assert.ok(await makePrivate(dir) >= 5)
    assert.equal(await mode(dir), 0o700)
    assert.equal(await mode(join(dir, 'store')), 0o700)
    assert.equal(await mode(join(dir, 'store', 'deep')), 0o700)
    assert.equal(await mode(join(dir, 'identity.key')), 0o600)
    assert.equal(await mode(join(dir, 'store', 'deep', '000003.log')), 0o600)
    assert.equal(await mode(join(dir, 'readonly')), 0o400, 'never widened')
    assert.equal(await mode(join(outside, 'shared.txt')), 0o644, 'a link is not followed')
    await writeFile(join(dir, 'later'), 'written after', { mode: 0o666 })
    assert.equal(await mode(join(dir, 'later')), 0o600, 'the umask keeps later files private')
    assert.equal(await makePrivate(dir), 0, 'nothing left to change')
    const fresh = join(await tempDir(), 'a', 'b')
    await makePrivate(fresh)
    assert.equal(await mode(fresh), 0o700)
  })

  it('restores a backup of an identity with a passphrase into an encrypted store, and refuses without the passphrase', async () => {
    const identityPass = 'identity passphrase'
    const secret = crypto.randomBytes(32)
    const keyFile = await encodeKeyFile(crypto, {
      accountSecretKey: crypto.randomBytes(32),
      devicePrivateKey: privateKeyToProtobuf(await generateKeyPair('Ed25519')),
      deviceIdentitySecretKey: secret,
      handle: 'alice',
      createdAt: 1
    }, { passphrase: identityPass, kdf: CHEAP })
    const note = 'a contact note that must not be readable on disk'
    const backup = await encodeBackup(crypto, { keyFile, entries: [{ namespace: 'contacts', key: Uint8Array.of(1), value: new TextEncoder().encode(note) }], unsent: [] }, 'backup pass', CHEAP)
    const file = join(await tempDir(), 'alice.stbk')
    await writeFile(file, backup)

    const refused = join(await tempDir(), 'data')
    await assert.rejects(importBackup(crypto, refused, file, 'backup pass'), { name: 'CommandError', message: /STARLING_PASSPHRASE/ })

    const dir = join(await tempDir(), 'data')
    assert.deepEqual(await importBackup(crypto, dir, file, 'backup pass', identityPass), { entries: 1, unsent: 0, files: 0 })
    for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
      if (entry.isFile()) assert.equal((await readFile(join(entry.parentPath, entry.name))).includes(note), false, `${entry.name} holds the note`)
    }
    await assert.rejects(openUserStore(crypto, dir), { name: 'CommandError', message: /encrypted/ })
    const store = await openUserStore(crypto, dir, secret)
    assert.equal(new TextDecoder().decode(await store.get('contacts', Uint8Array.of(1))), note)
    await store.close()
    assert.equal(await mode(dir), 0o700)
  })
})
