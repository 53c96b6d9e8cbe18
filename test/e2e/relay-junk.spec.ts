/**
 * A malicious relay of the set serves junk under a real envelope's id, so
 * that the recipient signs a delete for it: real relay (H) and daemon
 * processes on loopback, and the malicious relay (M) in this process, a
 * real libp2p node linked with H that takes the mailbox gossip and answers
 * `/starling/store` itself. Bob reads M first; his delete names the hash
 * of the junk he opened, so H keeps the real envelope and bob gets the
 * message from it. Prints H's disk and memory before and after.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { gossipsub } from '@libp2p/gossipsub'
import type { GossipSub, GossipsubMessage } from '@libp2p/gossipsub'
import { tcp } from '@libp2p/tcp'
import { toHex } from '../../src/crypto/bytes.js'
import { createStarlingNode } from '../../src/net/node.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { starlingDhtValidators } from '../../src/identity/index.js'
import { createCrypto } from '../../src/crypto/index.js'
import { allShardTopics, mailboxTopic, wire } from '../../src/protocols/store/index.js'
import type { MailboxPage, PutOutcome, SignedDelete, StoreBackend } from '../../src/protocols/store/index.js'
import { StoreServer } from '../../src/protocols/store/store.js'
import { checkGossip, encodeDeleteGossip, mailboxGossipsubOptions } from '../../src/relay/index.js'
import { fakeEnvelope } from '../unit/relay/helpers.js'
import { Network, Processes, eventually } from './harness.js'
import { footprint, printFootprint } from './measure.js'

interface Sent { id: string }

/** The malicious relay: learns envelope ids from gossip, serves junk under them, and spreads the deletes it is given. */
class JunkRelay implements StoreBackend {
  /** mailbox (hex) → envelope ids seen in gossip. */
  readonly seen = new Map<string, Uint8Array[]>()
  readonly deletes: SignedDelete[] = []

  constructor (readonly node: StarlingLibp2p & { services: { pubsub: GossipSub } }) {
    node.services.pubsub.addEventListener('gossipsub:message', (evt: CustomEvent<GossipsubMessage>) => {
      void checkGossip(evt.detail.msg.topic, evt.detail.msg.data, { now: Date.now() }).then(checked => {
        if (checked.kind !== 'envelope') return
        const hex = toHex(checked.mailbox)
        this.seen.set(hex, [...(this.seen.get(hex) ?? []), checked.id])
      }, () => {})
    })
    for (const topic of allShardTopics()) node.services.pubsub.subscribe(topic)
  }

  async put (): Promise<PutOutcome> {
    // It keeps nothing, and says it does.
    return { storedAt: Date.now(), expiresAt: Date.now() + 60_000, duplicate: false }
  }

  async fetch (mailbox: Uint8Array): Promise<MailboxPage> {
    const envelopes = (this.seen.get(toHex(mailbox)) ?? []).map(id => {
      const junk = fakeEnvelope()
      junk.set(id, 1)
      return { id, envelope: junk, storedAt: Date.now() }
    })
    return { envelopes, cursor: new Uint8Array(0), more: false }
  }

  async delete (request: SignedDelete): Promise<number> {
    this.deletes.push(request)
    // What an honest relay does with an owner's delete: spread it to the set.
    await this.node.services.pubsub.publish(mailboxTopic(request.mailbox), encodeDeleteGossip({
      mailbox: wire(request.mailbox),
      refs: request.refs.map(r => ({ id: wire(r.id), hash: wire(r.hash) })),
      auth: request.auth,
      relay: wire(request.relay)
    }))
    // And it answers slowly, so that the delete has reached every relay before the owner reads the next one.
    await new Promise(resolve => setTimeout(resolve, 2000))
    return request.refs.length
  }
}

describe('e2e: junk served under a real envelope id', function () {
  this.timeout(300_000)
  const procs = new Processes()
  const net = new Network(procs)
  let junkNode: StarlingLibp2p | undefined
  let server: StoreServer | undefined
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
  })
  after(async () => {
    await server?.stop()
    await junkNode?.stop()
    await procs.stopAll()
  })

  it('cannot delete the real envelope anywhere: bob still gets the message, and alice sees it delivered', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const { validators, selectors } = starlingDhtValidators(createCrypto(), { now: Date.now })
    junkNode = await createStarlingNode({
      privateKey,
      role: 'relay',
      transports: [tcp()],
      listen: ['/ip4/127.0.0.1/tcp/0'],
      validators,
      selectors,
      loopback: true,
      extraServices: { pubsub: gossipsub(mailboxGossipsubOptions({ loopback: true, relaySet: { has: () => true } })) }
    })
    const junk = new JunkRelay(junkNode as StarlingLibp2p & { services: { pubsub: GossipSub } })
    server = new StoreServer({ registrar: junkNode, peerId: junkNode.peerId, privateKey }, { backend: junk })
    await server.start()
    const junkAddr = junkNode.getMultiaddrs()[0].toString()
    // H links with the malicious relay, as with any relay of its set.
    const honest = await net.startRelay(undefined, 0, ['--peer', junkAddr])

    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, [honest.addr])
    // Bob reads the malicious relay first.
    let bobDaemon = await net.startDaemon(bob, [junkAddr, honest.addr])
    const hello = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'hello' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === hello.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'hello delivered')
    await procs.stop(bobDaemon)

    const before = await footprint(honest.dataDir, honest.relay.proc)
    const real = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'the real message' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === real.id)?.sendState === 'relayed' ? true : undefined, 30_000, 'held by relays')
    await eventually(async () => junk.seen.size > 0 ? true : undefined, 30_000, 'the malicious relay learns the envelope id from gossip')

    bobDaemon = await net.startDaemon(bob, [junkAddr, honest.addr])
    await eventually(async () => junk.deletes.length > 0 ? true : undefined, 30_000, 'bob signs a delete for the junk')
    const [seenId] = [...junk.seen.values()][0]
    assert.ok(junk.deletes.some(d => d.refs.some(r => toHex(r.id) === toHex(seenId))), 'the delete names the real envelope\'s id')
    await eventually(async () => (await net.history(bob, alice)).some(m => m.text === 'the real message') ? true : undefined, 60_000, 'the real message at bob')
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === real.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'delivered')
    printFootprint('junk under a real id, and the delete bob signed for it', before, await footprint(honest.dataDir, honest.relay.proc))
    await procs.stop(bobDaemon)
  })
})
