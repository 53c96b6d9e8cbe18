/**
 * coturn's REST API credentials (username "expiry:user", password
 * base64(HMAC-SHA1(secret, username))) against node:crypto's HMAC, and the
 * relay's options for them refused with one clear line when wrong.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { turnCredential } from '../../../../src/protocols/turn/index.js'
import { parseTurn } from '../../../../node/cli/commands/relay.js'

describe('TURN credentials (coturn REST API scheme)', () => {
  it('match an independent HMAC-SHA1 over "expiry:user", expiry in whole seconds', () => {
    const secret = new TextEncoder().encode('north-wind-0123456789abcdef')
    for (const [user, at] of [['12D3KooWQx', 1_796_000_000_123], ['bob', 1_700_000_000_999]] as const) {
      const c = turnCredential(secret, user, at)
      assert.equal(c.username, `${Math.floor(at / 1000)}:${user}`)
      assert.equal(c.credential, createHmac('sha1', 'north-wind-0123456789abcdef').update(c.username).digest('base64'))
      assert.equal(c.expiresAt, Math.floor(at / 1000) * 1000)
    }
    assert.throws(() => turnCredential(secret, 'a:b', 0), RangeError)
  })

  it('relay options: --turn-url and --turn-secret-file together, real TURN URLs, a secret of 16 bytes or more', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'starling-turn-'))
    try {
      const good = join(dir, 'secret')
      await writeFile(good, '0123456789abcdef0123\n')
      const short = join(dir, 'short')
      await writeFile(short, 'abc')
      assert.equal(await parseTurn([], undefined), undefined)
      assert.deepEqual(await parseTurn(['turn:127.0.0.1:3478?transport=udp'], good), { urls: ['turn:127.0.0.1:3478?transport=udp'], secret: new TextEncoder().encode('0123456789abcdef0123') })
      await assert.rejects(parseTurn(['turn:127.0.0.1:3478'], undefined), { name: 'UsageError', message: '--turn-url and --turn-secret-file go together' })
      await assert.rejects(parseTurn(['http://example.org'], good), { name: 'UsageError' })
      await assert.rejects(parseTurn(['turn:127.0.0.1:3478'], short), { name: 'CommandError' })
      await assert.rejects(parseTurn(['turn:127.0.0.1:3478'], join(dir, 'missing')), (err: Error) => err.name === 'CommandError' && err.message.includes('ENOENT'))
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
