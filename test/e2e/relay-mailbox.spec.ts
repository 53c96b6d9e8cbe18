/**
 * Strangers against someone's mailbox, with real relay and daemon
 * processes on loopback; each attacker dials from its own 127.0.0.x
 * address, the daemons from 127.0.0.1. Each test prints the relay's disk
 * and memory before and after.
 *
 *   - One source with 20 peer ids tries to fill bob's mailbox (more than
 *     the mailbox's 10,000 envelopes): it gets its share and no more, every
 *     envelope the relay acknowledged is still there, and alice's message to
 *     bob, offline, is held by the relay and reaches him.
 *   - A mailbox that several sources did fill refuses alice's envelope with
 *     its reason: alice's daemon says so (a relay-refused event) and hands
 *     the envelope to another relay, from which bob gets it.
 */
import assert from 'node:assert/strict'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { toHex } from '../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../src/crypto/envelope.js'
import { StoreClient, mailboxId } from '../../src/protocols/store/index.js'
import type { PrivateKey } from '@libp2p/interface'
import { createNodeCrypto } from '../../node/crypto/node-provider.js'
import { loadIdentity } from '../../node/identity-store.js'
import { fakeEnvelope } from '../unit/relay/helpers.js'
import { Network, Processes, eventually, mapLimit } from './harness.js'
import type { User } from './harness.js'
import { footprint, nodeFrom, printFootprint } from './measure.js'

interface Sent { id: string }

/** `count` puts into `mailbox` by `sybils` fresh peer ids of source `host`; the ids the relay acknowledged and the refusals by kind. */
async function flood (host: string, relay: Multiaddr, mailbox: Uint8Array, sybils: number, count: number): Promise<{ acknowledged: string[], refused: Map<string, number> }> {
  const acknowledged: string[] = []
  const refused = new Map<string, number>()
  const per = Math.ceil(count / sybils)
  await mapLimit(Array.from({ length: sybils }, (_, i) => i), 6, async () => {
    const sybil = await nodeFrom(host)
    const client = new StoreClient(sybil)
    try {
      for (let j = 0; j < per; j++) {
        const envelope = fakeEnvelope()
        try {
          await client.put(relay, mailbox, envelope)
          acknowledged.push(toHex(parseEnvelopeHeader(envelope).id))
        } catch (err) {
          const kind = (err as Error & { quota?: string }).quota ?? (err as Error).name
          refused.set(kind, (refused.get(kind) ?? 0) + 1)
        }
      }
    } finally {
      await client.close()
      await sybil.stop()
    }
  })
  return { acknowledged, refused }
}

/** Every envelope id bob's mailbox on `relay` holds, read with his device key. */
async function held (relay: Multiaddr, deviceKey: PrivateKey): Promise<string[]> {
  const reader = await nodeFrom('127.0.0.1')
  const client = new StoreClient(reader)
  const ids: string[] = []
  try {
    let after: Uint8Array | undefined
    for (let page = 0; page < 100; page++) {
      const p = await client.fetch(relay, deviceKey, { after, limit: 500 })
      ids.push(...p.envelopes.map(e => toHex(e.id)))
      after = p.cursor
      if (!p.more) break
    }
  } finally {
    await client.close()
    await reader.stop()
  }
  return ids
}

