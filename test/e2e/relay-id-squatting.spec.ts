/**
 * A malicious relay of the set squats the id of an envelope it is handed,
 * end to end: an honest relay (H) and the daemons are real processes on
 * loopback; the malicious relay (M) runs in this process, a real libp2p
 * relay linked with H that takes the mailbox gossip, answers
 * `/starling/store` itself and serves a signed relay set naming H (so bob,
 * whose only relay is M, reads H too). Alice sends while bob is away: bob's
 * own relay M comes first; M keeps the envelope to itself, gossips junk
 * under its id, waits for H to store the junk, and signs custody. Then
 * alice hands the real envelope to H.
 *
 * Before: H answered "duplicate" with a custody receipt while holding only
 * the junk (alice read "held by 2 relays"); bob, back while alice was away,
 * read only the junk from H, refused it and deleted it by its hash: the
 * message was held by nobody but M and never arrived. Now H holds the real
 * envelope beside the junk and bob gets the message from it. Prints H's
 * disk and memory before and after.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub } from '@libp2p/gossipsub'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { toHex } from '../../src/crypto/bytes.js'
import { createStarlingNode } from '../../src/net/node.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { starlingDhtValidators } from '../../src/identity/index.js'
import { createCrypto } from '../../src/crypto/index.js'
import { allShardTopics, mailboxTopic } from '../../src/protocols/store/index.js'
import type { MailboxPage, PutOutcome, StoreBackend } from '../../src/protocols/store/index.js'
import { StoreServer } from '../../src/protocols/store/store.js'
import { relaySetServer } from '../../src/protocols/relays/index.js'
import type { RelayEntry } from '../../src/protocols/relays/index.js'
import { encodeEnvelopeGossip, mailboxGossipsubOptions } from '../../src/relay/index.js'
import { fakeEnvelope } from '../unit/relay/helpers.js'
import { Network, Processes, eventually } from './harness.js'
import { footprint, printFootprint } from './measure.js'

interface Sent { id: string }

/** How long M waits after its junk went out before it answers: ample time for H to store it. */
const JUNK_LEAD_MS = 1_500

/** The malicious relay's store: it keeps what it is handed to itself and spreads junk under its id. */
class SquattingRelay implements StoreBackend {
  /** Envelope ids (hex) it squatted. */
  readonly squatted: string[] = []

  constructor (private readonly pubsub: GossipSub) {}

  async put (mailbox: Uint8Array, id: Uint8Array): Promise<PutOutcome> {
    const junk = fakeEnvelope()
    junk.set(id, 1)
    await this.pubsub.publish(mailboxTopic(mailbox), encodeEnvelopeGossip(mailbox, junk))
    this.squatted.push(toHex(id))
    await new Promise(resolve => setTimeout(resolve, JUNK_LEAD_MS))
    // It signs custody of what it was handed (and withholds it).
    return { storedAt: Date.now(), expiresAt: Date.now() + 30 * 86_400_000, duplicate: false }
  }

  async fetch (): Promise<MailboxPage> {
    return { envelopes: [], cursor: new Uint8Array(0), more: false }
  }

  async delete (): Promise<number> {
    return 0
  }
}

describe('e2e: a malicious relay gossips junk under the id of an envelope it was handed', function () {
  this.timeout(300_000)
  const procs = new Processes()
  const net = new Network(procs)
  let evilNode: StarlingLibp2p | undefined
  let server: StoreServer | undefined
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
  })
  after(async () => {
    await server?.stop()
    await evilNode?.stop()
    await procs.stopAll()
  })

  it('the relay that receipts the real envelope holds it, and bob gets the message while alice is away', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const { validators, selectors } = starlingDhtValidators(createCrypto(), { now: Date.now })
    const linked: RelayEntry[] = []
    evilNode = await createStarlingNode({
      privateKey,
      role: 'relay',
      transports: [tcp()],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      validators,
      selectors,
      loopback: true,
      extraServices: {
        pubsub: gossipsub(mailboxGossipsubOptions({ loopback: true, relaySet: { has: () => true } })),
        relaySet: relaySetServer({ relays: () => linked })
      }
    })
    const pubsub = (evilNode as StarlingLibp2p & { services: { pubsub: GossipSub } }).services.pubsub
    for (const topic of allShardTopics()) pubsub.subscribe(topic)
    const evil = new SquattingRelay(pubsub)
    server = new StoreServer({ registrar: evilNode, peerId: evilNode.peerId, privateKey }, { backend: evil })
    await server.start()
    const evilAddr = evilNode.getMultiaddrs()[0].toString()
    // H links with the malicious relay, as with any relay of its set; M names H in its signed relay set.
    const honest = await net.startRelay(undefined, 0, ['--peer', evilAddr])
    linked.push({ peerId: peerIdFromString(honest.relay.ready.peerId as string), addrs: [multiaddr(honest.addr)] })

    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    let aliceDaemon = await net.startDaemon(alice, [honest.addr])
    // Bob's only relay is M: alice hands his envelopes to M first.
    let bobDaemon = await net.startDaemon(bob, [evilAddr])
    const hello = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'hello' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === hello.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'hello delivered')
    await procs.stop(bobDaemon)

    const before = await footprint(honest.dataDir, honest.relay.proc)
    const real = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'the real message' })
    const held = await eventually(async () => {
      const m = (await net.history(alice, bob)).find(m => m.id === real.id)
      return m?.sendState === 'relayed' && (m.relays ?? 0) >= 2 ? m : undefined
    }, 60_000, 'held by two relays')
    assert.equal(evil.squatted.length, 1, 'M squatted the envelope id')
    console.log(`      alice reads: held by ${String(held.relays)} relays (one of them M, which gossiped junk under the id first)`)
    // Alice goes away: only relays can bring bob the message now.
    await procs.stop(aliceDaemon)

    bobDaemon = await net.startDaemon(bob, [evilAddr])
    const got = await eventually(async () => (await net.history(bob, alice)).some(m => m.text === 'the real message') ? true : undefined, 60_000, 'the real message at bob, from H').catch((err: Error) => err)
    console.log(`      bob, reading M and H while alice is away: ${got === true ? 'has the message' : 'never gets it'}`)
    printFootprint('junk gossiped under a real envelope id, then the real envelope handed over', before, await footprint(honest.dataDir, honest.relay.proc))
    assert.equal(got, true, 'the message reached bob from the relay that receipted it')

    // Alice comes back: bob's delivery receipt reaches her.
    aliceDaemon = await net.startDaemon(alice, [honest.addr])
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === real.id)?.sendState === 'delivered' ? true : undefined, 60_000, 'delivered')
    await procs.stop(aliceDaemon)
    await procs.stop(bobDaemon)
  })
})
