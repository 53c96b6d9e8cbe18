/**
 * Hide my IP's checks (src/net/hide-ip.ts), attacker's view: a contact's
 * direct address, a WebRTC upgrade over our relay, a "relay" a hostile
 * device record names (the contact's own machine), an inbound connection
 * to a port learnt elsewhere. Each is refused while the setting is on, and
 * allowed again when it is off; only relayed addresses through our relays
 * are announced.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { MultiaddrConnection, PeerId } from '@libp2p/interface'
import { HideIp, circuitRelay } from '../../../src/net/hide-ip.js'

async function newPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('net: hide my IP', () => {
  let relay: PeerId
  let other: PeerId
  let bob: PeerId
  let me: PeerId
  let hide: HideIp

  beforeEach(async () => {
    [relay, other, bob, me] = await Promise.all([newPeer(), newPeer(), newPeer(), newPeer()])
    hide = new HideIp({ enabled: true, relays: () => [relay.toString()] })
  })

  it('dials: our relay directly, others only through our relay; never a direct address, a WebRTC upgrade or a relay not ours', () => {
    const viaRelay = `/ip4/10.77.0.1/tcp/4001/p2p/${relay.toString()}/p2p-circuit/p2p/${bob.toString()}`
    assert.equal(hide.allowsDial(multiaddr(`/ip4/10.77.0.1/tcp/4001/p2p/${relay.toString()}`)), true)
    assert.equal(hide.allowsDial(multiaddr(viaRelay)), true)
    assert.equal(hide.allowsDial(multiaddr(`/ip4/10.77.2.2/tcp/4002/p2p/${bob.toString()}`)), false)
    assert.equal(hide.allowsDial(multiaddr(`/ip4/10.77.2.2/tcp/4002`)), false, 'an address that names no peer')
    assert.equal(hide.allowsDial(multiaddr(`/ip4/10.77.0.1/tcp/4001/p2p/${relay.toString()}/p2p-circuit/webrtc/p2p/${bob.toString()}`)), false)
    // A device record that names a "relay" the contact runs himself.
    assert.equal(hide.allowsDial(multiaddr(`/ip4/10.77.2.2/tcp/4003/p2p/${other.toString()}/p2p-circuit/p2p/${bob.toString()}`)), false)
    assert.equal(hide.allowsDial(multiaddr(`/ip4/10.77.2.2/tcp/4003/p2p/${other.toString()}`)), false)
    assert.equal(hide.allowsDial(multiaddr(`/ip4/10.77.2.2/tcp/4003/p2p-circuit/p2p/${bob.toString()}`)), false, 'a circuit that names no relay')
    hide.set(false)
    assert.equal(hide.allowsDial(multiaddr(`/ip4/10.77.2.2/tcp/4002/p2p/${bob.toString()}`)), true)
  })

  it('announces only relayed addresses through our relays, none when it has no reservation', () => {
    const addrs = [
      multiaddr('/ip4/10.77.1.2/tcp/4100'),
      multiaddr(`/ip4/10.77.0.1/tcp/4001/p2p/${relay.toString()}/p2p-circuit`),
      multiaddr(`/ip4/10.77.0.1/tcp/4001/p2p/${relay.toString()}/p2p-circuit/webrtc`),
      multiaddr(`/ip4/10.77.2.2/tcp/4003/p2p/${other.toString()}/p2p-circuit`)
    ]
    const filter = hide.announceFilter()
    assert.deepEqual(filter(addrs).map(String), [addrs[1].toString()])
    assert.deepEqual(filter([addrs[0]]), [])
    // A platform's own filter runs first.
    assert.deepEqual(hide.announceFilter(a => a.slice(2))(addrs), [])
    hide.set(false)
    assert.equal(filter(addrs).length, 4)
  })

  it('the gater refuses dials and direct connections with anyone but our relays, after the platform\'s own gater', async () => {
    const conn = (addr: string): MultiaddrConnection => ({ remoteAddr: multiaddr(addr) }) as unknown as MultiaddrConnection
    const gater = hide.gater({ denyDialMultiaddr: (ma) => ma.toString().includes('/tcp/9/') })
    assert.equal(await gater.denyDialMultiaddr?.(multiaddr(`/ip4/10.77.2.2/tcp/4002/p2p/${bob.toString()}`)), true)
    assert.equal(await gater.denyDialMultiaddr?.(multiaddr(`/ip4/10.77.0.1/tcp/4001/p2p/${relay.toString()}`)), false)
    assert.equal(await gater.denyDialMultiaddr?.(multiaddr(`/ip4/10.77.0.1/tcp/9/p2p/${relay.toString()}`)), true, 'the platform\'s gater still applies')
    assert.equal(await gater.denyInboundEncryptedConnection?.(bob, conn('/ip4/10.77.2.2/tcp/51000')), true)
    assert.equal(await gater.denyInboundEncryptedConnection?.(bob, conn(`/ip4/10.77.0.1/tcp/4001/p2p/${relay.toString()}/p2p-circuit/p2p/${bob.toString()}`)), false)
    assert.equal(await gater.denyInboundEncryptedConnection?.(relay, conn('/ip4/10.77.0.1/tcp/4001')), false)
    assert.equal(await gater.denyOutboundUpgradedConnection?.(bob, conn(`/ip4/10.77.2.2/udp/5000/webrtc/p2p/${bob.toString()}`)), true)
    hide.set(false)
    assert.equal(await gater.denyInboundEncryptedConnection?.(bob, conn('/ip4/10.77.2.2/tcp/51000')), false)
  })

  it('our relays are read each time (the network\'s relays are learnt later)', async () => {
    const addr = multiaddr(`/ip4/10.77.3.1/tcp/4001/p2p/${other.toString()}`)
    assert.equal(hide.allowsDial(addr), false)
    hide.useRelays(() => [relay.toString(), other.toString()])
    assert.equal(hide.allowsDial(addr), true)
    assert.equal(circuitRelay(multiaddr(`/ip4/10.77.0.1/tcp/4001/p2p/${relay.toString()}/p2p-circuit/p2p/${me.toString()}`)), relay.toString())
    assert.equal(circuitRelay(addr), undefined)
  })
})
