/**
 * DCUtR (libp2p's hole punching over a relayed connection) in a peer
 * (src/peer/peer.ts, src/net/node.ts). With hide my IP it must not run at
 * all: it is left out of a node made with the setting on, and a peer that
 * turns the setting on while it runs (the daemon's settings) stops it
 * (before, it went on: its dials were refused by hide my IP's gater, but it
 * still opened its streams and sent its CONNECT on every relayed connection),
 * and starts it again when the setting is turned off. A platform with no
 * transport DCUtR could use (a tab: no TCP, nothing a peer can dial
 * directly) does not run it. Whether it runs is read from the protocols the
 * node serves.
 */
import assert from 'node:assert/strict'
import { createIdentity, createStarlingPeer } from '../../../src/peer/index.js'
import type { StarlingPeer } from '../../../src/peer/index.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { memoryPlatform } from './platform.js'

const DCUTR = '/libp2p/dcutr'
let listenCount = 0
const memoryAddr = (): string => `/memory/dcutr-spec-${process.pid}-${++listenCount}`

describe('peer: DCUtR and hide my IP', function () {
  this.timeout(60_000)
  const running: StarlingPeer[] = []

  afterEach(async () => {
    for (const peer of running.splice(0)) await peer.stop()
  })

  async function peer (options: { hideIp?: boolean, holePunching?: boolean } = {}): Promise<StarlingPeer> {
    const platform = { ...memoryPlatform(crypto), ...(options.holePunching != null ? { holePunching: options.holePunching } : {}) }
    await createIdentity(crypto, platform.keys, 'alice')
    const created = await createStarlingPeer(platform, { bootstrap: [], listen: [memoryAddr()], loopback: true, hideIp: options.hideIp })
    running.push(created)
    return created
  }

  it('hide my IP turned on while the peer runs stops DCUtR; turned off, it runs again (on from the start: none at all)', async () => {
    const alice = await peer()
    assert.equal(alice.node.getProtocols().includes(DCUTR), true, 'DCUtR runs without hide my IP')
    await alice.setHideIp(true)
    assert.equal(alice.node.getProtocols().includes(DCUTR), false, 'hide my IP turned on: DCUtR stopped (before: it went on)')
    await alice.setHideIp(false)
    assert.equal(alice.node.getProtocols().includes(DCUTR), true, 'hide my IP turned off: DCUtR runs again')
    const hidden = await peer({ hideIp: true })
    assert.equal(hidden.node.getProtocols().includes(DCUTR), false, 'on from the start: no DCUtR')
  })

  it('a platform with nothing DCUtR could dial (a tab) runs none', async () => {
    const tab = await peer({ holePunching: false })
    assert.equal(tab.node.getProtocols().includes(DCUTR), false)
  })
})
