/**
 * Issue 9, item 2 (d): a record with an absurd sequence number cannot lock
 * the real owner out. Real kad-dht on loopback TCP, in this process: two
 * relays validating with Starling's validators, the owner publishing through
 * its Directory, an attacker node that puts records signed with the owner's
 * account key (a stolen old key, a buggy client, or a record the owner
 * signed once and someone kept), and a resolving user.
 *
 * Before the fix a claim with seq 2^53-1 was stored, remembered by the relays'
 * validators as the highest seq, and every later publication of the owner
 * was refused as stale: the name pointed at the attacker's device for good.
 */
import assert from 'node:assert/strict'
import { nodeCrypto } from '../../node/platform.js'
import { Directory } from '../../src/net/directory.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { buildHandleClaim, formatHandle, handleTag } from '../../src/identity/index.js'
import { DhtNodes, rawPut } from './dht-nodes.js'
import type { Publisher } from './dht-nodes.js'

describe('e2e: absurd record sequence numbers (real kad-dht on loopback)', function () {
  this.timeout(120_000)
  const crypto = nodeCrypto()
  const nodes = new DhtNodes(crypto)
  let relayAddrs: string[]
  let attacker: StarlingLibp2p
  let resolver: Directory

  before(async () => {
    const first = await nodes.relay()
    const second = await nodes.relay([first.getMultiaddrs()[0].toString()])
    relayAddrs = [first, second].map(r => r.getMultiaddrs()[0].toString())
    attacker = await nodes.user(relayAddrs, { acceptAnything: true })
    resolver = new Directory(await nodes.user(relayAddrs), crypto)
  })

  after(async () => { await nodes.stop() })

  /** An owner who has published, and its handle. */
  async function owner (name: string): Promise<Publisher & { handle: string }> {
    const p = await nodes.publisher(relayAddrs, name)
    await p.directory.publish()
    return { ...p, handle: formatHandle(name, handleTag(crypto, name, p.account.publicKey)) }
  }

  /** A claim of the owner's name, signed with the owner's account key, that points at the attacker's device. */
  async function signedWithOwnersKey (o: Publisher, name: string, seq: number): Promise<{ key: Uint8Array, value: Uint8Array }> {
    return buildHandleClaim(crypto, { accountSecretKey: o.account.secretKey, name, devices: [attacker.peerId], seq, expiresAt: Date.now() + 3_600_000 })
  }

  async function devicesOf (handle: string): Promise<string[]> {
    return (await resolver.resolve(handle)).claims[0].devices.map(d => d.peerId.toString())
  }

  it('a claim signed by the owner\'s key with seq 2^53-1 does not lock the owner out: refused by the relays, the owner publishes again', async () => {
    const erin = await owner('erin')
    const absurd = await signedWithOwnersKey(erin, 'erin', Number.MAX_SAFE_INTEGER)
    const stored = await rawPut(attacker, absurd.key, absurd.value)
    await erin.directory.publish()
    assert.deepEqual(await devicesOf(erin.handle), [erin.node.peerId.toString()])
    assert.equal(stored, 0, 'no relay stored it')
  })

  it('a claim of the owner 50 minutes ahead (a fast clock, replayed) is overtaken by the owner\'s next publication', async () => {
    const fern = await owner('fern')
    const ahead = await signedWithOwnersKey(fern, 'fern', Date.now() + 50 * 60_000)
    assert.ok(await rawPut(attacker, ahead.key, ahead.value) >= 1, 'within the clock allowance: stored')
    assert.deepEqual(await devicesOf(fern.handle), [attacker.peerId.toString()], 'the replay is the current claim for now')
    await fern.directory.publish()
    assert.ok((fern.directory.lastPublished?.seq ?? 0) > Date.now() + 49 * 60_000, 'published above the replayed seq')
    assert.deepEqual(await devicesOf(fern.handle), [fern.node.peerId.toString()])
  })
})