describe('e2e: strangers against a mailbox', function () {
  this.timeout(600_000)
  const procs = new Processes()
  const net = new Network(procs)
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
  })
  after(async () => procs.stopAll())

  /** Alice and bob, who have talked once (so each has the other's device), with bob's daemon stopped. */
  async function pair (relays: string[]): Promise<{ alice: User, bob: User, bobKey: PrivateKey }> {
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, relays)
    const bobDaemon = await net.startDaemon(bob, relays)
    const hello = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'hello' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === hello.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'hello delivered')
    await procs.stop(bobDaemon)
    const bobKey = (await loadIdentity(createNodeCrypto(), bob.dir)).devicePrivateKey
    return { alice, bob, bobKey }
  }

  it('one source with 20 peer ids gets only its share of bob\'s mailbox; nothing acknowledged is evicted; alice\'s message is held and reaches bob', async () => {
    const relay = await net.startRelay()
    const addr = multiaddr(relay.addr)
    const { alice, bob, bobKey } = await pair([relay.addr])
    const mailbox = mailboxId(peerIdFromString(bob.peerId))
    const before = await footprint(relay.dataDir, relay.relay.proc)

    // More than the whole mailbox holds (10,000 envelopes), from 127.0.0.2.
    const attack = await flood('127.0.0.2', addr, mailbox, 20, 10_500)
    const after = await footprint(relay.dataDir, relay.relay.proc)
    printFootprint(`10,500 puts into one mailbox from one source with 20 peer ids (${attack.acknowledged.length} acknowledged, refused: ${JSON.stringify(Object.fromEntries(attack.refused))})`, before, after)
    assert.equal(attack.acknowledged.length, 2_500, 'the source\'s share of the mailbox')
    assert.ok([...attack.refused.keys()].every(k => k === 'mailbox-share' || k === 'RateLimitedError'), [...attack.refused.keys()].join())

    // Alice, from another address, still gets her message held by the relay while bob is away.
    const away = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'while you were away' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === away.id)?.sendState === 'relayed' ? true : undefined, 30_000, 'alice\'s message held by the relay')
    // Every envelope the relay acknowledged is still there, and alice's too.
    const ids = new Set(await held(addr, bobKey))
    assert.equal(ids.size, 2_501)
    assert.ok(attack.acknowledged.every(id => ids.has(id)), 'an acknowledged envelope was evicted')

    await net.startDaemon(bob, [relay.addr])
    await eventually(async () => (await net.history(bob, alice)).some(m => m.text === 'while you were away') ? true : undefined, 60_000, 'alice\'s message at bob')
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === away.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'delivered')
  })

  it('a full mailbox refuses alice\'s envelope by name; her daemon says so and hands it to another relay, from which bob gets it', async () => {
    // Relay 1 keeps small mailboxes (40 envelopes, 10 per source); relay 2, linked with it, the default.
    const second = await net.startRelay()
    const first = await net.startRelay(undefined, 0, ['--mailbox-max-envelopes', '40', '--mailbox-share-envelopes', '10', '--peer', second.addr])
    await procs.stop(second.relay)
    const relay2 = await net.restartRelay(second, ['--peer', first.addr])
    const { alice, bob } = await pair([first.addr, relay2.addr])
    const mailbox = mailboxId(peerIdFromString(bob.peerId))
    const before = await footprint(first.dataDir, first.relay.proc)
    let acknowledged = 0
    for (const host of ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']) {
      const attack = await flood(host, multiaddr(first.addr), mailbox, 3, 12)
      assert.equal(attack.acknowledged.length, 10, `the share of ${host}`)
      acknowledged += attack.acknowledged.length
    }
    printFootprint(`48 puts into one mailbox from 4 sources (${acknowledged} acknowledged)`, before, await footprint(first.dataDir, first.relay.proc))

    const { ApiClient } = await import('../../node/api/client.js')
    const events: Array<Record<string, unknown>> = []
    const watching = new AbortController()
    const watch = (async () => {
      for await (const e of (await ApiClient.connect(alice.dir)).events(watching.signal)) events.push(e)
    })().catch(() => {})
    try {
      const away = await net.call<Sent>(alice, 'send', { handle: bob.handle, text: 'to a full mailbox' })
      const firstId = first.addr.split('/p2p/')[1]
      const refusal = await eventually(async () => events.find(e => e.type === 'relay-refused' && e.id === away.id), 30_000, 'the relay-refused event')
      assert.equal(refusal.relay, firstId)
      assert.equal(refusal.quota, 'mailbox-full')
      assert.match(String(refusal.reason), /mailbox is full/)
      const status = await eventually(async () => {
        const m = (await net.history(alice, bob)).find(m => m.id === away.id)
        return m?.sendState === 'relayed' ? m : undefined
      }, 30_000, 'held by the other relay')
      assert.equal(status.relays, 1)
      await net.startDaemon(bob, [first.addr, relay2.addr])
      await eventually(async () => (await net.history(bob, alice)).some(m => m.text === 'to a full mailbox') ? true : undefined, 60_000, 'alice\'s message at bob')
    } finally {
      watching.abort()
      await watch
    }
  })
})
