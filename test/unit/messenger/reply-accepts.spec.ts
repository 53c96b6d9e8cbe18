/**
 * Writing to someone whose message request is pending accepts it (as a
 * reply does in other messengers), however the recipient was found: by a
 * fresh resolution, or, with the DHT unable to answer, from the contact's
 * kept records (before: the second way left the request pending, so the
 * contact's attachments waited as a request's; seen in the acid test on a
 * busy machine). Receipts going out by themselves accept nothing.
 */
import assert from 'node:assert/strict'
import { createCrypto } from '../../../src/crypto/index.js'
import { TestNet, newIdentity, received } from './pair.js'

const crypto = createCrypto()

describe('messenger: writing to a message request accepts it', function () {
  this.timeout(60_000)
  let net: TestNet

  beforeEach(() => { net = new TestNet(crypto) })
  afterEach(async () => { await net.close() })

  for (const dht of ['answers', 'cannot answer'] as const) {
    it(`the DHT ${dht}: a receipt leaves the request pending, a message accepts it`, async () => {
      const alice = await newIdentity(crypto, 'alice')
      const bob = await newIdentity(crypto, 'bob')
      await net.publish(alice)
      await net.publish(bob)
      const a = await net.start(alice, (await net.store()).store)
      const b = await net.start(bob, (await net.store()).store)
      await a.send(bob.handle, { kind: 'text', text: 'hello bob' })
      await received(b, ['hello bob'])
      const account = await b.accountOf(alice.handle)
      assert.equal((await b.contacts.get(account))?.state, 'request')
      if (dht === 'cannot answer') net.unpublish(alice)

      await b.markRead(alice.handle)
      assert.equal((await b.contacts.get(account))?.state, 'request', 'a read receipt accepts nothing')
      await b.send(alice.handle, { kind: 'text', text: 'hi alice' })
      assert.equal((await b.contacts.get(account))?.state, 'accepted')
      await received(a, ['hi alice'])
    })
  }
})
