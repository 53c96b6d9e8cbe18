/**
 * A tab's platform (web/src/platform/platform.ts) runs no DCUtR: it has no
 * TCP and no address a peer could dial directly, so hole punching over a
 * relayed connection has nothing to try (its direct upgrade is WebRTC's).
 * test/unit/peer/dcutr.spec.ts checks that such a platform's node serves no
 * DCUtR.
 */
import assert from 'node:assert/strict'
import { browserPeerPlatform } from '../../../web/src/platform/platform.js'
import type { KeyValueTable } from '../../../web/src/platform/platform.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'

describe('web: the tab\'s platform', () => {
  it('declares no hole punching (DCUtR) for its node', () => {
    const platform = browserPeerPlatform({ profile: 'p', crypto, table: {} as unknown as KeyValueTable })
    assert.equal(platform.holePunching, false)
  })
})
