/**
 * A hostile peer on /starling/dm/1.0.0 against a real daemon: garbage,
 * oversized and truncated frames, frames that are not envelopes, replayed
 * and tampered envelopes, and envelopes sealed for someone else. Each costs
 * the peer its stream (a replay is acknowledged again, as the protocol
 * says), nothing is stored, and the daemon keeps serving others.
 */
import assert from 'node:assert/strict'
import { join } from 'node:path'
import type { Uint8ArrayList } from 'uint8arraylist'
import { MAX_DELIVER_FRAME_LENGTH } from '../../src/protocols/dm/index.js'
import { encodeDeliver, encodeFrame } from '../../src/protocols/dm/dm.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { Network, Processes, directAddr, eventually, sharedView, startTestNode } from './harness.js'
import { probe } from './dm-probe.js'
import type { RelayProcess, User } from './harness.js'
import { LevelStore } from '../../src/store/index.js'
import { Outbox } from '../../src/messenger/outbox.js'
import { fromHex } from '../../src/messenger/bytes.js'
import { sealEnvelope } from '../../src/crypto/envelope.js'
import { createNodeCrypto } from '../../node/crypto/node-provider.js'
import { loadIdentity } from '../../node/identity-store.js'
import type { OutboxEntry } from '../../src/messenger/outbox.js'

interface Sent { id: string, state: string }

