/**
 * Relays converge (relay-sync), with real relay and daemon processes on
 * loopback, two relays linked with `--peer`. Gossip keeps messages about
 * 5 s and a relay that is down receives none of it, so everything below
 * reaches the relay that was away only through anti-entropy:
 *
 *   - envelopes handed to A while B was killed reach B after it restarts,
 *     and B serves them;
 *   - a delete made on A while B was down is applied on B after it
 *     restarts; the envelope is not served by B any more, does not come
 *     back to A, and a sender handing it back is refused;
 *   - both relays took envelopes while the other was down (a partition):
 *     both end up holding both;
 *   - a message alice's daemon handed to A while B was down reaches bob,
 *     whose daemon reads only B (A is gone by then);
 *   - a relay that took envelopes while it had no linked relay (and so
 *     published no gossip) catches up the relay it is linked with later.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PrivateKey } from '@libp2p/interface'
import { toHex } from '../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../src/crypto/envelope.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { StoreClient, envelopeRef, mailboxId } from '../../src/protocols/store/index.js'
import { fakeEnvelope } from '../unit/relay/helpers.js'
import { Network, Processes, eventually, startTestNode } from './harness.js'
import type { RelayProcess, Running } from './harness.js'

interface Sent { id: string }

/** How long gossip keeps a message: a relay down longer than this can get it only by sync. */
const GOSSIP_CACHE_MS = 6_000

