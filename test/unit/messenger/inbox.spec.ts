/**
 * The way in (inbox.ts) alone: bob's contacts, sessions and history over an
 * in-memory store, delivery replaced by a log, and envelopes made by alice's
 * real sessions (parts-fixture.ts). What opens, decrypts and validates is
 * stored once; anything else, including a message claiming another author
 * than the account its session proves, is refused and stores nothing.
 */
import assert from 'node:assert/strict'
import { RequestBudget } from '../../../src/messenger/request-budget.js'
import { Inbox } from '../../../src/messenger/inbox.js'
import { sealEnvelope } from '../../../src/crypto/envelope.js'
import { toHex } from '../../../src/messenger/bytes.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { fakeDirectory, testDevice } from './harness.js'
import type { TestDevice } from './harness.js'
import { Sender, deviceState, messageFrom } from './parts-fixture.js'
import type { DeviceState } from './parts-fixture.js'

const T0 = Date.UTC(2026, 11, 6)

describe('messenger: Inbox', function () {
  this.timeout(30_000)
  let alice: TestDevice
  let bob: TestDevice
  let mallory: TestDevice
  let state: DeviceState
  let inbox: Inbox
  let sender: Sender
  let reachable: string[]
  let acknowledged: Array<{ ids: string[], device: string, state: string, conversation: string }>
  let stored: number[]

  beforeEach(async () => {
    alice = await testDevice(crypto, 'alice', T0)
    bob = await testDevice(crypto, 'bob', T0)
    mallory = await testDevice(crypto, 'mallory', T0)
    state = await deviceState(crypto, () => T0)
    reachable = []
    acknowledged = []
    stored = []
    inbox = new Inbox({
      crypto,
      identity: bob.identity,
      directory: fakeDirectory([alice, bob, mallory]),
      store: state.store,
      history: state.history,
      sessions: state.sessions,
      contacts: state.contacts,
      requests: new RequestBudget(state.contacts),
      delivery: {
        reachable: (device) => { reachable.push(device) },
        acknowledged: async (ids, device, s, conversation) => { acknowledged.push({ ids, device, state: s, conversation: toHex(conversation) }) }
      },
      commit: state.commit,
      emit: state.emit,
      now: () => T0,
      restarted: () => {},
      onStored: (at) => { stored.push(at) }
    })
    sender = new Sender(crypto, alice, bob, await deviceState(crypto, () => T0), () => T0)
  })

  it('stores a message from a stranger as a request, once; the same envelope again is a duplicate', async () => {
    const message = messageFrom(crypto, alice, { kind: 'text', text: 'hello bob' })
    const envelope = await sender.envelope(message)
    const result = await inbox.receive(envelope, 'direct', alice.peerId)
    assert.ok(result != null)
    assert.deepEqual(result.message.id, message.id)
    assert.ok(result.device.equals(alice.peerId))
    const history = await state.history.messages(alice.accountKey)
    assert.deepEqual(history.map(m => 'text' in m.body ? m.body.text : ''), ['hello bob'])
    assert.equal((await state.contacts.get(alice.accountKey))?.state, 'request')
    assert.deepEqual(reachable, [alice.peerId.toString()], 'it wrote directly: it is reachable')
    assert.equal(stored.length, 1)
    const event = state.events.find(e => e.type === 'message')
    assert.ok(event?.type === 'message' && event.direction === 'in')
    assert.equal(event.handle, alice.handle)
    assert.equal(event.request, true)
    assert.equal(event.text, 'hello bob')

    await assert.rejects(inbox.receive(envelope, 'relay'), { name: 'DuplicateEnvelopeError' })
    assert.equal((await state.history.messages(alice.accountKey)).length, 1)
  })

  it('refuses bytes that are no envelope, and an envelope sealed to another key, storing nothing', async () => {
    await assert.rejects(inbox.receive(crypto.randomBytes(20), 'direct', alice.peerId), { name: 'RejectedEnvelopeError' })
    const inner = crypto.randomBytes(200)
    const { envelope } = await sealEnvelope(crypto, mallory.identity.identityKey.publicKey, { accountKey: alice.accountKey, identityKey: alice.identity.identityKey }, inner)
    await assert.rejects(inbox.receive(envelope, 'direct', alice.peerId), { name: 'RejectedEnvelopeError' })
    assert.deepEqual(await state.contacts.list(), [])
    assert.deepEqual(state.events, [])
  })

  it('refuses a message whose author is another account than the one its session proves (a forged sender)', async () => {
    // Alice's session, alice's envelope, a message that says mallory wrote it.
    const forged = messageFrom(crypto, mallory, { kind: 'text', text: 'from mallory, honest' })
    await assert.rejects(inbox.receive(await sender.envelope(forged), 'direct', alice.peerId), { name: 'RejectedEnvelopeError' })
    assert.deepEqual(await state.history.messages(mallory.accountKey), [])
    assert.deepEqual(await state.history.messages(alice.accountKey), [])
    assert.equal(await state.contacts.get(mallory.accountKey), undefined)
    // The session was not advanced by the refused message: alice's next one still decrypts.
    const next = messageFrom(crypto, alice, { kind: 'text', text: 'really me' })
    assert.ok(await inbox.receive(await sender.envelope(next), 'relay') != null)
  })

  it('passes a delivery receipt to delivery with the sender\'s device and conversation', async () => {
    await inbox.receive(await sender.envelope(messageFrom(crypto, alice, { kind: 'text', text: 'first' })), 'relay')
    const ours = crypto.randomBytes(16)
    await inbox.receive(await sender.envelope(messageFrom(crypto, alice, { kind: 'delivered', ids: [ours] }, 2)), 'relay')
    assert.deepEqual(acknowledged, [{ ids: [toHex(ours)], device: alice.peerId.toString(), state: 'delivered', conversation: toHex(alice.accountKey) }])
    assert.deepEqual(reachable, [], 'through a relay says nothing of reachability')
  })

  it('drops what a blocked contact sends, and stores nothing of it', async () => {
    await inbox.receive(await sender.envelope(messageFrom(crypto, alice, { kind: 'text', text: 'first' })), 'direct', alice.peerId)
    await state.contacts.setState(alice.accountKey, 'blocked')
    const events = state.events.length
    assert.equal(await inbox.receive(await sender.envelope(messageFrom(crypto, alice, { kind: 'text', text: 'again' }, 2)), 'direct', alice.peerId), undefined)
    assert.deepEqual((await state.history.messages(alice.accountKey)).map(m => 'text' in m.body ? m.body.text : ''), ['first'])
    assert.equal(state.events.length, events)
  })

  it('drops a message whose sender is blocked while it is being opened (after its contact was read, before it is written)', async () => {
    await inbox.receive(await sender.envelope(messageFrom(crypto, alice, { kind: 'text', text: 'first' })), 'direct', alice.peerId)
    const pin = state.contacts.pinIncoming.bind(state.contacts)
    // The user's block lands right after the message pinned its sender.
    state.contacts.pinIncoming = async (...args) => {
      const contact = await pin(...args)
      await state.contacts.setState(alice.accountKey, 'blocked')
      return contact
    }
    const events = state.events.length
    assert.equal(await inbox.receive(await sender.envelope(messageFrom(crypto, alice, { kind: 'text', text: 'sent as you blocked' }, 2)), 'direct', alice.peerId), undefined)
    assert.deepEqual((await state.history.messages(alice.accountKey)).map(m => 'text' in m.body ? m.body.text : ''), ['first'])
    assert.equal(state.events.length, events, 'nothing shown')
    assert.equal((await state.contacts.get(alice.accountKey))?.state, 'blocked')
  })
})
