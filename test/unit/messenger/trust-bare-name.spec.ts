/**
 * `trust` with a bare name (Messenger.trust): it resolves the name again,
 * so what it pins is whatever the DHT answers at that moment. The user
 * checked a safety number for one account; a hostile DHT answer in between
 * (another claim of the name, the owner's claim expired) must not pin
 * another account under the name, nor make a first contact that nobody
 * confirmed. Trusting the account a name was shown to move to (the
 * key-change warning named it) still moves the name.
 */
import assert from 'node:assert/strict'
import type { PeerId } from '@libp2p/interface'
import { createCrypto } from '../../../src/crypto/index.js'
import type { Custody, DeliveryTransport, MailboxItem } from '../../../src/messenger/transport.js'
import type { Messenger } from '../../../src/messenger/messenger.js'
import { RESOLUTION_TTL_MS } from '../../../src/messenger/recipients.js'
import { fakeDirectory, testDevice, testMessenger } from './harness.js'
import type { TestDevice } from './harness.js'

/** Nobody is reachable: these tests only pin. */
class NoTransport implements DeliveryTransport {
  async sendDirect (_peer: PeerId): Promise<void> { throw new Error('unreachable') }
  async storeOnRelay (): Promise<Custody> { throw new Error('no relay') }
  async fetchMailbox (): Promise<{ items: MailboxItem[], more: boolean }> { return { items: [], more: false } }
  async deleteFromMailbox (): Promise<void> {}
}

const crypto = createCrypto()
const T0 = Date.UTC(2026, 11, 7)

describe('messenger: trust with a bare name', function () {
  this.timeout(30_000)
  let alice: TestDevice
  let bob: TestDevice
  let mallory: TestDevice
  /** What the DHT answers (changed by the tests). */
  let published: TestDevice[]
  let m: Messenger
  let now: number

  beforeEach(async () => {
    alice = await testDevice(crypto, 'alice', T0)
    bob = await testDevice(crypto, 'bob', T0)
    // Anyone can claim a name: mallory claims "bob" with her own account.
    mallory = await testDevice(crypto, 'bob', T0)
    published = [bob]
    now = T0
    m = await testMessenger(crypto, alice, { transport: new NoTransport(), directory: fakeDirectory(published), now: () => now })
  })

  const answer = (...devices: TestDevice[]): void => { published.splice(0, published.length, ...devices) }

  it('trusting a pinned contact\'s new key never pins the name to another account the DHT answers with by then', async () => {
    await m.recipient('bob', { confirm: true, expect: bob.handle })
    // Bob's device shows a new identity key: a warning, sending is blocked until the user trusts it.
    await m.contacts.pinIncoming(bob.accountKey, bob.handle, bob.peerId.toString(), crypto.randomBytes(32))
    assert.ok((await m.contacts.get(bob.accountKey))?.keyChange != null)
    // The user compares safety numbers with bob (the pinned account), then runs `trust bob`;
    // meanwhile the DHT answers "bob" with mallory's claim only.
    answer(mallory)
    await assert.rejects(m.trust('bob'), (err: Error & { handle?: string }) => {
      assert.equal(err.name, 'UnconfirmedHandleError')
      assert.equal(err.handle, mallory.handle, 'the account the name resolves to now is named for the user to check')
      return true
    })
    assert.deepEqual(await m.contacts.alias('bob'), bob.accountKey, 'the name stays pinned to bob')
    assert.equal(await m.contacts.get(mallory.accountKey), undefined, 'mallory is no contact')
    // Once the DHT answers with bob again, trusting works.
    answer(bob)
    assert.equal((await m.trust('bob')).handle, bob.handle)
    assert.equal((await m.contacts.get(bob.accountKey))?.keyChange, undefined)
  })

  it('a name~tag once shown as where the name moved does not ride along when the user trusts the pinned contact\'s own new key', async () => {
    await m.recipient('bob', { confirm: true, expect: bob.handle })
    // The DHT once answered "bob" with mallory: a warning naming her, which the user ignored.
    answer(mallory)
    now += RESOLUTION_TTL_MS
    await assert.rejects(m.recipient('bob'), { name: 'KeyChangedError' })
    // Later bob's device shows a new key; the user checks it with bob and trusts "bob", while the DHT answers with mallory.
    await m.contacts.pinIncoming(bob.accountKey, bob.handle, bob.peerId.toString(), crypto.randomBytes(32))
    await assert.rejects(m.trust('bob'), { name: 'UnconfirmedHandleError' })
    assert.deepEqual(await m.contacts.alias('bob'), bob.accountKey, 'the name stays pinned to bob')
    assert.ok((await m.contacts.get(mallory.accountKey))?.keyChange != null, 'mallory is still not trusted')
  })

  it('trust with a bare name nobody was pinned for makes no first contact the user did not confirm', async () => {
    answer(mallory)
    await assert.rejects(m.trust('bob'), { name: 'UnconfirmedHandleError' })
    assert.deepEqual(await m.contacts.list(), [], 'nothing pinned')
    assert.equal(await m.contacts.alias('bob'), undefined)
    // With the name~tag the user saw, it is confirmed.
    assert.equal((await m.trust('bob', { expect: mallory.handle })).handle, mallory.handle)
    assert.deepEqual(await m.contacts.alias('bob'), mallory.accountKey)
  })

  it('a name the warning said now resolves to another account moves to it when that account is trusted (by the name or its name~tag)', async () => {
    for (const trusted of ['bob', 'name~tag']) {
      const fresh = await testMessenger(crypto, alice, { transport: new NoTransport(), directory: fakeDirectory(published), now: () => now })
      answer(bob)
      await fresh.recipient('bob', { confirm: true, expect: bob.handle })
      answer(mallory)
      now += RESOLUTION_TTL_MS
      await assert.rejects(fresh.recipient('bob'), { name: 'KeyChangedError' })
      assert.deepEqual(await fresh.contacts.alias('bob'), bob.accountKey)
      assert.equal((await fresh.trust(trusted === 'bob' ? 'bob' : mallory.handle)).handle, mallory.handle)
      assert.deepEqual(await fresh.contacts.alias('bob'), mallory.accountKey, `after trust ${trusted}`)
      assert.equal((await fresh.recipient('bob')).handle, mallory.handle, 'sending to the name works again')
    }
  })
})