describe('e2e: relays converge (relay-sync)', function () {
  this.timeout(300_000)
  const procs = new Processes()
  const net = new Network(procs)
  let client: StoreClient
  let node: StarlingLibp2p
  let key: PrivateKey
  let mailbox: Uint8Array

  before(async () => {
    node = await startTestNode()
    client = new StoreClient(node)
  })

  beforeEach(async () => {
    key = await generateKeyPair('Ed25519')
    mailbox = mailboxId(peerIdFromPrivateKey(key))
  })

  after(async () => {
    await client.close()
    await node.stop()
    await procs.stopAll()
  })

  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
    assert.deepEqual(net.crashed(), [])
  })

  /** The envelope ids (hex) the relay serves from the mailbox. */
  async function served (relay: RelayProcess): Promise<string[]> {
    const ids: string[] = []
    let after: Uint8Array | undefined
    for (let page = 0; page < 100; page++) {
      const got = await client.fetch(multiaddr(relay.addr), key, { after, limit: 500 })
      ids.push(...got.envelopes.map(e => toHex(e.id)))
      if (!got.more) break
      after = got.cursor
    }
    return ids.sort()
  }

  async function put (relay: RelayProcess, count: number): Promise<string[]> {
    const ids: string[] = []
    for (let i = 0; i < count; i++) {
      const envelope = fakeEnvelope()
      await client.put(multiaddr(relay.addr), mailbox, envelope)
      ids.push(toHex(parseEnvelopeHeader(envelope).id))
    }
    return ids.sort()
  }

  function synced (relay: Running): Array<{ envelopes: number, deletes: number }> {
    return relay.events.filter(e => e.event === 'synced') as unknown as Array<{ envelopes: number, deletes: number }>
  }

  it('envelopes handed to A while B was killed reach B after it restarts, and B serves them', async () => {
    const [a, b] = await net.startLinkedRelays(2)
    // Both hold 60 first: B's catch-up has to find the 20 new ones among them (a descent, not a plain list).
    const common = await put(a, 60)
    await eventually(async () => JSON.stringify(await served(b)) === JSON.stringify(common) ? true : undefined, 30_000, 'B holding the first 60')
    await procs.stop(b.relay, 'SIGKILL')
    const ids = [...common, ...await put(a, 20)].sort()
    await new Promise(resolve => setTimeout(resolve, GOSSIP_CACHE_MS))
    const started = Date.now()
    const b2 = await net.restartRelay(b)
    await eventually(async () => JSON.stringify(await served(b2)) === JSON.stringify(ids) ? true : undefined, 30_000, 'B serving what A took while it was down')
    console.log(`      B caught up 20 envelopes among 80 ${Date.now() - started} ms after it was started (process start included)`)
    assert.equal(synced(b2.relay).reduce((n, s) => n + s.envelopes, 0), 20)
    await procs.stop(a.relay)
    await procs.stop(b2.relay)
  })

  it('a relay that took envelopes alone (no linked relay: no gossip built) and is linked later catches the other up', async () => {
    const alone = await net.startRelay()
    const other = await net.startRelay()
    const ids = await put(alone, 30)
    await procs.stop(alone.relay)
    await procs.stop(other.relay)
    // The operators link them: each restarted listing the other.
    const a = await net.restartRelay(alone, ['--peer', other.addr])
    const b = await net.restartRelay(other, ['--peer', alone.addr])
    await eventually(async () => JSON.stringify(await served(b)) === JSON.stringify(ids) ? true : undefined, 30_000, 'B serving what A took alone')
    assert.equal(synced(b.relay).reduce((n, s) => n + s.envelopes, 0), 30)
    await procs.stop(a.relay)
    await procs.stop(b.relay)
  })

  it('a relay killed (SIGKILL) in the middle of catching up resumes after a restart: every envelope once', async () => {
    const [a, b] = await net.startLinkedRelays(2)
    await procs.stop(b.relay, 'SIGKILL')
    // Two mailboxes (a source may keep 2,500 envelopes in one).
    const ids: string[] = []
    const owners = [key, await generateKeyPair('Ed25519')]
    for (const owner of owners) {
      key = owner
      mailbox = mailboxId(peerIdFromPrivateKey(owner))
      ids.push(...await put(a, 1500))
    }
    const b2 = await net.restartRelay(b)
    // Killed as soon as it holds anything of it, polled without a pause: a relay stores each page it fetches in one
    // synced write, and catches all of it up within a few hundred milliseconds (a 200 ms poll saw it done).
    const deadline = Date.now() + 30_000
    const holdsAny = async (owner: PrivateKey): Promise<boolean> => ((await client.fetch(multiaddr(b2.addr), owner, { limit: 1 }).catch(() => undefined))?.envelopes.length ?? 0) > 0
    while (!(await holdsAny(owners[0]) || await holdsAny(owners[1]))) {
      if (Date.now() > deadline) assert.fail('timed out waiting for B starting to catch up')
    }
    await procs.stop(b2.relay, 'SIGKILL')
    const held = async (relay: RelayProcess): Promise<string[]> => {
      const all: string[] = []
      for (const owner of owners) {
        key = owner
        all.push(...await served(relay))
      }
      return all.sort()
    }
    const b3 = await net.restartRelay(b)
    const before = (await held(b3)).length
    console.log(`      B held ${before} of ${ids.length} after the kill`)
    assert.ok(before < ids.length, 'killed before it was done')
    await eventually(async () => (await held(b3)).length >= ids.length ? true : undefined, 60_000, 'B resuming')
    assert.deepEqual(await held(b3), [...ids].sort())
    await procs.stop(a.relay)
    await procs.stop(b3.relay)
  })

  it('a delete made on A while B was down is applied on B after it restarts; the envelope comes back nowhere', async () => {
    const [a, b] = await net.startLinkedRelays(2)
    const envelopes = [fakeEnvelope(), fakeEnvelope()]
    for (const envelope of envelopes) await client.put(multiaddr(a.addr), mailbox, envelope)
    const ids = envelopes.map(e => toHex(parseEnvelopeHeader(e).id)).sort()
    await eventually(async () => JSON.stringify(await served(b)) === JSON.stringify(ids) ? true : undefined, 30_000, 'gossip to B')

    await procs.stop(b.relay, 'SIGKILL')
    const gone = envelopes[0]
    assert.equal(await client.delete(multiaddr(a.addr), key, [envelopeRef(parseEnvelopeHeader(gone).id, gone)]), 1)
    await new Promise(resolve => setTimeout(resolve, GOSSIP_CACHE_MS))
    const b2 = await net.restartRelay(b)
    const kept = [toHex(parseEnvelopeHeader(envelopes[1]).id)]
    await eventually(async () => JSON.stringify(await served(b2)) === JSON.stringify(kept) ? true : undefined, 30_000, 'B applying the delete')
    assert.equal(synced(b2.relay).reduce((n, s) => n + s.deletes, 0), 1)
    // Both have exchanged since (each on the other's connect): A did not fetch it back from B's old copy.
    await new Promise(resolve => setTimeout(resolve, 2_000))
    assert.deepEqual(await served(a), kept)
    assert.deepEqual(await served(b2), kept)
    // A sender handing it back is refused by both: its owner has it.
    for (const relay of [a, b2]) {
      await assert.rejects(client.put(multiaddr(relay.addr), mailbox, gone), { name: 'InvalidStoreRequestError', message: /deleted it/ })
    }
    await procs.stop(a.relay)
    await procs.stop(b2.relay)
  })

  it('a partition: A took envelopes while B was down and B while A was down; both end up holding both', async () => {
    const [a, b] = await net.startLinkedRelays(2)
    await procs.stop(b.relay, 'SIGKILL')
    const onA = await put(a, 5)
    await procs.stop(a.relay, 'SIGKILL')
    const b2 = await net.restartRelay(b)
    const onB = await put(b2, 5)
    await new Promise(resolve => setTimeout(resolve, GOSSIP_CACHE_MS))
    const a2 = await net.restartRelay(a)
    const all = [...onA, ...onB].sort()
    for (const relay of [a2, b2]) {
      await eventually(async () => JSON.stringify(await served(relay)) === JSON.stringify(all) ? true : undefined, 30_000, `${relay === a2 ? 'A' : 'B'} holding both sides`)
    }
    await procs.stop(a2.relay)
    await procs.stop(b2.relay)
  })

  it('a message alice handed to A while B was down reaches bob, whose daemon reads only B, after A is gone', async () => {
    const [a, b] = await net.startLinkedRelays(2)
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    const aliceDaemon = await net.startDaemon(alice, [a.addr])
    const bobDaemon = await net.startDaemon(bob, [b.addr])
    // Alice learns bob (and pins him) while everyone is up.
    const hello = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'hello' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === hello.id)?.sendState === 'delivered' ? true : undefined, 60_000, 'hello delivered')

    await procs.stop(bobDaemon)
    await procs.stop(b.relay, 'SIGKILL')
    const away = await net.call<Sent>(alice, 'send', { handle: bob.name, text: 'while your relay was down' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === away.id)?.sendState === 'relayed' ? true : undefined, 60_000, 'held by A')
    // Alice goes away too: only A holds it, and nobody will hand it over again.
    await procs.stop(aliceDaemon)
    await new Promise(resolve => setTimeout(resolve, GOSSIP_CACHE_MS))

    const b2 = await net.restartRelay(b)
    await eventually(async () => synced(b2.relay).some(s => s.envelopes > 0) ? true : undefined, 30_000, 'B reconciled with A')
    // A is gone: bob can read only B.
    await procs.stop(a.relay, 'SIGKILL')
    await net.startDaemon(bob, [b2.addr])
    await eventually(async () => (await net.history(bob, alice)).some(m => m.text === 'while your relay was down') ? true : undefined, 60_000, 'bob receiving it from B')
    await procs.stop(b2.relay)
  })
})
