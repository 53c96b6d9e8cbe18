/**
 * `/starling/relays/1.0.0` between real nodes on loopback: a relay serves
 * its signed list of linked relays; a device verifies it against the relay
 * it dialled, and refuses a list signed by anyone else, out of date, or
 * naming more than the bounds.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { identify } from '@libp2p/identify'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import {
  MAX_LINKED_RELAYS, RELAY_SET_LIFETIME_MS, fetchRelaySet, relaySetServer, signRelaySet, verifyRelaySet
} from '../../../../src/protocols/relays/index.js'
import type { RelayEntry } from '../../../../src/protocols/relays/index.js'
import { RelaySetRecord, SignedRelaySet } from '../../../../src/protocols/relays/pb/relays.js'
import { RelaySet } from '../../../../src/relay/index.js'

const NOW = 1_800_000_000_000

async function peer (): Promise<{ key: PrivateKey, id: PeerId }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key) }
}

describe('protocols/relays', function () {
  this.timeout(30_000)

  it('a device fetches a relay\'s signed list of linked relays over a real connection', async () => {
    const [b, c] = [await peer(), await peer()]
    const linked = RelaySet.fromMultiaddrs([`/ip4/127.0.0.1/tcp/4001/p2p/${b.id.toString()}`, `/ip4/127.0.0.1/tcp/4002/p2p/${c.id.toString()}`])
    const relay = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      services: { identify: identify(), relaySet: relaySetServer({ relays: () => linked.linked }) }
    })
    const device = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] }) as Libp2p
    try {
      const view = await fetchRelaySet(device, relay.getMultiaddrs())
      assert.ok(view.relay.equals(relay.peerId))
      assert.deepEqual(view.relays.map(r => r.peerId.toString()), [b.id.toString(), c.id.toString()])
      assert.deepEqual(view.relays.map(r => r.addrs.map(String)), [[`/ip4/127.0.0.1/tcp/4001/p2p/${b.id.toString()}`], [`/ip4/127.0.0.1/tcp/4002/p2p/${c.id.toString()}`]])
      assert.ok(view.expiresAt - view.seq === RELAY_SET_LIFETIME_MS)
    } finally {
      await device.stop()
      await relay.stop()
    }
  })

  it('refuses a list signed by another relay, altered, expired, from the future, or too long', async () => {
    const [relay, other, linked] = [await peer(), await peer(), await peer()]
    const entries: RelayEntry[] = [{ peerId: linked.id, addrs: [multiaddr('/ip4/127.0.0.1/tcp/4001')] }]
    const good = await signRelaySet(relay.key, entries, NOW, NOW + 1000)
    assert.equal((await verifyRelaySet(good, relay.id, NOW)).relays.length, 1)

    const byOther = await signRelaySet(other.key, entries, NOW, NOW + 1000)
    const signed = SignedRelaySet.decode(good)
    const record = RelaySetRecord.decode(signed.record)
    const altered = SignedRelaySet.encode({ ...signed, record: RelaySetRecord.encode({ ...record, relays: [] }) })
    const cases: Array<[string, Uint8Array, number]> = [
      ['signed by another relay', byOther, NOW],
      ['altered after signing', altered, NOW],
      ['expired', good, NOW + 1000],
      ['from the future', await signRelaySet(relay.key, entries, NOW + 10 * 60_000, NOW + 20 * 60_000), NOW],
      ['garbage', new Uint8Array([0xff, 0x01, 0x02]), NOW]
    ]
    for (const [what, bytes, now] of cases) {
      await assert.rejects(verifyRelaySet(bytes, relay.id, now), { name: 'InvalidRelaySetError' }, what)
    }
    // Signed honestly but naming more relays than a list may.
    const crowd = Array.from({ length: MAX_LINKED_RELAYS + 1 }, () => ({ peerId: linked.id, addrs: [] }))
    await assert.rejects(signRelaySet(relay.key, crowd, NOW, NOW + 1000), RangeError)
    const tooLong = SignedRelaySet.encode({
      record: RelaySetRecord.encode({ ...record, relays: crowd.map(r => ({ peerId: r.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>, addrs: [] })) }),
      signature: signed.signature
    })
    await assert.rejects(verifyRelaySet(tooLong, relay.id, NOW), { name: 'InvalidRelaySetError' })
  })

  it('a --peer address must name its relay', () => {
    assert.throws(() => RelaySet.fromMultiaddrs(['/ip4/127.0.0.1/tcp/4001']), { name: 'InvalidRelayAddressError' })
    assert.throws(() => RelaySet.fromMultiaddrs(['not an address']), { name: 'InvalidRelayAddressError' })
  })
})
