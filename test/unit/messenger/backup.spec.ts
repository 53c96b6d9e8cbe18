import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { createCrypto } from '../../../src/crypto/index.js'
import { LevelStore } from '../../../src/store/index.js'
import { collectBackup, restoreBackup } from '../../../src/messenger/backup.js'
import { BACKUP_VERSION, decodeBackup, encodeBackup } from '../../../src/messenger/backup-format.js'
import type { BackupContents } from '../../../src/messenger/backup.js'
import { History } from '../../../src/messenger/history.js'
import { Outbox } from '../../../src/messenger/outbox.js'
import { Sessions, sessionKey } from '../../../src/messenger/sessions.js'
import { decodeUnsent, unsentKey } from '../../../src/messenger/unsent.js'
import { encodeMessage, newMessageId } from '../../../src/messenger/model/index.js'
import type { Message } from '../../../src/messenger/model/index.js'
import { toHex } from '../../../src/messenger/bytes.js'
import { CHEAP, PASS, versionOneBackup } from './backup-v1.js'

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

  const conversation = crypto.randomBytes(32)
  let device: PeerId
  before(async () => { device = peerIdFromPrivateKey(await generateKeyPair('Ed25519')) })

  function message (text: string): Message {
    return {
      id: newMessageId(crypto),
      author: { account: crypto.randomBytes(32), device: device.toMultihash().bytes },
      timestamp: Date.now(),
      lamport: 1,
      body: { kind: 'text', text }
    }
  }

  /**
   * A device's store as a running messenger leaves it: history, contacts, a
   * session, a replay marker, a queued message (with its ratchet message) to
   * two devices, a queued receipt, a message state, and relay data.
   */
  async function deviceStore (): Promise<{ store: LevelStore, queued: Message, sent: Message }> {
    const s = await store()
    const history = new History(s)
    const outbox = new Outbox(s)
    const sent = message('delivered long ago')
    const queued = message('not delivered yet')
    const ops = [...history.putOps(conversation, sent), ...history.putOps(conversation, queued)]
    for (const d of [device.toString(), 'second-device']) {
      ops.push(outbox.add({ messageId: toHex(queued.id), conversation: toHex(conversation), device: d, envelopeId: toHex(crypto.randomBytes(16)), identityKey: toHex(crypto.randomBytes(32)), inner: crypto.randomBytes(120), kind: 'content', createdAt: 1 }).op)
    }
    ops.push(outbox.add({ messageId: toHex(crypto.randomBytes(16)), conversation: toHex(conversation), device: device.toString(), envelopeId: toHex(crypto.randomBytes(16)), identityKey: toHex(crypto.randomBytes(32)), inner: crypto.randomBytes(90), kind: 'receipt', createdAt: 1 }).op)
    ops.push((await outbox.statusOp(sent.id, 'delivered', 0, 5, true))?.op ?? assert.fail('no status op'))
    const guard = new Sessions(s).replayGuard()
    await guard.add(crypto.randomBytes(32))
    ops.push(...guard.replayOps())
    ops.push({ type: 'put', namespace: 'sessions', key: sessionKey(crypto.randomBytes(32)), value: new Uint8Array(5000).fill(7) })
    ops.push({ type: 'put', namespace: 'contacts', key: Uint8Array.of(4), value: Uint8Array.of(5, 6) })
    ops.push({ type: 'put', namespace: 'relay', key: Uint8Array.of(8), value: Uint8Array.of(8) })
    await s.batch(ops)
    return { store: s, queued, sent }
  }

  async function namespaceKeys (s: LevelStore, namespace: 'outbox' | 'sessions' | 'relay'): Promise<string[]> {
    const out: string[] = []
    for await (const [key] of s.iterate(namespace)) out.push(new TextDecoder().decode(key.subarray(0, key.indexOf(0x2f) + 1)))
    return out
  }

  for (const format of ['current', 'version 1'] as const) {
    it(`${format}: restores history, contacts, message states and replay markers, never sessions or queued ratchet messages`, async () => {
      const { store: a, queued, sent } = await deviceStore()
      const keyFile = crypto.randomBytes(300)
      const bytes = format === 'current'
        ? await encodeBackup(crypto, await collectBackup(a, keyFile), PASS, CHEAP)
        : await versionOneBackup(crypto, a, keyFile)
      assert.equal(bytes[4], format === 'current' ? BACKUP_VERSION : 1)
      const back = await decodeBackup(crypto, bytes, PASS)
      assert.deepEqual(back.keyFile, keyFile)
      assert.equal(back.unsent.length, 1, 'the queued content message, not the receipt')
      assert.deepEqual(back.unsent[0].message, encodeMessage(queued))
      assert.deepEqual(back.unsent[0].conversation, conversation)
      assert.deepEqual(back.unsent[0].devices.sort(), [device.toString(), 'second-device'].sort())

      const b = await store()
      await restoreBackup(b, back)
      const history = new History(b)
      assert.equal((await history.find(sent.id))?.message.body.kind, 'text')
      assert.equal((await history.messages(conversation)).length, 2)
      assert.equal((await new Outbox(b).status(sent.id))?.state, 'delivered')
      assert.deepEqual(await new Outbox(b).load(), [], 'no queued ratchet message')
      assert.deepEqual(await namespaceKeys(b, 'sessions'), ['replay/'], 'replay markers only')
      assert.deepEqual(await namespaceKeys(b, 'relay'), [])
      assert.deepEqual(await b.get('contacts', Uint8Array.of(4)), Uint8Array.of(5, 6))
      const stored = await b.get('outbox', unsentKey(queued.id))
      assert.ok(stored != null)
      assert.equal(decodeUnsent(stored).decoded.body.kind, 'text')
      await a.close()
      await b.close()
    })
  }

  it('a backup of a restored device carries its unsent messages on', async () => {
    const { store: a } = await deviceStore()
    const b = await store()
    await restoreBackup(b, await decodeBackup(crypto, await encodeBackup(crypto, await collectBackup(a, Uint8Array.of(1)), PASS, CHEAP), PASS))
    const again = await decodeBackup(crypto, await encodeBackup(crypto, await collectBackup(b, Uint8Array.of(1)), PASS, CHEAP), PASS)
    assert.equal(again.unsent.length, 1)
    assert.equal(again.unsent[0].devices.length, 2)
    await a.close()
    await b.close()
  })

  it('refuses a wrong passphrase, a flipped byte, an unknown version and a file that is not a backup with BackupError', async () => {
    const empty: BackupContents = { keyFile: Uint8Array.of(1), entries: [], unsent: [] }
    const bytes = await encodeBackup(crypto, empty, 'pass', CHEAP)
    await assert.rejects(decodeBackup(crypto, bytes, 'other'), { name: 'BackupError' })
    const flipped = bytes.slice()
    // A byte of the contents (the file frames after them are checked as they are restored: backup-files.spec.ts).
    flipped[45] ^= 1
    await assert.rejects(decodeBackup(crypto, flipped, 'pass'), { name: 'BackupError' })
    const future = bytes.slice()
    future[4] = 4
    await assert.rejects(decodeBackup(crypto, future, 'pass'), { name: 'BackupError', message: /version 4/ })
    await assert.rejects(decodeBackup(crypto, new TextEncoder().encode('hello there, not a backup at all, no'), 'pass'), { name: 'BackupError' })
    await assert.rejects(encodeBackup(crypto, empty, '', CHEAP), { name: 'BackupError' })
  })
})
