/**
 * Issue 9, item 2 (b): bare names cannot be hijacked by sybils. Real kad-dht
 * on loopback TCP, in this process: two relays (DHT servers, LevelDB stores
 * that list providers sorted by peer id), the real owner publishing through
 * its Directory, an attacker's sybil devices (valid device records of the
 * attacker's account and its claim of the name, put through the DHT and
 * validated by the relays), and a resolving user whose Directory asks the
 * relays through the real kad-dht handlers.
 *
 * The attack: before the fix a resolution read at most 20 providers, and a
 * relay lists them sorted by peer id, so 50 sybil ids sorting before the
 * owner's hid the owner and `alice` resolved to the attacker alone.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { nodeCrypto } from '../../node/platform.js'
import { Directory, MAX_CLAIMANTS, accountFingerprint } from '../../src/net/directory.js'
import type { StarlingLibp2p } from '../../src/net/node.js'
import { buildDeviceRecord, buildHandleClaim, formatHandle, handleProviderCid, handleTag } from '../../src/identity/index.js'
import { DhtNodes, dropProvider, injectProviders, lateSortingKey, rawPut, sybilsSortingBefore } from './dht-nodes.js'
import type { Publisher } from './dht-nodes.js'

const SYBILS = 50

describe('e2e: bare names and sybil claimants (real kad-dht on loopback)', function () {
  this.timeout(180_000)
  const crypto = nodeCrypto()
  const nodes = new DhtNodes(crypto)
  let relays: StarlingLibp2p[]
  let relayAddrs: string[]
  let attacker: StarlingLibp2p
  let resolver: Directory
  let alice: Publisher
  let aliceHandle: string

  before(async () => {
    const first = await nodes.relay()
    const second = await nodes.relay([first.getMultiaddrs()[0].toString()])
    relays = [first, second]
    relayAddrs = relays.map(r => r.getMultiaddrs()[0].toString())
    alice = await nodes.publisher(relayAddrs, 'alice', {}, await lateSortingKey())
    await alice.directory.publish()
    aliceHandle = formatHandle('alice', handleTag(crypto, 'alice', alice.account.publicKey))
    attacker = await nodes.user(relayAddrs, { acceptAnything: true })
    resolver = new Directory(await nodes.user(relayAddrs), crypto)
  })

  after(async () => { await nodes.stop() })

  /**
   * Mallory's sybil devices for `name`: each a valid device record of
   * mallory's account (accepted by the relays' validators), announced as a
   * provider of the name on every relay, and mallory's claim of the name.
   */
  async function sybilClaim (name: string, sybilKeys: Awaited<ReturnType<typeof sybilsSortingBefore>>): Promise<{ handle: string, ids: PeerId[] }> {
    const mallory = await crypto.ed25519.generateKeyPair()
    const expiresAt = Date.now() + 3_600_000
    const ids = sybilKeys.map(k => peerIdFromPrivateKey(k))
    for (const key of sybilKeys) {
      const record = await buildDeviceRecord(crypto, {
        accountSecretKey: mallory.secretKey,
        devicePrivateKey: key,
        addrs: attacker.getMultiaddrs(),
        identityKey: alice.identityKey,
        ...alice.prekeys,
        seq: 1,
        expiresAt
      })
      // The builder signs the (copied) public prekeys with mallory's account key.
      assert.ok(await rawPut(attacker, record.key, record.value) >= 1, 'the relays accept a sybil\'s valid device record')
    }
    const claim = await buildHandleClaim(crypto, { accountSecretKey: mallory.secretKey, name, devices: ids.slice(0, 16), seq: 1, expiresAt })
    assert.ok(await rawPut(attacker, claim.key, claim.value) >= 1, 'the relays accept mallory\'s valid claim')
    for (const relay of relays) await injectProviders(relay, handleProviderCid(crypto, name), ids)
    return { handle: formatHandle(name, handleTag(crypto, name, mallory.publicKey)), ids }
  }

  it(`${SYBILS} sybil devices sorting before the owner's do not hide the real claim: alice is ambiguous, never the attacker alone`, async () => {
    const sybils = await sybilClaim('alice', await sybilsSortingBefore(alice.node.peerId, SYBILS))
    const started = performance.now()
    const resolution = await resolver.resolve('alice')
    const ms = performance.now() - started
    process.stdout.write(`      resolving alice with ${SYBILS} sybil providers on each of 2 relays: ${ms.toFixed(0)} ms, ${resolution.claims.length} claims\n`)
    const real = resolution.claims.find(c => c.handle === aliceHandle)
    assert.ok(real != null, `the real claim ${aliceHandle} is found (got ${resolution.claims.map(c => c.handle).join(', ')})`)
    assert.equal(real.fingerprint, accountFingerprint(crypto, alice.account.publicKey))
    assert.deepEqual(real.devices.map(d => d.peerId.toString()), [alice.node.peerId.toString()])
    assert.ok(resolution.claims.some(c => c.handle === sybils.handle), 'the attacker\'s claim is listed too')
    assert.equal(resolution.unique, false)
    await assert.rejects(resolver.resolveOne('alice'), (err: Error & { handles?: string[] }) => {
      assert.equal(err.name, 'AmbiguousHandleError')
      assert.ok(err.handles?.includes(aliceHandle))
      return true
    })
  })

  it('a relay that leaves the owner out does not hide it: every relay holding the name is read', async () => {
    await dropProvider(relays[0], handleProviderCid(crypto, 'alice'), alice.node.peerId)
    const resolution = await resolver.resolve('alice')
    assert.ok(resolution.claims.some(c => c.handle === aliceHandle), 'the second relay\'s answer still names the owner')
  })

  it(`more than ${MAX_CLAIMANTS} devices announcing a name: resolution fails loudly and never picks; name~tag still resolves`, async () => {
    const carol = await nodes.publisher(relayAddrs, 'carol')
    await carol.directory.publish()
    const carolHandle = formatHandle('carol', handleTag(crypto, 'carol', carol.account.publicKey))
    // carol's own device plus MAX_CLAIMANTS sybil ids: one more than the cap, on one relay only.
    const ids = await Promise.all(Array.from({ length: MAX_CLAIMANTS }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
    await injectProviders(relays[1], handleProviderCid(crypto, 'carol'), ids)
    const started = performance.now()
    await assert.rejects(resolver.resolve('carol'), { name: 'TooManyClaimsError', message: /^too many claims for carol: use name~tag/ })
    process.stdout.write(`      resolving carol with ${MAX_CLAIMANTS + 1} providers: TooManyClaimsError after ${(performance.now() - started).toFixed(0)} ms\n`)
    await assert.rejects(resolver.resolveOne('carol'), { name: 'TooManyClaimsError' })
    const exact = await resolver.resolve(carolHandle)
    assert.equal(exact.unique, true)
    assert.equal(exact.claims[0].fingerprint, accountFingerprint(crypto, carol.account.publicKey))
  })
})
