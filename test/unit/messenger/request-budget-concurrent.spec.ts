/**
 * The message-request budget (request-budget.ts) under concurrency: first
 * messages of many strangers arriving at once (one direct stream each, as a
 * flood from fresh identities does) are admitted against the counts as they
 * are before any of them is saved.
 */
import assert from 'node:assert/strict'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import { makeReceiver, makeSender } from './parties.js'
import type { Receiver } from './parties.js'

const T0 = Date.UTC(2026, 11, 7)

describe('messenger: message requests arriving at once', function () {
  this.timeout(120_000)
  let receiver: Receiver
  afterEach(async () => { await receiver.close() })

  it('strangers writing at once never open more requests than the pending limit', async () => {
    const crypto = createNodeCrypto()
    receiver = await makeReceiver(crypto, { now: () => T0, init: { requestLimits: { pending: 3 } } })
    const strangers = await Promise.all(Array.from({ length: 12 }, async (_, i) => makeSender(crypto, receiver.me, T0, `s${i}`)))
    const envelopes = await Promise.all(strangers.map(async s => await s.message({ kind: 'text', text: 'hello' })))
    const outcomes = await Promise.allSettled(strangers.map(async (s, i) => { await receiver.messenger.receiveDirect(envelopes[i], s.account.peerId) }))
    const stored = outcomes.filter(o => o.status === 'fulfilled').length
    const requests = (await receiver.messenger.contacts.list()).filter(c => c.state === 'request').length
    assert.equal(requests, stored, 'a request record for each stored first message')
    assert.ok(requests <= 3, `${requests} requests pending, the limit is 3`)
  })

})
