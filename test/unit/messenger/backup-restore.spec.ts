/**
 * The attack of issue 9, item 5, with whole messengers over real LevelDB:
 * back up a device, keep sending from the old copy, stop it, restore the
 * backup and send again. A backup that carried ratchet states made the
 * restored device reuse message keys the old copy had used (the new
 * plaintext falls out of an XOR with the old one) and the contact refused
 * the messages as replays. Every AEAD encryption in the process is recorded.
 */
import assert from 'node:assert/strict'
import { collectBackup, restoreBackup } from '../../../src/messenger/backup.js'
import { decodeBackup, encodeBackup } from '../../../src/messenger/backup-format.js'
import { equalBytes } from '../../../src/messenger/bytes.js'
import { TestNet, newIdentity, received, recordingCrypto } from './pair.js'
import { CHEAP, PASS, versionOneBackup } from './backup-v1.js'

describe('messenger/backup: a restored device', function () {
  // Whole messengers, a hundred messages and two PQXDH handshakes: seconds on a busy machine.
  this.timeout(120_000)

  for (const format of ['current', 'version 1'] as const) {
    it(`never reuses a (key, nonce) pair, and both sides keep talking (${format} backup)`, async () => {
      const { crypto, log } = recordingCrypto()
      const net = new TestNet(crypto)
      try {
        const alice = await newIdentity(crypto, 'alice')
        const bob = await newIdentity(crypto, 'bob')
        await net.publish(alice)
        await net.publish(bob)
        const oldStore = await net.store()
        const old = await net.start(alice, oldStore.store)
        const b = await net.start(bob, (await net.store()).store)

        for (const text of ['a1', 'a2', 'a3']) await old.send(bob.handle, { kind: 'text', text })
        await received(b, ['a1', 'a2', 'a3'])
        await b.send(alice.handle, { kind: 'text', text: 'b1' })
        await received(old, ['b1'])

        // Bob is away: a message waits in alice's outbox when she backs up.
        net.setOnline(bob, undefined)
        await old.send(bob.handle, { kind: 'text', text: 'queued before the backup' })
        const keyFile = crypto.randomBytes(64)
        const backup = format === 'current'
          ? await encodeBackup(crypto, await collectBackup(oldStore.store, keyFile), PASS, CHEAP)
          : await versionOneBackup(crypto, oldStore.store, keyFile)
        net.setOnline(bob, b)

        // The old copy keeps sending: more than one send reservation (64 positions) on the same chain.
        const later = Array.from({ length: 70 }, (_, i) => `old copy ${i}`)
        for (const text of later) await old.send(bob.handle, { kind: 'text', text })
        await received(b, later)
        await net.stop(old)
        assert.deepEqual(log.reused(), [], "DEBUG before restore")

        const contents = await decodeBackup(crypto, backup, PASS)
        const newStore = await net.store()
        await restoreBackup(newStore.store, contents)
        const restored = await net.start(alice, newStore.store)
        const fresh = ['restored 1', 'restored 2', 'restored 3']
        for (const text of fresh) await restored.send(bob.handle, { kind: 'text', text })
        // Each message is encrypted before send resolves: a reused key shows now.
        assert.deepEqual(log.reused(), [], 'a (key, nonce) pair was used twice')

        await received(b, [...fresh, 'queued before the backup'])
        await b.send(alice.handle, { kind: 'text', text: 'b2' })
        await received(restored, ['b2'])
        await restored.send(bob.handle, { kind: 'text', text: 'restored 4' })
        await received(b, ['restored 4'])

        assert.deepEqual(log.reused(), [], 'a (key, nonce) pair was used twice')
        console.log(`      ${log.uses.size} (key, nonce) pairs, none reused; ${log.repeats} identical re-seals of an envelope for another direct attempt`)
        const contact = await b.contacts.get(alice.account.publicKey)
        assert.equal(contact?.keyChange, undefined, 'no safety-number change for the same device')
        const history = await b.history.messages(alice.account.publicKey)
        const fromAlice = history.filter(m => equalBytes(m.author.account, alice.account.publicKey)).map(m => 'text' in m.body ? m.body.text : '')
        assert.equal(fromAlice.filter(t => t === 'queued before the backup').length, 1, 'the unsent message is stored once')
        assert.equal(fromAlice.length, 3 + 1 + 70 + 4)
        assert.equal(history.length - fromAlice.length, 2, "bob's own b1 and b2")
      } finally {
        await net.close()
      }
    })
  }

  it('a message the contact queued under the old session reaches the restored device: sent again under the new one, stored once', async () => {
    const { crypto } = recordingCrypto()
    const net = new TestNet(crypto)
    try {
      const alice = await newIdentity(crypto, 'alice')
      const bob = await newIdentity(crypto, 'bob')
      await net.publish(alice)
      await net.publish(bob)
      const oldStore = await net.store()
      const old = await net.start(alice, oldStore.store)
      const b = await net.start(bob, (await net.store()).store)
      await old.send(bob.handle, { kind: 'text', text: 'a1' })
      await received(b, ['a1'])
      await b.send(alice.handle, { kind: 'text', text: 'b1' })
      await received(old, ['b1'])
      const backup = await encodeBackup(crypto, await collectBackup(oldStore.store, crypto.randomBytes(64)), PASS, CHEAP)
      await net.stop(old)

      // Alice is away; bob writes under the session the restored device will not have.
      const waiting = await b.send(alice.handle, { kind: 'text', text: 'while you restore' })
      assert.equal(b.delivery.size, 1)
      const newStore = await net.store()
      await restoreBackup(newStore.store, await decodeBackup(crypto, backup, PASS))
      const restored = await net.start(alice, newStore.store)
      const got = received(restored, ['while you restore'])
      // Her first message starts a new session; bob sends what waits for her again under it.
      await restored.send(bob.handle, { kind: 'text', text: 'back' })
      await received(b, ['back'])
      await got
      const view = await b.conversation(alice.handle)
      assert.equal(view.statuses[waiting.id]?.state, 'delivered')
      assert.equal(b.delivery.size, 0, 'every copy left bob\'s outbox')
      const texts = (await restored.history.messages(bob.account.publicKey)).map(m => 'text' in m.body ? m.body.text : '')
      assert.equal(texts.filter(t => t === 'while you restore').length, 1, 'stored once')
    } finally {
      await net.close()
    }
  })
})
