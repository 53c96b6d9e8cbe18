/**
 * Read receipts turned off (the web app's setting): marking a conversation
 * read clears its unread count here and tells the sender nothing, so the
 * sender's message stays "delivered", even after a later message from the
 * same reader has arrived (direct delivery keeps order in this net: a
 * receipt sent first would have come first). With receipts on, the same
 * steps show "read" (the control).
 */
import assert from 'node:assert/strict'
import { historyView } from '../../../src/peer/index.js'
import { createCrypto } from '../../../src/crypto/index.js'
import { TestNet, newIdentity, received } from './pair.js'

const crypto = createCrypto()

describe('messenger: read receipts off', function () {
  this.timeout(60_000)
  let net: TestNet

  beforeEach(() => { net = new TestNet(crypto) })
  afterEach(async () => { await net.close() })

  for (const receipt of [false, true]) {
    it(`markRead with receipt ${receipt ? 'on' : 'off'}: unread cleared, sender sees ${receipt ? 'read' : 'delivered'}`, async () => {
      const alice = await newIdentity(crypto, 'alice')
      const bob = await newIdentity(crypto, 'bob')
      await net.publish(alice)
      await net.publish(bob)
      const a = await net.start(alice, (await net.store()).store)
      const b = await net.start(bob, (await net.store()).store)
      const sent = await a.send(bob.handle, { kind: 'text', text: 'hello bob' })
      await received(b, ['hello bob'])
      await b.contacts.setState(await b.accountOf(alice.handle), 'accepted')

      assert.equal(await b.markRead(alice.handle, { receipt }), 1)
      assert.equal(await b.unreadCount(alice.account.publicKey), 0, 'marked read on this device either way')
      await b.send(alice.handle, { kind: 'text', text: 'after reading' })
      await received(a, ['after reading'])
      if (receipt) {
        for (let i = 0; i < 100 && (await historyView(a, bob.handle)).messages[0].sendState !== 'read'; i++) await new Promise(resolve => setImmediate(resolve))
      }
      const state = (await historyView(a, bob.handle)).messages.find(m => m.id === sent.id)?.sendState
      assert.equal(state, receipt ? 'read' : 'delivered')
    })
  }
})
