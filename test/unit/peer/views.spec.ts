/**
 * What src/peer shows a user (views.ts) and does with contacts
 * (actions.ts), from whole messengers over an in-memory network
 * (test/unit/messenger/pair.ts): a history with each of our messages'
 * delivery state as it moves (queued, delivered, read), replies and
 * reactions in the timeline, equal safety numbers on both sides, the
 * contact list, and message requests accepted or refused by name.
 */
import assert from 'node:assert/strict'
import { acceptContact, blockContact, contactsView, conversationsView, historyView, resolutionView, safetyNumberView, trustContact } from '../../../src/peer/index.js'
import type { HistoryView } from '../../../src/peer/index.js'
import type { Messenger } from '../../../src/messenger/messenger.js'
import { createCrypto } from '../../../src/crypto/index.js'
import { TestNet, newIdentity, received } from '../messenger/pair.js'

const crypto = createCrypto()

/** Resolves with `handle`'s history on `messenger` once it satisfies `done`, looking again after each status or message event. */
async function until (messenger: Messenger, handle: string, done: (h: HistoryView) => boolean): Promise<HistoryView> {
  for (;;) {
    // Listening before reading: an event between the two is not missed.
    let listener = (): void => {}
    const changed = new Promise<void>(resolve => { listener = resolve })
    messenger.addEventListener('status', listener)
    messenger.addEventListener('message', listener)
    try {
      const view = await historyView(messenger, handle)
      if (done(view)) return view
      await changed
    } finally {
      messenger.removeEventListener('status', listener)
      messenger.removeEventListener('message', listener)
    }
  }
}

