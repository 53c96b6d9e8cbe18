import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createCrypto } from '../../../src/crypto/index.js'
import { LevelStore } from '../../../src/store/index.js'
import { collectBackup, decodeBackup, encodeBackup, restoreBackup } from '../../../src/messenger/backup.js'

const CHEAP = { logN: 10, r: 8, p: 1 }

describe('messenger/backup', () => {
  const crypto = createCrypto()
  const dirs: string[] = []
  after(async () => Promise.all(dirs.map(async d => rm(d, { recursive: true, force: true }))))

  async function store (): Promise<LevelStore> {
    const dir = await mkdtemp(join(tmpdir(), 'starling-backup-'))
    dirs.push(dir)
    const s = new LevelStore(dir)
    await s.open()
    return s
  }

  it('round-trips every backed-up namespace and the key file, and leaves relay data out', async () => {
    const a = await store()
    await a.put('messages', Uint8Array.of(1, 2), Uint8Array.of(3))
    await a.put('sessions', Uint8Array.of(9), new Uint8Array(5000).fill(7))
    await a.put('contacts', Uint8Array.of(4), Uint8Array.of(5, 6))
    await a.put('relay', Uint8Array.of(8), Uint8Array.of(8))
    const keyFile = crypto.randomBytes(300)
    const bytes = await encodeBackup(crypto, await collectBackup(a, keyFile), 'correct horse', CHEAP)
    const back = await decodeBackup(crypto, bytes, 'correct horse')
    assert.deepEqual(back.keyFile, keyFile)
    const b = await store()
    assert.equal(await restoreBackup(b, back), 3)
    assert.deepEqual(await b.get('messages', Uint8Array.of(1, 2)), Uint8Array.of(3))
    assert.deepEqual(await b.get('sessions', Uint8Array.of(9)), new Uint8Array(5000).fill(7))
    assert.deepEqual(await b.get('contacts', Uint8Array.of(4)), Uint8Array.of(5, 6))
    assert.equal(await b.get('relay', Uint8Array.of(8)), undefined)
    await a.close()
    await b.close()
  })

  it('refuses a wrong passphrase, a flipped byte and a file that is not a backup with BackupError', async () => {
    const bytes = await encodeBackup(crypto, { keyFile: Uint8Array.of(1), entries: [] }, 'pass', CHEAP)
    await assert.rejects(decodeBackup(crypto, bytes, 'other'), { name: 'BackupError' })
    const flipped = bytes.slice()
    flipped[flipped.length - 3] ^= 1
    await assert.rejects(decodeBackup(crypto, flipped, 'pass'), { name: 'BackupError' })
    await assert.rejects(decodeBackup(crypto, new TextEncoder().encode('hello there, not a backup at all, no'), 'pass'), { name: 'BackupError' })
    await assert.rejects(encodeBackup(crypto, { keyFile: Uint8Array.of(1), entries: [] }, '', CHEAP), { name: 'BackupError' })
  })
})
