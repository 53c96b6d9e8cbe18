/**
 * A contact that keeps starting new sessions. When a device starts a new
 * session with us while we had one (a restored backup), what waits for it
 * is encrypted again under the new session, with the same message id
 * (messenger.resendPending). Every pending entry for the device was
 * encrypted again, the copies made at the previous restart included, so
 * each restart doubled them: a contact that does not acknowledge what we
 * send and starts k sessions (each a first message it can make in a
 * millisecond, answered at once since it is an accepted contact) turned N
 * waiting messages into N x 2^k outbox entries, each a synced write and an
 * encryption on our side.
 *
 * After the fix each waiting message has at most its first copy and one
 * copy under the newest session.
 */
import assert from 'node:assert/strict'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import { initiateSession } from '../../../src/crypto/session.js'
import { decodeDeviceRecord } from '../../../src/identity/index.js'
import { remoteDevice } from '../../../src/messenger/devices.js'
import { makeReceiver, makeSender } from './parties.js'
import type { Receiver } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)
const WAITING = 5
const RESTARTS = 8

describe('messenger: a contact that keeps restarting its session cannot multiply our outbox', function () {
  this.timeout(120_000)
  const crypto = createNodeCrypto()
  let receiver: Receiver
  afterEach(async () => { await receiver.close() })

  it(`${WAITING} waiting messages and ${RESTARTS} new sessions: at most two copies of each`, async () => {
    receiver = await makeReceiver(crypto, { now: () => T0, init: { retryIntervalMs: 3_600_000 } })
    const bob = receiver.messenger
    await bob.start()
    const mallory = await makeSender(crypto, receiver.me, T0, 'mallory')
    const account = mallory.account.identity.accountKey
    await bob.receiveDirect(await mallory.message({ kind: 'text', text: 'hi bob' }), mallory.account.peerId)
    await bob.contacts.setState(account, 'accepted')
    // Bob writes; mallory never acknowledges (bob's transport never gets through).
    const device = remoteDevice(decodeDeviceRecord(mallory.account.record))
    for (let i = 0; i < WAITING; i++) await bob.sendToAccount(account, [device], { kind: 'text', text: `to mallory ${i}` }, 'content')
    const content = (): number => bob.delivery.pendingFor(Buffer.from(mallory.account.identity.identityKey.publicKey).toString('hex')).filter(e => e.kind === 'content').length
    assert.equal(content(), WAITING)
    // Counts the copies queued from now on.
    let added = 0
    const add = bob.delivery.add.bind(bob.delivery)
    bob.delivery.add = (entry) => {
      if (entry.kind === 'content') added++
      add(entry)
    }

    for (let k = 1; k <= RESTARTS; k++) {
      // A new session from the same device: a fresh first message.
      mallory.session = (await initiateSession(crypto, mallory.account.identity, receiver.me.bundle)).state
      await bob.receiveDirect(await mallory.message({ kind: 'text', text: `restart ${k}` }, 1 + k), mallory.account.peerId)
      // resendPending runs in the background: wait until it has queued a copy of each waiting message (or more).
      for (let i = 0; i < 1_000 && added < k * WAITING; i++) await new Promise(resolve => setTimeout(resolve, 10))
      await new Promise(resolve => setTimeout(resolve, 50))
      process.stdout.write(`      after restart ${k}: ${content()} outbox entries for ${WAITING} messages (${added} copies queued so far)\n`)
      assert.ok(content() <= 2 * WAITING, `${content()} outbox entries for ${WAITING} waiting messages after ${k} restarts`)
    }
    // Every message still waits (none was dropped for good).
    const ids = new Set(bob.delivery.pendingFor(Buffer.from(mallory.account.identity.identityKey.publicKey).toString('hex')).filter(e => e.kind === 'content').map(e => e.messageId))
    assert.equal(ids.size, WAITING)
  })
})