describe('peer: views and actions', function () {
  this.timeout(60_000)
  let net: TestNet

  beforeEach(() => { net = new TestNet(crypto) })
  afterEach(async () => { await net.close() })

  it('the history shows our messages queued while the contact is away, then delivered, then read; theirs without a state', async () => {
    const alice = await newIdentity(crypto, 'alice')
    const bob = await newIdentity(crypto, 'bob')
    await net.publish(alice)
    await net.publish(bob)
    const a = await net.start(alice, (await net.store()).store)
    const b = await net.start(bob, (await net.store()).store)
    net.setOnline(bob, undefined)
    const first = await a.send(bob.handle, { kind: 'text', text: 'hello bob' })
    let view = await historyView(a, bob.handle)
    assert.equal(view.handle, bob.handle)
    assert.equal(view.messages.length, 1)
    assert.equal(view.messages[0].id, first.id)
    assert.equal(view.messages[0].text, 'hello bob')
    assert.equal(view.messages[0].sendState, 'queued')

    net.setOnline(bob, b)
    a.reachable(bob.peerId)
    view = await until(a, bob.handle, h => h.messages[0].sendState === 'delivered')
    assert.equal(view.messages[0].sendState, 'delivered')
    await received(b, ['hello bob'])
    const theirs = await historyView(b, alice.handle)
    assert.equal(theirs.messages[0].id, first.id)
    assert.equal(theirs.messages[0].sendState, undefined, 'a received message has no send state')

    await b.markRead(alice.handle)
    view = await until(a, bob.handle, h => h.messages[0].sendState === 'read')
    assert.equal(view.messages[0].sendState, 'read')

    // A reply and a reaction: the timeline shows both, the limit keeps the newest.
    const reply = await b.send(alice.handle, { kind: 'reply', target: Buffer.from(first.id, 'hex'), text: 'hi alice' })
    await b.send(alice.handle, { kind: 'reaction', target: Buffer.from(first.id, 'hex'), emoji: '👍', action: 'add' })
    await received(a, ['hi alice'])
    view = await until(a, bob.handle, h => (h.messages[0].reactions as unknown[]).length === 1)
    assert.equal(view.messages.length, 2)
    assert.deepEqual(view.messages[1].replyTo, { id: first.id, found: true })
    const last = await historyView(a, bob.handle, 1)
    assert.deepEqual(last.messages.map(m => m.id), [reply.id])
  })

  it('safety numbers are equal on both sides; contacts, requests, accept and block by name', async () => {
    const alice = await newIdentity(crypto, 'alice')
    const bob = await newIdentity(crypto, 'bob')
    const carol = await newIdentity(crypto, 'carol')
    for (const id of [alice, bob, carol]) await net.publish(id)
    const a = await net.start(alice, (await net.store()).store)
    const b = await net.start(bob, (await net.store()).store)
    await a.send(bob.handle, { kind: 'text', text: 'hello' })
    await received(b, ['hello'])

    const ours = await safetyNumberView(a, crypto, bob.handle)
    const theirs = await safetyNumberView(b, crypto, alice.handle)
    assert.match(ours.digits, /^\d{60}$/)
    assert.equal(ours.digits, theirs.digits)
    assert.equal(ours.handle, bob.handle)
    assert.equal(ours.keyChange, null)

    assert.deepEqual(await contactsView(b), [{ handle: alice.handle, state: 'request', keyChange: null, devices: [alice.peerId.toString()] }])
    assert.deepEqual(await acceptContact(b, alice.handle), { handle: alice.handle, state: 'accepted' })
    assert.equal((await contactsView(b))[0].state, 'accepted')
    assert.deepEqual(await blockContact(b, alice.handle), { handle: alice.handle, state: 'blocked' })
    // Someone resolvable who never wrote and was never written to is no contact: nothing to accept or block.
    await assert.rejects(acceptContact(b, carol.handle), { name: 'NotAContactError' })
    await assert.rejects(blockContact(b, carol.handle), { name: 'NotAContactError' })
    assert.equal((await contactsView(b)).length, 1)

    const trusted = await trustContact(a, bob.handle)
    assert.equal(trusted.handle, bob.handle)
    assert.deepEqual(trusted.devices, [bob.peerId.toString()])
  })

  it('the conversation list shows each conversation\'s unread count and newest message, newest conversation first', async () => {
    const alice = await newIdentity(crypto, 'alice')
    const bob = await newIdentity(crypto, 'bob')
    const carol = await newIdentity(crypto, 'carol')
    for (const id of [alice, bob, carol]) await net.publish(id)
    const a = await net.start(alice, (await net.store()).store)
    const b = await net.start(bob, (await net.store()).store)
    const c = await net.start(carol, (await net.store()).store)
    await b.send(alice.handle, { kind: 'text', text: 'one' })
    await b.send(alice.handle, { kind: 'text', text: 'two' })
    await received(a, ['one', 'two'])
    await c.send(alice.handle, { kind: 'text', text: 'from carol' })
    await received(a, ['one', 'two', 'from carol'])
    // Newest first (two conversations may share a millisecond: then either order is right).
    const sorted = (l: Array<{ last?: { timestamp: number } }>): boolean => l.every((x, i) => i === 0 || (l[i - 1].last?.timestamp ?? 0) >= (x.last?.timestamp ?? 0))
    const row = (l: Awaited<ReturnType<typeof conversationsView>>, handle: string) => l.find(x => x.handle === handle)
    let list = await conversationsView(a)
    assert.equal(list.length, 2)
    assert.ok(sorted(list))
    assert.deepEqual([row(list, carol.handle)?.state, row(list, carol.handle)?.unread, row(list, carol.handle)?.last?.text, row(list, carol.handle)?.last?.mine], ['request', 1, 'from carol', false])
    assert.deepEqual([row(list, bob.handle)?.state, row(list, bob.handle)?.unread, row(list, bob.handle)?.last?.text], ['request', 2, 'two'])
    await acceptContact(a, bob.handle)
    await a.markRead(bob.handle)
    const mine = await a.send(bob.handle, { kind: 'text', text: 'read them' })
    list = await conversationsView(a)
    assert.ok(sorted(list))
    assert.deepEqual([row(list, bob.handle)?.state, row(list, bob.handle)?.unread, row(list, bob.handle)?.last?.id, row(list, bob.handle)?.last?.mine], ['accepted', 0, mine.id, true])
    assert.equal(row(list, carol.handle)?.unread, 1)
  })

  it('a resolution is shown with hex account keys and whether each device has a record', () => {
    const view = resolutionView({
      query: 'bob',
      unique: true,
      claims: [{
        handle: 'bob~aaaaaaaaaa',
        name: 'bob',
        tag: 'aaaaaaaaaa',
        accountKey: new Uint8Array(32).fill(0xab),
        fingerprint: 'abcd',
        claim: { name: 'bob', accountKey: new Uint8Array(32), devices: [], seq: 1, expiresAt: 2, signature: new Uint8Array(64) },
        devices: []
      }]
    })
    assert.equal(view.claims[0].accountKey, 'ab'.repeat(32))
    assert.deepEqual(view.claims[0].devices, [])
  })
})
