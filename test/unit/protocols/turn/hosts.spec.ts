/**
 * A relay hands out a TURN URL naming another host than its own (a third
 * party's TURN server, or a LAN address the browser would then probe): the
 * device refuses it, over the real protocol handler and in-memory streams.
 * Only URLs naming a host of the relay's known or dialled addresses are
 * kept; a relay on loopback may name any loopback alias.
 */
import assert from 'node:assert/strict'
import { streamPair } from '@libp2p/utils'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { Connection, Libp2p, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import { TurnServer, fetchTurnCredentials, ownTurnUrls, turnUrlHost } from '../../../../src/protocols/turn/index.js'

const SECRET = new TextEncoder().encode('0123456789abcdef0123')

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A relay serving `urls`, reached at `reachedAt`; the device's node dials it over in-memory streams. */
async function relayServing (urls: string[], reachedAt: Multiaddr): Promise<{ node: Pick<Libp2p, 'dial'>, relay: PeerId }> {
  const relay = await peer()
  const device = await peer()
  let handler: StreamHandler | undefined
  const server = new TurnServer({ registrar: { handle: async (_p, h) => { handler = h }, unhandle: async () => {} } }, { urls, secret: SECRET, serves: () => true })
  await server.start()
  const open = async (): Promise<Stream> => {
    const [outbound, inbound] = await streamPair()
    void handler?.(inbound, { remotePeer: device } as unknown as Connection)
    return outbound
  }
  const node = { dial: async () => ({ remotePeer: relay, remoteAddr: reachedAt, newStream: open }) } as unknown as Pick<Libp2p, 'dial'>
  return { node, relay }
}

describe('TURN URLs only on the relay\'s own host', () => {
  it('a relay handing out a third party\'s TURN URL is refused; its own URL is kept beside it', async () => {
    const at = multiaddr('/ip4/198.51.100.7/tcp/4001')
    const foreign = await relayServing(['turn:203.0.113.9:3478?transport=udp'], at)
    await assert.rejects(fetchTurnCredentials(foreign.node, foreign.relay, { relayAddrs: [at] }), { name: 'ForeignTurnUrlError' })
    // A LAN address the browser would probe.
    const lan = await relayServing(['turn:192.168.1.10:3478'], at)
    await assert.rejects(fetchTurnCredentials(lan.node, lan.relay, { relayAddrs: [at] }), { name: 'ForeignTurnUrlError' })
    const mixed = await relayServing(['turn:203.0.113.9:3478', 'turn:198.51.100.7:3478?transport=udp', 'turns:198.51.100.7:5349'], at)
    const got = await fetchTurnCredentials(mixed.node, mixed.relay, { relayAddrs: [at] })
    assert.deepEqual(got.urls, ['turn:198.51.100.7:3478?transport=udp', 'turns:198.51.100.7:5349'])
  })

  it('the host the relay was dialled at counts, as do the addresses it is known by (DNS names by name)', async () => {
    const dialled = multiaddr('/ip4/198.51.100.8/tcp/4001/ws')
    const relay = await relayServing(['turn:198.51.100.8:3478'], dialled)
    assert.deepEqual((await fetchTurnCredentials(relay.node, relay.relay)).urls, ['turn:198.51.100.8:3478'])
    assert.deepEqual(ownTurnUrls(['turn:Relay.Example.org:3478', 'turn:other.example.org:3478'], [multiaddr('/dns4/relay.example.org/tcp/443/wss')]), ['turn:Relay.Example.org:3478'])
    assert.throws(() => ownTurnUrls(['turn:relay.example.org:3478'], [multiaddr('/ip4/198.51.100.8/tcp/4001')]), { name: 'ForeignTurnUrlError' })
    assert.deepEqual(ownTurnUrls(['turn:[2001:db8::5]:3478'], [multiaddr('/ip6/2001:db8::5/tcp/4001')]), ['turn:[2001:db8::5]:3478'])
  })

  it('a relay reached through another relay (a circuit) may not name the host in the middle', async () => {
    const through = multiaddr('/ip4/203.0.113.9/tcp/4001/p2p/12D3KooWLRPJAA5o6Z6RaGwkYDrb3wUFfCzZ7FUqHcVgwsbrmmcR/p2p-circuit')
    const relayed = await relayServing(['turn:203.0.113.9:3478'], through)
    await assert.rejects(fetchTurnCredentials(relayed.node, relayed.relay), { name: 'ForeignTurnUrlError' })
    // Its own address, known beside the circuit it was reached on, still counts.
    const own = multiaddr('/ip4/198.51.100.7/tcp/4001')
    const both = await relayServing(['turn:203.0.113.9:3478', 'turn:198.51.100.7:3478'], through)
    assert.deepEqual((await fetchTurnCredentials(both.node, both.relay, { relayAddrs: [own] })).urls, ['turn:198.51.100.7:3478'])
  })

  it('a URL whose host reads differently in another WebRTC stack (user info, path, fragment) is not kept', () => {
    const at = [multiaddr('/ip4/198.51.100.7/tcp/4001')]
    // Firefox reads the part after '@' as the host: 203.0.113.9, a third party.
    for (const url of [
      'turn:198.51.100.7:3478@203.0.113.9', 'turn:198.51.100.7@203.0.113.9:3478', 'turn:[::1]@203.0.113.9',
      'turn:198.51.100.7:3478?transport=udp@203.0.113.9', 'turn:198.51.100.7/@203.0.113.9', 'turn:198.51.100.7#@203.0.113.9',
      'turn://203.0.113.9@198.51.100.7', 'turn:198.51.100.7%40203.0.113.9'
    ]) {
      assert.throws(() => ownTurnUrls([url], at), { name: 'ForeignTurnUrlError' }, url)
      assert.equal(turnUrlHost(url), undefined, url)
    }
    assert.deepEqual(ownTurnUrls(['turn:198.51.100.7:3478?transport=tcp', 'turns:198.51.100.7', 'stun:198.51.100.7:3478'], at), ['turn:198.51.100.7:3478?transport=tcp', 'turns:198.51.100.7', 'stun:198.51.100.7:3478'])
  })

  it('a relay on loopback may name any loopback alias, and nothing else', () => {
    const loopback = [multiaddr('/ip4/127.0.0.1/tcp/4001')]
    assert.deepEqual(ownTurnUrls(['turn:127.0.0.2:3478', 'turn:localhost:3478', 'stun:[::1]:3478', 'turn:10.0.0.5:3478'], loopback), ['turn:127.0.0.2:3478', 'turn:localhost:3478', 'stun:[::1]:3478'])
    assert.throws(() => ownTurnUrls(['turn:127.0.0.1:3478'], [multiaddr('/ip4/198.51.100.7/tcp/4001')]), { name: 'ForeignTurnUrlError' })
    assert.equal(turnUrlHost('turns:[::1]:5349?transport=tcp'), '::1')
    assert.equal(turnUrlHost('turn:host.example:3478?transport=udp'), 'host.example')
    assert.equal(turnUrlHost('stun:203.0.113.1'), '203.0.113.1')
  })
})
