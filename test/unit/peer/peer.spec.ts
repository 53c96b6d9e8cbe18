/**
 * The composition root (src/peer/peer.ts) in one process, over platform
 * pieces in memory and libp2p's memory transport: a peer is built from an
 * identity in key storage, starts its protocols and messenger in order,
 * rotates prekeys that are due through the key storage, shows who it is and
 * how it is connected, and stops with its store closed. A step that fails
 * closes what was opened before it.
 */
import assert from 'node:assert/strict'
import { PREKEY_ROTATION_MS } from '../../../src/crypto/prekeys.js'
import { DM_PROTOCOL } from '../../../src/protocols/dm/index.js'
import { PROTOCOL as ATTACHMENT_PROTOCOL } from '../../../src/protocols/attachment/index.js'
import { accountFingerprint } from '../../../src/net/directory.js'
import { createIdentity, createStarlingPeer, loadIdentity } from '../../../src/peer/index.js'
import type { StarlingPeer } from '../../../src/peer/index.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { memoryPlatform } from './platform.js'

const T0 = Date.UTC(2026, 11, 6)
let listenCount = 0
const memoryAddr = (): string => `/memory/peer-spec-${process.pid}-${++listenCount}`

describe('peer: createStarlingPeer', function () {
  this.timeout(60_000)
  const running: StarlingPeer[] = []

  afterEach(async () => {
    for (const peer of running.splice(0)) await peer.stop()
  })

  it('builds a peer from the platform, starts its protocols and messenger, shows who it is, and stops with its store closed', async () => {
    const platform = memoryPlatform(crypto)
    const local = await createIdentity(crypto, platform.keys, 'alice')
    const peer = await createStarlingPeer(platform, { bootstrap: [], listen: [memoryAddr()], loopback: true })
    assert.equal(peer.node.getProtocols().includes(DM_PROTOCOL), false, 'nothing but the node runs before start')
    await peer.start()
    running.push(peer)
    assert.ok(peer.node.getProtocols().includes(DM_PROTOCOL))
    assert.ok(peer.node.getProtocols().includes(ATTACHMENT_PROTOCOL))
    assert.equal(peer.messenger.running, true)

    const me = peer.whoami()
    assert.equal(me.handle, `alice~${local.tag}`)
    assert.equal(me.peerId, local.peerId.toString())
    assert.equal(me.fingerprint, accountFingerprint(crypto, local.accountPublicKey))
    assert.ok(me.multiaddrs.some(a => a.startsWith('/memory/')), me.multiaddrs.join(' '))
    const status = peer.status()
    assert.equal(status.peerId, local.peerId.toString())
    assert.deepEqual(status.reservations, [])
    assert.equal(status.outbox, 0)
    assert.deepEqual(status.received, { messages: 0, lastStoredAt: 0 })
    assert.deepEqual(status.attachmentRequests, [])

    running.splice(0)
    await peer.stop()
    assert.equal(peer.messenger.running, false)
    await assert.rejects(platform.opened[0].get('contacts', new Uint8Array([1])), { name: 'StoreClosedError' })
  })

  it('prekeys due for rotation are rotated at start and stored through the key storage', async () => {
    const platform = memoryPlatform(crypto)
    const local = await createIdentity(crypto, platform.keys, 'alice', { now: () => T0 })
    platform.now = () => T0 + PREKEY_ROTATION_MS + 1
    const peer = await createStarlingPeer(platform, { bootstrap: [], listen: [memoryAddr()] })
    assert.equal(platform.keys.writes, 1)
    await peer.start()
    running.push(peer)
    assert.equal(platform.keys.writes, 2)
    const stored = await loadIdentity(crypto, platform.keys)
    assert.notEqual(stored.prekeys.signedPrekey.id, local.prekeys.signedPrekey.id)
    assert.equal(stored.prekeys.signedPrekey.id, peer.identity.prekeys.signedPrekey.id)
  })

  it('with a passphrase, a key file stored in the clear is encrypted first and the store opened with the at-rest secret', async () => {
    const platform = memoryPlatform(crypto)
    await createIdentity(crypto, platform.keys, 'alice')
    const peer = await createStarlingPeer(platform, { bootstrap: [], listen: [memoryAddr()], passphrase: 'correct horse' })
    running.push(peer)
    assert.equal(peer.identity.encrypted, true)
    assert.equal(platform.secrets.length, 1)
    assert.deepEqual(platform.secrets[0], peer.identity.identitySecretKey)
    await assert.rejects(loadIdentity(crypto, platform.keys), { name: 'PassphraseRequiredError' })
  })

  it('without an identity: NoIdentityError, and no store is opened', async () => {
    const platform = memoryPlatform(crypto)
    await assert.rejects(createStarlingPeer(platform, { bootstrap: [], listen: [] }), { name: 'NoIdentityError' })
    assert.equal(platform.opened.length, 0)
  })

  it('a step that fails after the store was opened closes the store again', async () => {
    const platform = memoryPlatform(crypto)
    await createIdentity(crypto, platform.keys, 'alice')
    platform.transports = () => { throw new Error('no transport on this platform') }
    await assert.rejects(createStarlingPeer(platform, { bootstrap: [], listen: [] }), /no transport on this platform/)
    assert.equal(platform.opened.length, 1)
    await assert.rejects(platform.opened[0].get('contacts', new Uint8Array([1])), { name: 'StoreClosedError' })
  })

  it('a relay address without /p2p/<peer id> is refused and nothing stays open', async () => {
    const platform = memoryPlatform(crypto)
    await createIdentity(crypto, platform.keys, 'alice')
    await assert.rejects(createStarlingPeer(platform, { bootstrap: ['/memory/nobody'], listen: [] }), /no \/p2p\/<peer id>/)
    await assert.rejects(platform.opened[0].get('contacts', new Uint8Array([1])), { name: 'StoreClosedError' })
  })
})