describe('e2e: a hostile peer on the direct-message protocol', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const net = new Network(procs)
  let relay: RelayProcess
  let alice: User
  let bob: User
  let carol: User
  let stranger: StarlingLibp2p | undefined

  before(async () => {
    relay = await net.startRelay()
    ;[alice, bob, carol] = await Promise.all([net.newUser('alice'), net.newUser('bob'), net.newUser('carol')])
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
    assert.deepEqual(net.crashed(), [], 'no relay or daemon crashed')
  })
  after(async () => {
    await stranger?.stop()
    await procs.stopAll()
  })

  it('garbage, oversized frames, non-envelopes, tampered envelopes and envelopes for someone else lose their stream; a replay is acknowledged again; nothing is stored; others are still served', async function () {
    this.timeout(240_000)
    const aliceDaemon = await net.startDaemon(alice, [relay.addr])
    const bobDaemon = await net.startDaemon(bob, [relay.addr])
    const carolDaemon = await net.startDaemon(carol, [relay.addr])
    const first = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'first, direct' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === first.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'first message delivered')

    // Capture two real envelopes from alice's outbox: one for bob, one for carol.
    await Promise.all([procs.stop(bobDaemon), procs.stop(carolDaemon)])
    const toBob = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'second, through the relay' })
    const toCarol = await net.call<Sent>(alice, 'send', { handle: carol.name, confirm: true, text: 'for carol only' })
    await eventually(async () => {
      const [b, c] = await Promise.all([net.history(alice, bob), net.history(alice, carol)])
      return b.find(m => m.id === toBob.id)?.sendState === 'relayed' && c.find(m => m.id === toCarol.id)?.sendState === 'relayed' ? true : undefined
    }, 30_000, 'both held by the relay')
    await procs.stop(aliceDaemon)
    const store = new LevelStore(join(alice.dir, 'store'))
    await store.open()
    let entries: OutboxEntry[]
    try {
      entries = await new Outbox(store).load()
    } finally {
      await store.close()
    }
    const bobEntry = entries.find(e => e.messageId === toBob.id)
    const carolEntry = entries.find(e => e.messageId === toCarol.id)
    assert.ok(bobEntry != null && carolEntry != null, 'both envelopes in the outbox')
    assert.equal(bobEntry.device, bob.peerId)
    assert.equal(carolEntry.device, carol.peerId)
    // Entries hold the session message; seal each as alice's delivery does for a relay.
    const nodeCrypto = createNodeCrypto()
    const aliceKeys = await loadIdentity(nodeCrypto, alice.dir)
    const seal = async (entry: OutboxEntry): Promise<Uint8Array> => {
      assert.ok(entry.inner != null && entry.identityKey != null, 'the entry holds a session message')
      const sealed = await sealEnvelope(nodeCrypto, fromHex(entry.identityKey), { accountKey: aliceKeys.accountPublicKey, identityKey: { secretKey: aliceKeys.identitySecretKey, publicKey: aliceKeys.identityPublicKey } }, entry.inner, { id: fromHex(entry.envelopeId) })
      return sealed.envelope
    }
    const replay = await seal(bobEntry)
    const forCarol = await seal(carolEntry)

    await net.startDaemon(alice, [relay.addr])
    await net.startDaemon(bob, [relay.addr])
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === toBob.id)?.sendState === 'delivered' ? true : undefined, 60_000, 'second message delivered from the relay')
    const before = await net.history(bob, alice)
    assert.deepEqual(before.map(m => m.text), ['first, direct', 'second, through the relay'])

    stranger = await startTestNode()
    const me = await net.call<{ multiaddrs: string[] }>(bob, 'whoami')
    const addr = directAddr(me.multiaddrs)

    // A replay of an envelope bob stored: acknowledged again (so a sender that
    // missed the ack can clear its outbox), not stored twice.
    const replayed = await probe(stranger, addr, [encodeDeliver(replay)], 10_000, o => o.acks.length > 0)
    assert.deepEqual(replayed.acks, [bobEntry.envelopeId], 'the replay is acknowledged by its id')

    // The id is readable and de-duplicated without decrypting: a known id with
    // flipped content is acknowledged as already stored, and stores nothing.
    const knownIdTampered = replay.slice()
    knownIdTampered[knownIdTampered.length - 20] ^= 0x01
    const dup = await probe(stranger, addr, [encodeDeliver(knownIdTampered)], 10_000, o => o.acks.length > 0)
    assert.deepEqual(dup.acks, [bobEntry.envelopeId])
    const tampered = knownIdTampered.slice()
    tampered[9] ^= 0x01 // and a fresh id: it must be opened, and does not open
    const retagged = replay.slice()
    retagged[5] ^= 0x01 // another envelope id, same sealed content
    const random = crypto.getRandomValues(new Uint8Array(300))
    random[0] = 0x01 // looks like a version-1 envelope header
    const hostile: Array<[string, Array<Uint8Array | Uint8ArrayList>]> = [
      ['a frame of random bytes', [encodeFrame(crypto.getRandomValues(new Uint8Array(64)))]],
      ['a frame longer than any envelope', [varint(MAX_DELIVER_FRAME_LENGTH + 1), new Uint8Array(64 * 1024)]],
      ['a length prefix that never ends', [new Uint8Array(16).fill(0xff)]],
      ['a Deliver frame that is not protobuf', [encodeFrame(new Uint8Array([0xff, 0xff, 0xff, 0x0f]))]],
      ['a Deliver frame that is not an envelope', [encodeDeliver(new Uint8Array(40).fill(7))]],
      ['random bytes shaped as an envelope', [encodeDeliver(random)]],
      ['an envelope sealed for carol', [encodeDeliver(forCarol)]],
      ['a replayed envelope with one content byte flipped, under a fresh id', [encodeDeliver(tampered)]],
      ['a replayed envelope under another id', [encodeDeliver(retagged)]],
      ['a good replay followed by garbage in the same stream', [encodeDeliver(replay), encodeDeliver(forCarol)]]
    ]
    for (const [what, chunks] of hostile) {
      const o = await probe(stranger, addr, chunks, 15_000)
      assert.equal(o.closed, true, `${what}: the daemon drops the stream`)
      assert.ok(o.error != null, `${what}: the stream is reset, not closed cleanly (${String(o.error)})`)
      const expected: string[] = what.startsWith('a good replay') ? [bobEntry.envelopeId] : []
      assert.deepEqual(o.acks, expected, `${what}: nothing acknowledged but the replay`)
    }
    // Half a frame, then the end of the stream: dropped (a half frame and
    // silence is dropped after the 30 s frame timeout, tested in the unit tests).
    const truncated = encodeDeliver(replay).subarray(0, 100)
    const half = await probe(stranger, addr, [truncated], 15_000, undefined, true)
    assert.equal(half.closed, true, 'a stream ending inside a frame is dropped')
    assert.ok(half.error != null, `reset, not closed cleanly (${String(half.error)})`)
    assert.deepEqual(half.acks, [])
    // Control: a well-behaved stream (a replay, then the end) is acknowledged and closed cleanly.
    const clean = await probe(stranger, addr, [encodeDeliver(replay)], 15_000, undefined, true)
    assert.deepEqual(clean.acks, [bobEntry.envelopeId])
    assert.equal(clean.closed, true)
    assert.equal(clean.error, undefined, 'closed without an error')

    // Nothing was stored, and bob still talks to alice both ways.
    assert.deepEqual(sharedView(await net.history(bob, alice)), sharedView(before))
    const after = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'after the garbage' })
    const back = await net.call<Sent>(bob, 'send', { handle: alice.name, confirm: true, text: 'still here' })
    await eventually(async () => {
      const [a, b] = await Promise.all([net.history(alice, bob), net.history(bob, alice)])
      return a.find(m => m.id === after.id)?.sendState === 'delivered' && b.find(m => m.id === back.id)?.sendState === 'delivered' ? true : undefined
    }, 30_000, 'messages after the garbage delivered both ways')
    const final = await net.history(bob, alice)
    assert.deepEqual(final.map(m => m.text), ['first, direct', 'second, through the relay', 'after the garbage', 'still here'])
    assert.deepEqual(sharedView(final), sharedView(await net.history(alice, bob)))
  })
})

/** An unsigned varint. */
function varint (n: number): Uint8Array {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return new Uint8Array(out)
}
