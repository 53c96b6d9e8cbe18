/**
 * A message refused "for now" must stay on every relay that holds it. A
 * device reads its mailbox on every relay of its network side by side, so
 * the same envelope (gossip gives every relay the same bytes) is received
 * twice at once. The second copy waited for the first and was then called
 * a duplicate whatever had become of the first; when the first had been
 * refused for now (the DHT could not give the sender's device record, a
 * budget was used up), the duplicate was settled and deleted from its
 * relay, and the delete, naming the same id and content hash, removes it
 * from every relay of the network: the message was lost, though nothing
 * was wrong with it.
 *
 * Here the sender's first message comes without its device record (an
 * older client, or one whose record was not ready), so the recipient must
 * read the record from the DHT, which does not answer at first.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import { encrypt } from '../../../src/crypto/session.js'
import { decodeDeviceRecord } from '../../../src/identity/index.js'
import { encodeMessage, newMessageId } from '../../../src/messenger/model/index.js'
import { encodePayload } from '../../../src/messenger/payload.js'
import { makeReceiver, makeSender } from './parties.js'
import type { Receiver } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')
const turn = async (): Promise<void> => { await new Promise(resolve => setTimeout(resolve, 0)) }

describe('messenger: a copy of an envelope refused for now is not deleted from its relay', function () {
  const crypto = createNodeCrypto()
  let receiver: Receiver | undefined
  afterEach(async () => { await receiver?.close() })

  it('the same first message on two relays, its device record not readable yet: both relays keep it, and it is stored once the DHT answers', async () => {
    let now = T0
    const [r1, r2] = await Promise.all([0, 1].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    const deleted: Array<{ relay: string, id: string }> = []
    let dhtUp = false
    let lookups = 0
    // Relay 2's answer is held until the first copy is being checked (its device record looked up).
    let releaseSecond!: () => void
    const secondReady = new Promise<void>(resolve => { releaseSecond = resolve })
    let secondServed = false
    const items: Array<{ id: Uint8Array, envelope: Uint8Array }> = []
    /** The sender's device record, once made: what the DHT gives when it answers. */
    const dht: { record?: Uint8Array } = {}
    receiver = await makeReceiver(crypto, {
      now: () => now,
      init: {
        relays: () => [r1, r2].map(peerId => ({ peerId, addrs: [] })),
        fetchIntervalMs: 3_600_000,
        directory: {
          resolve: async () => { throw new Error('not used') },
          resolveOne: async () => { throw new Error('not used') },
          lookupDevice: async () => {
            lookups++
            if (dhtUp && dht.record != null) return decodeDeviceRecord(dht.record)
            // The first copy is being checked: now relay 2 answers, and its copy arrives meanwhile.
            releaseSecond()
            while (!secondServed) await turn()
            for (let i = 0; i < 5; i++) await turn()
            throw new Error('DHT query timed out')
          }
        },
        transport: {
          sendDirect: async () => { throw new Error('offline') },
          storeOnRelay: async () => { throw new Error('offline') },
          fetchMailbox: async (relay: PeerId) => {
            if (relay.equals(r2) && !dhtUp) {
              await secondReady
              secondServed = true
            }
            return { items: [...items], more: false }
          },
          deleteFromMailbox: async (relay: PeerId, refs) => {
            for (const ref of refs) deleted.push({ relay: relay.toString(), id: hex(ref.id) })
            const gone = new Set(refs.map(ref => hex(ref.id)))
            for (let i = items.length - 1; i >= 0; i--) if (gone.has(hex(items[i].id))) items.splice(i, 1)
          }
        }
      }
    })
    const alice = await makeSender(crypto, receiver.me, now, 'alice')
    dht.record = alice.account.record
    // Alice's first message, without her device record in the payload.
    const message = { id: newMessageId(crypto), author: { account: alice.account.identity.accountKey, device: alice.account.peerId.toMultihash().bytes }, timestamp: now, lamport: 1, body: { kind: 'text' as const, text: 'hello bob' } }
    const out = await encrypt(crypto, alice.session, encodePayload('alice', encodeMessage(message)))
    const envelope = await alice.seal(out.message)
    items.push({ id: envelope.subarray(1, 17), envelope })

    let storedEvents = 0
    receiver.messenger.addEventListener('message', () => { storedEvents++ })
    await receiver.messenger.start()
    // The first pass: both relays serve the envelope; the DHT does not answer.
    while (!secondServed) await turn()
    for (let i = 0; i < 50 && lookups === 0; i++) await turn()
    // Let the pass finish.
    for (let i = 0; i < 50; i++) await turn()
    assert.ok(lookups >= 1, 'the device record was looked up')
    assert.deepEqual(deleted, [], 'refused for now: no relay may delete it')
    assert.equal(items.length, 1, 'the envelope is still held')

    // The DHT answers now: the next pass after the wait stores it, once, and then it leaves the relays.
    dhtUp = true
    now += 10 * 60_000
    // Until it is stored and gone from the relays (the test's relays share one list: a copy's delete takes both).
    for (let i = 0; i < 400 && (items.length > 0 || storedEvents === 0); i++) {
      receiver.messenger.fetchSoon()
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    assert.equal(items.length, 0, 'stored, then deleted from the relays')
    const texts = (await receiver.messenger.history.view(alice.account.identity.accountKey)).messages.map(m => m.text)
    assert.deepEqual(texts, ['hello bob'])
    assert.equal(storedEvents, 1)
  })
})
