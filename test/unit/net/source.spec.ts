/** Sources for per-source budgets: an IPv4 address, an IPv6 /64, a relayed peer behind its relay; never a bare peer id where an address exists. */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import { parseIpv6, sourceOf } from '../../../src/net/source.js'

describe('net/source', () => {
  let alice: PeerId
  let bob: PeerId
  let relay: PeerId

  before(async () => {
    [alice, bob, relay] = await Promise.all([0, 1, 2].map(async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519'))))
  })

  it('an IPv4 address is one source, whatever the peer id, port or transport', () => {
    const a = sourceOf(multiaddr('/ip4/203.0.113.7/tcp/4001'), alice)
    assert.equal(a, 'ip4:203.0.113.7')
    assert.equal(sourceOf(multiaddr('/ip4/203.0.113.7/tcp/5555/ws'), bob), a)
    assert.equal(sourceOf(multiaddr('/ip4/203.0.113.7/udp/9/webrtc-direct'), bob), a)
    assert.notEqual(sourceOf(multiaddr('/ip4/203.0.113.8/tcp/4001'), alice), a)
  })

  it('an IPv6 address counts by its /64; an IPv4-mapped address is the IPv4 address', () => {
    const a = sourceOf(multiaddr('/ip6/2001:db8:1:2:aaaa::1/tcp/1'), alice)
    assert.equal(a, 'ip6:2001:db8:1:2::/64')
    assert.equal(sourceOf(multiaddr('/ip6/2001:0db8:0001:0002:ffff:ffff:ffff:ffff/tcp/1'), bob), a)
    assert.notEqual(sourceOf(multiaddr('/ip6/2001:db8:1:3::1/tcp/1'), alice), a)
    assert.equal(sourceOf(multiaddr('/ip6/::ffff:198.51.100.4/tcp/1'), alice), 'ip4:198.51.100.4')
    assert.equal(sourceOf(multiaddr('/ip6/::1/tcp/1'), alice), 'ip6:0:0:0:0::/64')
  })

  it('a relayed connection is the relay plus the relayed peer', () => {
    const circuit = multiaddr(`/ip4/198.51.100.9/tcp/4001/p2p/${relay.toString()}/p2p-circuit`)
    assert.equal(sourceOf(circuit, alice), `circuit:${relay.toString()}/${alice.toString()}`)
    assert.notEqual(sourceOf(circuit, bob), sourceOf(circuit, alice))
  })

  it('an address with no IP falls back to the peer id', () => {
    assert.equal(sourceOf(multiaddr('/memory/abc'), alice), `peer:${alice.toString()}`)
  })

  it('parses IPv6 text forms and refuses what is not one', () => {
    assert.deepEqual(parseIpv6('::'), [0, 0, 0, 0, 0, 0, 0, 0])
    assert.deepEqual(parseIpv6('fe80::1%eth0'), [0xfe80, 0, 0, 0, 0, 0, 0, 1])
    assert.deepEqual(parseIpv6('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8])
    assert.deepEqual(parseIpv6('::ffff:1.2.3.4'), [0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304])
    for (const bad of ['1::2::3', '1:2:3', 'g::1', '12345::', '1:2:3:4:5:6:7:8:9', '::1.2.3.256']) assert.equal(parseIpv6(bad), undefined, bad)
  })
})
