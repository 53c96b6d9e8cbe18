/** What relays accept from the mailbox shard topics, and the message ids that make duplicates cheap. */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { toHex } from '../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { AuthOp, deleteBody, envelopeRef, mailboxId, mailboxTopic, signOwnerAuth, wire } from '../../../src/protocols/store/index.js'
import type { WireBytes } from '../../../src/protocols/store/index.js'
import { MailboxGossip } from '../../../src/protocols/store/pb/store.js'
import {
  NOT_LINKED_SCORE, RelaySet, checkGossip, encodeDeleteGossip, encodeEnvelopeGossip, mailboxGossipsubOptions, mailboxMessageId, validateGossip
} from '../../../src/relay/index.js'
import { fakeEnvelope } from './helpers.js'

const NOW = 1_800_000_000_000

type Ref = { id: Uint8Array, hash: Uint8Array }

function onWire (refs: Ref[]): Array<{ id: WireBytes, hash: WireBytes }> {
  return refs.map(r => ({ id: wire(r.id), hash: wire(r.hash) }))
}

async function signedDelete (refs: Ref[], timestamp = NOW) {
  const device = await generateKeyPair('Ed25519')
  const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
  const { mailbox, auth } = await signOwnerAuth(device, AuthOp.delete, relay, timestamp, deleteBody(refs))
  return { device, relay, mailbox, auth, data: encodeDeleteGossip({ mailbox: wire(mailbox), refs: onWire(refs), auth, relay: wire(relay.toMultihash().bytes) }) }
}

function refOf (envelope: Uint8Array): Ref {
  return envelopeRef(parseEnvelopeHeader(envelope).id, envelope)
}

