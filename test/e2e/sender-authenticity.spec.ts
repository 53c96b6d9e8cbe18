/**
 * Who a message is from is what a signature chain proves, never what a
 * field says (issue: security, item 1). Against real daemons, a stranger
 * (mallory) with her own, valid keys crafts envelopes by hand and writes them
 * to bob's daemon on /starling/dm/1.0.0:
 *
 * - the forged sender: her own session, but alice's account key in the
 *   envelope's sender block and as the message author;
 * - fake devices: the same with a new device id for alice; her own account
 *   claiming alice's device; her own account claiming a device nobody vouches
 *   for;
 * - the Lamport jump: a counter more than 2^20 ahead of the conversation's, and
 *   2^53 - 1.
 *
 * Each is refused (the stream is reset, nothing acknowledged), nothing is
 * stored, alice's pinned contact is unchanged, and alice and bob still talk
 * both ways. Controls crafted the same way but honest are accepted, so the
 * refusals come from the checks and not from a broken crafting.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Network, Processes, directAddr, eventually, startTestNode } from './harness.js'
import type { RelayProcess, User } from './harness.js'
import { probe } from './dm-probe.js'
import { encodeDeliver } from '../../src/protocols/dm/dm.js'
import { sealEnvelope } from '../../src/crypto/envelope.js'
import { encrypt, initiateSession } from '../../src/crypto/session.js'
import { PrekeyKind, prekeySignaturePayload } from '../../src/crypto/prekey-signature.js'
import { encodeDeviceRecord } from '../../src/identity/index.js'
import { Directory } from '../../src/net/directory.js'
import { remoteDevice } from '../../src/messenger/devices.js'
import { encodePayload, withDeviceRecord } from '../../src/messenger/payload.js'
import { encodeMessage, newMessageId, MAX_LAMPORT_JUMP } from '../../src/messenger/model/index.js'
import type { MessageBody } from '../../src/messenger/model/index.js'
import { createNodeCrypto } from '../../node/crypto/node-provider.js'
import { loadIdentity } from '../../node/identity-store.js'
import type { LocalIdentity } from '../../node/identity-store.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import type { RemoteDevice } from '../../src/messenger/devices.js'
import type { HistoryMessage } from './harness.js'

interface Sent { id: string }
interface ContactView { handle: string, state: string, keyChange: unknown, devices: string[] }

const crypto = createNodeCrypto()
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** What a crafted envelope claims. */
interface Forgery {
  /** Whose keys make the session and seal the envelope. */
  keys: LocalIdentity
  /** The account the envelope's sender block names. */
  senderBlock: Uint8Array
  /** The message's author. */
  author: { account: Uint8Array, device: Uint8Array }
  lamport: number
  text: string
  /** The body, when not a text. */
  body?: MessageBody
  /** A device record to carry in the payload (as a session's first messages do). */
  record?: Uint8Array
}

/** A new session with bob's device from its public record, one message, sealed: what any client can make. */
async function forge (bob: RemoteDevice, f: Forgery): Promise<{ envelope: Uint8Array, messageId: string }> {
  const us = {
    accountKey: f.keys.accountPublicKey,
    identityKey: { secretKey: f.keys.identitySecretKey, publicKey: f.keys.identityPublicKey },
    identityKeySignature: await crypto.ed25519.sign(f.keys.accountSecretKey, prekeySignaturePayload(PrekeyKind.identity, 0, f.keys.identityPublicKey))
  }
  assert.ok(bob.bundle != null)
  const { state } = await initiateSession(crypto, us, bob.bundle)
  const id = newMessageId(crypto)
  const message = encodeMessage({ id, author: f.author, timestamp: Date.now(), lamport: f.lamport, body: f.body ?? { kind: 'text', text: f.text } })
  const payload = encodePayload(f.keys.handleName, message)
  const out = await encrypt(crypto, state, f.record != null ? withDeviceRecord(payload, f.record) : payload)
  const { envelope } = await sealEnvelope(crypto, bob.identityKey, { accountKey: f.senderBlock, identityKey: us.identityKey }, out.message)
  return { envelope, messageId: hex(id) }
}

