/**
 * Hide my IP turned on and off in quick succession while the peer runs
 * (src/peer/peer.ts setHideIp, commit 59b414c): DCUtR's start() and stop()
 * take a few awaits each (the registrar's topology and handler), so a
 * second setHideIp that reads `isStarted()` while the first one's start is
 * under way must not leave DCUtR running with the setting on.
 */
import assert from 'node:assert/strict'
import { createIdentity, createStarlingPeer } from '../../../src/peer/index.js'
import type { StarlingPeer } from '../../../src/peer/index.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { memoryPlatform } from './platform.js'

const DCUTR = '/libp2p/dcutr'

describe('peer: DCUtR and hide my IP toggled quickly', function () {
  this.timeout(60_000)
  let alice: StarlingPeer | undefined

  afterEach(async () => { await alice?.stop() })

  it('off then at once on again: DCUtR does not run with hide my IP on (nor the other way round)', async () => {
    const platform = memoryPlatform(crypto)
    await createIdentity(crypto, platform.keys, 'alice')
    alice = await createStarlingPeer(platform, { bootstrap: [], listen: [`/memory/dcutr-toggle-${process.pid}`], loopback: true })
    await alice.setHideIp(true)
    assert.equal(alice.node.getProtocols().includes(DCUTR), false)
    // Off, and on again before DCUtR's start has finished.
    await Promise.all([alice.setHideIp(false), alice.setHideIp(true)])
    assert.equal(alice.hideIp, true)
    assert.equal(alice.node.getProtocols().includes(DCUTR), false, 'hide my IP is on: DCUtR must not run (before: started by the first call after the second had looked)')
    // On, and off again before its stop has finished: it runs.
    await Promise.all([alice.setHideIp(false), alice.setHideIp(true), alice.setHideIp(false)])
    assert.equal(alice.hideIp, false)
    assert.equal(alice.node.getProtocols().includes(DCUTR), true, 'hide my IP is off: DCUtR runs')
  })
})
