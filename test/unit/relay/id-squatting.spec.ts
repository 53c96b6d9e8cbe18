/**
 * A malicious relay of the set squats a real envelope's id (found by the
 * attack review; before the fix, this file was kept out of the suite). A
 * relay that is handed a real envelope learns its id; it gossips junk under
 * that id before the sender hands the real envelope to a second relay.
 * Before: relays kept one envelope per (mailbox, envelope id), a put of an
 * id already held was answered "duplicate" with a custody receipt whatever
 * the bytes, and the gossip message id was mailbox || envelope id, so the
 * junk shadowed the real envelope in every relay's store and in gossipsub's
 * seen-cache. The second relay receipted the real envelope while holding
 * only the junk (the sender read "held by 2 relays"); the recipient deleted
 * the junk by its hash, and the real envelope was held nowhere it had been
 * receipted.
 *
 * Now relays keep each version of an id (its bytes) side by side, a custody
 * receipt signs the hash of the bytes held (the sender checks it names the
 * bytes it handed over: see the store client and delivery), and a gossip
 * message id names the envelope's hash, so the real envelope spreads too.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import { sha256 } from '@noble/hashes/sha2.js'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { toHex } from '../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { StoreClient, envelopeRef, mailboxId, mailboxTopic } from '../../../src/protocols/store/index.js'
import { encodeEnvelopeGossip } from '../../../src/relay/index.js'
import { fakeClock, fakeEnvelope, meshRelays, startRelay, startUser, tempDir, waitFor } from './helpers.js'
import type { TestRelay, UserNode } from './helpers.js'

describe('relay: a malicious relay squats a real envelope\'s id', function () {
  this.timeout(60_000)
  const relays: TestRelay[] = []
  const removers: Array<() => Promise<void>> = []
  let user: UserNode
  let client: StoreClient

  before(async () => {
    const clock = fakeClock()
    for (let i = 0; i < 3; i++) {
      const tmp = await tempDir()
      removers.push(tmp.remove)
      relays.push(await startRelay({ location: join(tmp.dir, 'db'), store: { now: clock.now }, service: { now: clock.now } }))
    }
    await meshRelays(relays)
    user = await startUser()
    for (const relay of relays) await user.dial(relay.node.getMultiaddrs())
    client = new StoreClient(user, { now: clock.now })
  })

  after(async () => {
    await client.close()
    await user.stop()
    for (const relay of relays) await relay.stop()
    for (const remove of removers) await remove()
  })

  it('a relay that gave a custody receipt for an envelope serves that envelope, and keeps it once the junk under its id is deleted', async () => {
    const [evil, honest, third] = relays
    const key = await generateKeyPair('Ed25519')
    const mailbox = mailboxId(peerIdFromPrivateKey(key))
    const real = fakeEnvelope()
    const id = parseEnvelopeHeader(real).id
    // The sender hands the real envelope to the malicious relay first; it
    // keeps it to itself and gossips junk under the same id instead.
    const junk = fakeEnvelope()
    junk.set(id, 1)
    await evil.node.services.pubsub.publish(mailboxTopic(mailbox), encodeEnvelopeGossip(mailbox, junk))
    await waitFor('the junk on the other relays', async () => (await honest.store.usage(mailbox)).count === 1 && (await third.store.usage(mailbox)).count === 1)

    // The sender hands the real envelope to the second relay: the receipt names the real bytes.
    const receipt = await client.put(honest.node.peerId, mailbox, real)
    const served = (await client.fetch(honest.node.peerId, key)).envelopes.map(e => toHex(e.envelope))
    process.stdout.write(`      the honest relay gave a custody receipt and serves: ${served.includes(toHex(real)) ? 'the real envelope' : 'junk only'}\n`)
    assert.ok(served.includes(toHex(real)), 'custody receipt for an envelope the relay does not hold')
    assert.equal(toHex(receipt.hash), toHex(sha256(real)))
    // Its gossip is not taken for the junk's: the third relay gets the real envelope too.
    await waitFor('the real envelope on the third relay', async () => (await third.store.usage(mailbox)).count === 2)

    // The recipient refuses the junk and deletes it by its hash: the real envelope stays where it was receipted.
    await client.delete(honest.node.peerId, key, [envelopeRef(id, junk)])
    const left = (await client.fetch(honest.node.peerId, key)).envelopes.map(e => toHex(e.envelope))
    process.stdout.write(`      after the recipient deletes the junk, the honest relay holds ${left.length} envelope(s)\n`)
    assert.deepEqual(left, [toHex(real)], 'the real envelope is gone from the relay that receipted it')
    await waitFor('the junk gone from the third relay too (the signed delete spreads)', async () => (await third.store.usage(mailbox)).count === 1)
    const thirdHolds = (await client.fetch(third.node.peerId, key)).envelopes.map(e => toHex(e.envelope))
    assert.deepEqual(thirdHolds, [toHex(real)])
  })
})