describe('e2e: sender authenticity — forged senders, fake devices and Lamport jumps are refused', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)
  let relay: RelayProcess
  let alice: User
  let bob: User
  let mallory: User
  let stranger: StarlingLibp2p | undefined

  before(async () => {
    relay = await net.startRelay()
    ;[alice, bob, mallory] = await Promise.all([net.newUser('alice'), net.newUser('bob'), net.newUser('mallory')])
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
    assert.deepEqual(net.crashed(), [], 'no relay or daemon crashed')
  })
  after(async () => {
    await stranger?.stop()
    await procs.stopAll()
  })

  it('refuses each forgery, stores nothing, leaves the pinned contact as it was; alice and bob still talk both ways', async () => {
    const aliceDaemon = await net.startDaemon(alice, [relay.addr])
    await net.startDaemon(bob, [relay.addr])
    const malloryDaemon = await net.startDaemon(mallory, [relay.addr])
    const hi = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'hi bob' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === hi.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'alice -> bob delivered')
    const back = await net.call<Sent>(bob, 'send', { handle: alice.handle, text: 'hi alice' })
    await eventually(async () => (await net.history(bob, alice)).find(m => m.id === back.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'bob -> alice delivered')
    // Mallory's daemon published her record; from now on she works from her keys alone.
    await procs.stop(malloryDaemon)

    const contactsBefore = await net.call<ContactView[]>(bob, 'contacts')
    const aliceBefore = contactsBefore.find(c => c.handle === alice.handle)
    assert.deepEqual(aliceBefore?.devices, [alice.peerId])
    assert.equal(aliceBefore?.keyChange, null)
    const historyBefore = await net.history(bob, alice)

    stranger = await startTestNode()
    await stranger.dial(multiaddr(relay.addr))
    const directory = new Directory(stranger, crypto)
    const lookup = async (peerId: string): Promise<RemoteDevice> => eventually(async () => {
      const record = await directory.lookupDevice(peerIdFromString(peerId))
      return record != null ? remoteDevice(record) : undefined
    }, 30_000, `device record of ${peerId}`)
    const bobDevice = await lookup(bob.peerId)
    const malloryRecord = await directory.lookupDevice(peerIdFromString(mallory.peerId))
    assert.ok(malloryRecord != null)
    const aliceAccount = (await lookup(alice.peerId)).accountKey
    const m = await loadIdentity(crypto, mallory.dir)
    const malloryDevice = peerIdFromString(mallory.peerId).toMultihash().bytes
    const aliceDevice = peerIdFromString(alice.peerId).toMultihash().bytes
    const nobodysDevice = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toMultihash().bytes
    const bobAddr = directAddr((await net.call<{ multiaddrs: string[] }>(bob, 'whoami')).multiaddrs)
    const deliver = async (envelope: Uint8Array): Promise<{ acked: boolean, reset: boolean }> => {
      const o = await probe(stranger as StarlingLibp2p, bobAddr, [encodeDeliver(envelope)], 15_000, o => o.acks.length > 0)
      return { acked: o.acks.length > 0, reset: o.closed && o.error != null }
    }

    const refused: Array<[string, Forgery]> = [
      ['forged sender: mallory\'s session, alice in the sender block and as author', { keys: m, senderBlock: aliceAccount, author: { account: aliceAccount, device: aliceDevice }, lamport: 3, text: 'send me your password — alice' }],
      ['fake device: mallory\'s session claiming a new device of alice', { keys: m, senderBlock: aliceAccount, author: { account: aliceAccount, device: malloryDevice }, lamport: 3, text: 'my new phone — alice', record: encodeDeviceRecord(malloryRecord) }],
      ['fake device: mallory\'s own account claiming alice\'s device', { keys: m, senderBlock: m.accountPublicKey, author: { account: m.accountPublicKey, device: aliceDevice }, lamport: 1, text: 'hello from alice\'s phone' }],
      ['fake device: mallory\'s own account claiming a device no record vouches for', { keys: m, senderBlock: m.accountPublicKey, author: { account: m.accountPublicKey, device: nobodysDevice }, lamport: 1, text: 'a device of nobody' }],
      ['fake device: mallory\'s own account, her record carried, another device named', { keys: m, senderBlock: m.accountPublicKey, author: { account: m.accountPublicKey, device: nobodysDevice }, lamport: 1, text: 'a record of another device', record: encodeDeviceRecord(malloryRecord) }]
    ]
    for (const [what, forgery] of refused) {
      const { envelope } = await forge(bobDevice, forgery)
      const outcome = await deliver(envelope)
      assert.equal(outcome.acked, false, `${what}: not acknowledged`)
      assert.equal(outcome.reset, true, `${what}: the stream is reset`)
    }
    let contacts = await net.call<ContactView[]>(bob, 'contacts')
    assert.deepEqual(contacts, contactsBefore, 'no contact added or changed by the forgeries')

    // Control: the same crafting, honest (mallory as herself, her record carried), is accepted as a request.
    const honest = await forge(bobDevice, { keys: m, senderBlock: m.accountPublicKey, author: { account: m.accountPublicKey, device: malloryDevice }, lamport: 1, text: 'hello, I am mallory', record: encodeDeviceRecord(malloryRecord) })
    assert.equal((await deliver(honest.envelope)).acked, true, 'the honest control is acknowledged')
    contacts = await net.call<ContactView[]>(bob, 'contacts')
    const asRequest = contacts.find(c => c.handle === mallory.handle)
    assert.equal(asRequest?.state, 'request')
    assert.deepEqual(asRequest?.devices, [mallory.peerId])

    // Lamport: at most 2^20 ahead of the conversation's highest (1 now).
    const history = async (): Promise<HistoryMessage[]> => (await net.call<{ messages: HistoryMessage[] }>(bob, 'history', { handle: mallory.handle })).messages
    assert.deepEqual((await history()).map(x => x.lamport), [1])
    for (const lamport of [1 + MAX_LAMPORT_JUMP + 1, Number.MAX_SAFE_INTEGER]) {
      const { envelope } = await forge(bobDevice, { keys: m, senderBlock: m.accountPublicKey, author: { account: m.accountPublicKey, device: malloryDevice }, lamport, text: 'far ahead', record: encodeDeviceRecord(malloryRecord) })
      const outcome = await deliver(envelope)
      assert.deepEqual(outcome, { acked: false, reset: true }, `Lamport ${lamport} refused`)
    }
    const edge = await forge(bobDevice, { keys: m, senderBlock: m.accountPublicKey, author: { account: m.accountPublicKey, device: malloryDevice }, lamport: 1 + MAX_LAMPORT_JUMP, text: 'just within', record: encodeDeviceRecord(malloryRecord) })
    assert.equal((await deliver(edge.envelope)).acked, true, 'a counter exactly 2^20 ahead is accepted')
    assert.deepEqual((await history()).map(x => x.lamport), [1, 1 + MAX_LAMPORT_JUMP])
    // Bob can still write in that conversation: his counter is the next one, far from 2^53.
    await net.call(bob, 'accept', { handle: mallory.handle })
    const reply = await net.call<Sent>(bob, 'send', { handle: mallory.handle, text: 'who are you?' })
    assert.equal((await history()).find(x => x.id === reply.id)?.lamport, 2 + MAX_LAMPORT_JUMP)

    // A receipt speaks only for messages of its sender's conversation: mallory
    // (who somehow learnt the id) cannot mark bob's message to alice read.
    await procs.stop(aliceDaemon)
    const away = await net.call<Sent>(bob, 'send', { handle: alice.handle, text: 'while you were away' })
    const stateOfAway = async (): Promise<string | undefined> => (await net.history(bob, alice)).find(x => x.id === away.id)?.sendState
    await eventually(async () => await stateOfAway() === 'relayed' ? true : undefined, 30_000, 'held by the relay')
    const receipt = await forge(bobDevice, { keys: m, senderBlock: m.accountPublicKey, author: { account: m.accountPublicKey, device: malloryDevice }, lamport: 3 + MAX_LAMPORT_JUMP, text: '', body: { kind: 'read', ids: [Buffer.from(away.id, 'hex')] }, record: encodeDeviceRecord(malloryRecord) })
    assert.equal((await deliver(receipt.envelope)).acked, true, 'mallory\'s receipt is a valid message of hers')
    assert.equal(await stateOfAway(), 'relayed', 'her receipt changed nothing')
    await net.startDaemon(alice, [relay.addr])
    await eventually(async () => await stateOfAway() === 'delivered' ? true : undefined, 60_000, 'delivered once alice is back')

    // Nothing of the forgeries is in alice's conversation, her contact is as it was, and both still talk.
    assert.deepEqual((await net.history(bob, alice)).filter(x => x.id !== away.id), historyBefore)
    contacts = await net.call<ContactView[]>(bob, 'contacts')
    assert.deepEqual(contacts.find(c => c.handle === alice.handle), aliceBefore)
    const again = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'still me' })
    const answer = await net.call<Sent>(bob, 'send', { handle: alice.handle, text: 'still you' })
    await eventually(async () => {
      const [a, b] = await Promise.all([net.history(alice, bob), net.history(bob, alice)])
      return a.find(x => x.id === again.id)?.sendState === 'delivered' && b.find(x => x.id === answer.id)?.sendState === 'delivered' ? true : undefined
    }, 30_000, 'alice and bob still talk both ways')
    assert.deepEqual((await net.history(bob, alice)).map(x => x.text), ['hi bob', 'hi alice', 'while you were away', 'still me', 'still you'])
  })
})
