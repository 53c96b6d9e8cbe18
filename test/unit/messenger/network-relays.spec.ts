/**
 * The relays of a device's network (network-relays.ts), from relay sets the
 * test answers, on a fake clock: our own relays first, then what their
 * signed sets name, bounded; read again only when due; kept when no relay
 * answers; only our own when the transport cannot read relay sets.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import { MAX_NETWORK_RELAYS, NetworkRelays, RELAY_SET_REFRESH_MS } from '../../../src/messenger/network-relays.js'
import type { RelayRef } from '../../../src/messenger/network-relays.js'

const T0 = Date.UTC(2026, 11, 6)

async function peers (n: number): Promise<PeerId[]> {
  return await Promise.all(Array.from({ length: n }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
}

const ref = (peerId: PeerId): RelayRef => ({ peerId, addrs: [] })
const ids = (relays: RelayRef[]): string[] => relays.map(r => r.peerId.toString())

describe('messenger: NetworkRelays', () => {
  it('our relays first, then those their sets name (each once, bounded); read again only when due; kept when none answers', async () => {
    const [own, ...others] = await peers(3 + MAX_NETWORK_RELAYS)
    let now = T0
    let answering = true
    let asked = 0
    const set = [own, ...others]
    const network = new NetworkRelays({
      transport: {
        relaySet: async () => {
          asked++
          if (!answering) throw new Error('no answer')
          return set.map(ref)
        }
      },
      ownRelays: () => [ref(own)],
      now: () => now
    })
    assert.deepEqual(ids(network.relays()), [own.toString()], 'before any set is read: our own')
    await network.refresh()
    const relays = ids(network.relays())
    assert.equal(relays[0], own.toString())
    assert.equal(new Set(relays).size, relays.length, 'each relay once')
    assert.equal(relays.length, MAX_NETWORK_RELAYS, `bounded: ${set.length} named, at most ${MAX_NETWORK_RELAYS} learnt (our own among them)`)

    await network.refresh()
    assert.equal(asked, 1, 'not due: not read again')
    now += RELAY_SET_REFRESH_MS
    answering = false
    await network.refresh()
    assert.equal(asked, 2)
    assert.deepEqual(ids(network.relays()), relays, 'nobody answered: what was learnt is kept')
  })

  it('a transport that cannot read relay sets: only our own relays', async () => {
    const [a, b] = await peers(2)
    const network = new NetworkRelays({ transport: {}, ownRelays: () => [ref(a), ref(b)], now: () => T0 })
    await network.refresh()
    assert.deepEqual(ids(network.relays()), [a.toString(), b.toString()])
  })
})
