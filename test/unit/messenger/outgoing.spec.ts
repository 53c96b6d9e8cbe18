/**
 * The way out (outgoing.ts) alone: sessions, outbox and history over an
 * in-memory store, delivery replaced by a list. A message is encrypted for
 * each device, committed with its session state and outbox entry, and only
 * then handed to delivery; a device with neither a session nor prekeys
 * gets NoDeviceError and nothing is written.
 */
import assert from 'node:assert/strict'
import { Outgoing } from '../../../src/messenger/outgoing.js'
import type { OutboxEntry } from '../../../src/messenger/outbox.js'
import { remoteDevice } from '../../../src/messenger/devices.js'
import { encodeMessage } from '../../../src/messenger/model/index.js'
import { encodePayload } from '../../../src/messenger/payload.js'
import { toHex } from '../../../src/messenger/bytes.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { testDevice } from './harness.js'
import { deviceState, messageFrom } from './parts-fixture.js'

const T0 = Date.UTC(2026, 11, 6)

describe('messenger: Outgoing', function () {
  this.timeout(30_000)

  it('encrypts for the device, commits message, session and outbox entry, then hands the entry to delivery', async () => {
    const alice = await testDevice(crypto, 'alice', T0)
    const bob = await testDevice(crypto, 'bob', T0)
    const state = await deviceState(crypto, () => T0)
    const handed: Array<{ entry: OutboxEntry, stored: number }> = []
    let stored = 0
    const outgoing = new Outgoing({
      crypto,
      identity: alice.identity,
      sessions: state.sessions,
      outbox: state.outbox,
      history: state.history,
      writer: state.writer,
      commit: async (ops, keys, options) => {
        await state.commit(ops, keys, options)
        stored++
      },
      delivery: { add: (entry) => { handed.push({ entry, stored }) } },
      now: () => T0
    })
    const device = remoteDevice(bob.record)
    for (const text of ['first', 'second']) {
      const message = messageFrom(crypto, alice, { kind: 'text', text })
      await outgoing.plaintext(bob.accountKey, [device], encodePayload('alice', encodeMessage(message)), message.id, 'content', state.history.putOps(bob.accountKey, message))
    }
    assert.equal(handed.length, 2)
    assert.equal(handed[0].stored, 1, 'the first message went to delivery only after its synced commit')
    const [first, second] = handed.map(h => h.entry)
    assert.equal(first.device, bob.peerId.toString())
    assert.equal(first.identityKey, toHex(device.identityKey))
    assert.ok(first.inner != null && first.envelope == null, 'delivery seals it for the path it takes')
    assert.ok(first.confirms != null, 'a new session waits for the device to confirm it')
    assert.notEqual(first.envelopeId, second.envelopeId)
    const outbox = await state.outbox.load()
    assert.deepEqual(outbox.map(e => e.envelopeId).sort(), [first.envelopeId, second.envelopeId].sort())
    assert.equal((await state.history.messages(bob.accountKey)).length, 2)
    assert.ok((await state.sessions.get(device.identityKey)).current != null, 'the session is stored')
  })

  it('a device with no session and no prekeys: NoDeviceError, and nothing is written or handed on', async () => {
    const alice = await testDevice(crypto, 'alice', T0)
    const bob = await testDevice(crypto, 'bob', T0)
    const state = await deviceState(crypto, () => T0)
    const handed: OutboxEntry[] = []
    const outgoing = new Outgoing({
      crypto,
      identity: alice.identity,
      sessions: state.sessions,
      outbox: state.outbox,
      history: state.history,
      writer: state.writer,
      commit: state.commit,
      delivery: { add: (entry) => { handed.push(entry) } },
      now: () => T0
    })
    const noPrekeys = { ...remoteDevice(bob.record), bundle: undefined }
    const message = messageFrom(crypto, alice, { kind: 'text', text: 'hi' })
    await assert.rejects(
      outgoing.plaintext(bob.accountKey, [noPrekeys], encodePayload('alice', encodeMessage(message)), message.id, 'content', state.history.putOps(bob.accountKey, message)),
      { name: 'NoDeviceError' })
    assert.deepEqual(handed, [])
    assert.deepEqual(await state.outbox.load(), [])
    assert.deepEqual(await state.history.messages(bob.accountKey), [])
  })
})