describe('relay/gossip', () => {
  it('accepts an envelope on its shard topic and refuses it on another', async () => {
    const device = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const mailbox = mailboxId(device)
    const envelope = fakeEnvelope()
    const data = encodeEnvelopeGossip(mailbox, envelope)
    const checked = await checkGossip(mailboxTopic(mailbox), data, { now: NOW })
    assert.equal(checked.kind, 'envelope')
    assert.equal(checked.kind === 'envelope' && toHex(checked.id), toHex(parseEnvelopeHeader(envelope).id))
    const otherShard = `/starling/mailbox/3.0.0/${(mailbox[0] + 1) % 4}`
    await assert.rejects(checkGossip(otherShard, data, { now: NOW }), { name: 'InvalidGossipError' })
  })

  it('rejects garbage, malformed envelopes, bad mailboxes and messages with both or neither part', async () => {
    const mailbox = new Uint8Array(32)
    const topic = mailboxTopic(mailbox)
    const bad = fakeEnvelope()
    bad[0] = 9
    const cases = [
      new Uint8Array([0xff, 0xff, 0xff]),
      encodeEnvelopeGossip(mailbox, bad),
      encodeEnvelopeGossip(mailbox, new Uint8Array(10)),
      MailboxGossip.encode({ envelope: { mailbox: wire(new Uint8Array(31)), envelope: wire(fakeEnvelope()) } }),
      MailboxGossip.encode({}),
      MailboxGossip.encode({ envelope: { mailbox: wire(mailbox), envelope: wire(fakeEnvelope()) }, delete: { mailbox: wire(mailbox), refs: [], relay: new Uint8Array(0) } })
    ]
    for (const data of cases) {
      await assert.rejects(checkGossip(topic, data, { now: NOW }), { name: 'InvalidGossipError' })
      assert.equal(await validateGossip(topic, data, { now: NOW }), TopicValidatorResult.Reject)
    }
  })

  it('accepts a delete only with the owner signature, fresh, for the ids and hashes it names', async () => {
    const refs = [refOf(fakeEnvelope()), refOf(fakeEnvelope())]
    const ids = refs.map(r => r.id)
    const good = await signedDelete(refs)
    const topic = mailboxTopic(good.mailbox)
    const checked = await checkGossip(topic, good.data, { now: NOW })
    assert.equal(checked.kind, 'delete')
    assert.deepEqual(checked.kind === 'delete' && checked.refs.map(r => toHex(r.id)), ids.map(toHex))
    assert.deepEqual(checked.kind === 'delete' && checked.refs.map(r => toHex(r.hash)), refs.map(r => toHex(r.hash)))

    // Stale.
    await assert.rejects(checkGossip(topic, good.data, { now: NOW + 6 * 60 * 1000 }), { name: 'InvalidGossipError' })
    // Another id slipped in.
    const extended = encodeDeleteGossip({ mailbox: wire(good.mailbox), refs: onWire([...refs, refOf(fakeEnvelope())]), auth: good.auth, relay: wire(good.relay.toMultihash().bytes) })
    await assert.rejects(checkGossip(topic, extended, { now: NOW }), { name: 'InvalidGossipError' })
    // A signed id moved onto other bytes (the hash of the real envelope instead of the junk the owner opened).
    const rehashed = encodeDeleteGossip({ mailbox: wire(good.mailbox), refs: onWire([refs[0], { id: refs[1].id, hash: refOf(fakeEnvelope()).hash }]), auth: good.auth, relay: wire(good.relay.toMultihash().bytes) })
    await assert.rejects(checkGossip(topic, rehashed, { now: NOW }), { name: 'InvalidGossipError' })
    // Unsigned.
    const unsigned = encodeDeleteGossip({ mailbox: wire(good.mailbox), refs: onWire(refs), relay: wire(good.relay.toMultihash().bytes) })
    await assert.rejects(checkGossip(topic, unsigned, { now: NOW }), { name: 'InvalidGossipError' })
    // Forged signature bytes.
    const forgedAuth = { ...good.auth, signature: wire(new Uint8Array(64).fill(7)) }
    const forged = encodeDeleteGossip({ mailbox: wire(good.mailbox), refs: onWire(refs), auth: forgedAuth, relay: wire(good.relay.toMultihash().bytes) })
    await assert.rejects(checkGossip(topic, forged, { now: NOW }), { name: 'InvalidGossipError' })
    // A valid signature by someone else for their own mailbox, replayed against the victim's.
    const stranger = await signedDelete(refs)
    const victim = encodeDeleteGossip({ mailbox: wire(good.mailbox), refs: onWire(refs), auth: stranger.auth, relay: wire(stranger.relay.toMultihash().bytes) })
    await assert.rejects(checkGossip(topic, victim, { now: NOW }), { name: 'InvalidGossipError' })
    // Claimed for another relay than the one the owner signed for.
    const otherRelay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const moved = encodeDeleteGossip({ mailbox: wire(good.mailbox), refs: onWire(refs), auth: good.auth, relay: wire(otherRelay.toMultihash().bytes) })
    await assert.rejects(checkGossip(topic, moved, { now: NOW }), { name: 'InvalidGossipError' })
  })

  it('gives the same envelope the same message id, whoever publishes it, other bytes under its id another; other messages a content hash', async () => {
    const mailbox = new Uint8Array(32).fill(3)
    const envelope = fakeEnvelope()
    const data = encodeEnvelopeGossip(mailbox, envelope)
    const topic = mailboxTopic(mailbox)
    const a = mailboxMessageId({ type: 'unsigned', topic, data })
    const b = mailboxMessageId({ type: 'unsigned', topic, data: encodeEnvelopeGossip(mailbox, envelope.slice()) })
    assert.equal(toHex(a), toHex(b))
    assert.equal(a.length, 1 + 32 + 16 + 32)
    const other = mailboxMessageId({ type: 'unsigned', topic, data: encodeEnvelopeGossip(mailbox, fakeEnvelope()) })
    assert.notEqual(toHex(other), toHex(a))
    // Junk under the envelope's id must not pass for it in gossipsub's seen-cache.
    const junk = fakeEnvelope()
    junk.set(parseEnvelopeHeader(envelope).id, 1)
    const squat = mailboxMessageId({ type: 'unsigned', topic, data: encodeEnvelopeGossip(mailbox, junk) })
    assert.notEqual(toHex(squat), toHex(a))
    const garbage = mailboxMessageId({ type: 'unsigned', topic, data: new Uint8Array([0xff, 0xff]) })
    assert.equal(garbage.length, 33)
  })

  it('configures gossipsub without publisher identities, with the shard topics only, and graylists peers outside the relay set', async () => {
    const linked = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const stranger = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const relaySet = new RelaySet([{ peerId: linked, addrs: [] }])
    const options = mailboxGossipsubOptions({ loopback: true, relaySet })
    assert.equal(options.globalSignaturePolicy, 'StrictNoSign')
    assert.deepEqual([...(options.allowedTopics ?? [])], ['/starling/mailbox/3.0.0/0', '/starling/mailbox/3.0.0/1', '/starling/mailbox/3.0.0/2', '/starling/mailbox/3.0.0/3'])
    assert.equal(options.scoreParams?.IPColocationFactorWeight, 0)
    assert.equal(mailboxGossipsubOptions({ relaySet }).scoreParams?.IPColocationFactorWeight, undefined)
    const score = options.scoreParams?.appSpecificScore
    assert.equal(score?.(linked.toString()), 0)
    // Weighted by gossipsub's default appSpecificWeight (10): far below its graylist threshold (-80).
    assert.equal(score?.(stranger.toString()), NOT_LINKED_SCORE)
    assert.ok(NOT_LINKED_SCORE * 10 < -80)
  })
})
