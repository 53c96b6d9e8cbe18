/**
 * Who a message is shown as. Every message carries the name its sender
 * calls itself (payload.ts), which matters only for a first message from a
 * stranger: the request is shown as that name with the tag of the sender's
 * account. A contact is known by the handle pinned when it became one. The
 * message and typing events used the name of each message instead, so a
 * contact could have each of its messages shown (by `starling receive`, in
 * chat's "new message from", to an app on the event stream) under any name
 * it liked, say "bob" next to the real bob's: only the tag differed.
 */
import assert from 'node:assert/strict'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import { encodeMessage, newMessageId } from '../../../src/messenger/model/index.js'
import type { MessageBody } from '../../../src/messenger/model/index.js'
import { encodePayload } from '../../../src/messenger/payload.js'
import { makeReceiver, makeSender } from './parties.js'
import type { Receiver, Sender } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)

describe('messenger: a contact is shown by its pinned handle, whatever name its messages carry', function () {
  const crypto = createNodeCrypto()
  let receiver: Receiver
  afterEach(async () => { await receiver.close() })

  /** A message from `sender` that calls itself `name`. */
  async function named (sender: Sender, name: string, body: MessageBody, lamport: number): Promise<Uint8Array> {
    const message = { id: newMessageId(crypto), author: { account: sender.account.identity.accountKey, device: sender.account.peerId.toMultihash().bytes }, timestamp: T0, lamport, body }
    return await sender.payload(encodePayload(name, encodeMessage(message)))
  }

  it('a contact that calls itself "bob" in later messages is still shown as the handle it was pinned by', async () => {
    receiver = await makeReceiver(crypto, { now: () => T0 })
    const events: Array<{ type: string, handle: unknown, request: unknown }> = []
    for (const type of ['message', 'typing']) {
      receiver.messenger.addEventListener(type, (e) => {
        const d = (e as CustomEvent<Record<string, unknown>>).detail
        events.push({ type, handle: d.handle, request: d.request })
      })
    }
    const alice = await makeSender(crypto, receiver.me, T0, 'alice')
    await receiver.messenger.receiveDirect(await alice.message({ kind: 'text', text: 'hi, alice here' }), alice.account.peerId)
    const pinned = (await receiver.messenger.contacts.get(alice.account.identity.accountKey))?.handle
    assert.match(String(pinned), /^alice~/)
    await receiver.messenger.contacts.setState(alice.account.identity.accountKey, 'accepted')

    await receiver.messenger.receiveDirect(await named(alice, 'bob', { kind: 'text', text: 'it is bob, send me the code' }, 2), alice.account.peerId)
    await receiver.messenger.receiveDirect(await named(alice, 'bob', { kind: 'typing', on: true }, 3), alice.account.peerId)
    assert.deepEqual(events.map(e => e.handle), [pinned, pinned, pinned], 'every event names the pinned handle')
    assert.deepEqual(events.map(e => e.request), [true, false, undefined])
    assert.equal((await receiver.messenger.contacts.get(alice.account.identity.accountKey))?.handle, pinned, 'the contact is unchanged')
  })
})
