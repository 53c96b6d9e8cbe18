/**
 * A stranger cannot fill our disk with a message request (found by the
 * attack review of the security issue). Relays bound what one source keeps
 * in a mailbox, but a stranger's session is as good as a contact's once its
 * first message is answered, and the direct path has no per-source budget.
 * Before: 1,000 maximal texts from one stranger, written straight to the
 * receive path (LevelDB on disk), were all stored. Now a request keeps at
 * most 50 messages and 256 KiB until accepted, all requests together 16 MiB
 * and at most 200 pending; what does not fit is refused (not stored, not
 * acknowledged: an honest sender tries again), and accepting the request
 * lifts the limit.
 */
import assert from 'node:assert/strict'
import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import { makeReceiver, makeSender } from './parties.js'
import { MAX_REQUEST_MESSAGES } from '../../../src/messenger/request-budget.js'
import type { Receiver } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)
const MESSAGES = 1_000
/** What a stranger's request should be able to make us keep, at most (generous). */
const REQUEST_BUDGET_BYTES = 1024 * 1024

async function dirBytes (dir: string): Promise<number> {
  let total = 0
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size
  return total
}

describe('messenger: a stranger\'s message request cannot fill the disk', function () {
  this.timeout(300_000)
  let receiver: Receiver
  afterEach(async () => { await receiver.close() })

  it(`${MESSAGES} maximal texts from one stranger, written directly: what the request makes us keep stays within ${REQUEST_BUDGET_BYTES} bytes`, async () => {
    const crypto = createNodeCrypto()
    receiver = await makeReceiver(crypto, { now: () => T0 })
    const location = receiver.store.location
    const mallory = await makeSender(crypto, receiver.me, T0)
    // Text that does not compress: LevelDB compresses its blocks.
    const randomText = (): string => Array.from(crypto.randomBytes(10_000), b => String.fromCharCode(33 + (b % 94))).join('')
    let stored = 0
    await receiver.messenger.receiveDirect(await mallory.message({ kind: 'text', text: 'hi' }), mallory.account.peerId)
    const before = await dirBytes(location)
    for (let i = 0; i < MESSAGES; i++) {
      try {
        await receiver.messenger.receiveDirect(await mallory.message({ kind: 'text', text: randomText() }, 2 + i), mallory.account.peerId)
        stored++
      } catch {
        // Refused: what a fix would do.
      }
    }
    await receiver.messenger.writer.flush()
    const view = await receiver.messenger.history.view(mallory.account.identity.accountKey)
    const kept = view.messages.reduce((n, m) => n + (m.text?.length ?? 0), 0)
    const contact = await receiver.messenger.contacts.get(mallory.account.identity.accountKey)
    process.stdout.write(`      stored ${stored} of ${MESSAGES}; the request (${contact?.state ?? 'none'}) holds ${view.messages.length} messages, ${kept} characters; store directory ${before} -> ${await dirBytes(location)} bytes\n`)
    assert.ok(kept <= REQUEST_BUDGET_BYTES, `a message request made us keep ${kept} characters`)
    assert.ok(view.messages.length <= MAX_REQUEST_MESSAGES)
    // Accepted, the same sender is a contact: its next message is stored whatever the request kept.
    await receiver.messenger.contacts.setState(mallory.account.identity.accountKey, 'accepted')
    await receiver.messenger.receiveDirect(await mallory.message({ kind: 'text', text: 'accepted now' }, 5_000), mallory.account.peerId)
    const after = await receiver.messenger.history.view(mallory.account.identity.accountKey)
    assert.equal(after.messages.at(-1)?.text, 'accepted now')
  })

  it('requests together are bounded: past the pending limit a new stranger is refused, a contact never; accepting one makes room', async () => {
    const crypto = createNodeCrypto()
    receiver = await makeReceiver(crypto, { now: () => T0, init: { requestLimits: { pending: 3 } } })
    const strangers = await Promise.all(Array.from({ length: 4 }, async (_, i) => makeSender(crypto, receiver.me, T0, `s${i}`)))
    const outcomes: string[] = []
    for (const s of strangers) {
      try {
        await receiver.messenger.receiveDirect(await s.message({ kind: 'text', text: 'hello' }), s.account.peerId)
        outcomes.push('stored')
      } catch (err) {
        outcomes.push((err as Error).name)
      }
    }
    assert.deepEqual(outcomes, ['stored', 'stored', 'stored', 'RejectedEnvelopeError'])
    assert.equal(await receiver.messenger.contacts.get(strangers[3].account.identity.accountKey), undefined, 'no contact record for the refused stranger')
    await receiver.messenger.contacts.setState(strangers[0].account.identity.accountKey, 'accepted')
    // The refused stranger tries again (a new session, as an honest client whose first message was not acknowledged would resend it).
    const again = await makeSender(crypto, receiver.me, T0, 's3')
    await receiver.messenger.receiveDirect(await again.message({ kind: 'text', text: 'hello again' }), again.account.peerId)
    assert.equal((await receiver.messenger.contacts.get(again.account.identity.accountKey))?.state, 'request')
  })
})
