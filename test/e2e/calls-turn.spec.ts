/**
 * TURN beside a relay (issue 12, item 4), with real processes: coturn on
 * 127.0.0.1 (README recipe: REST API shared secret, realm, no TCP relay)
 * and `starling relay --turn-url ... --turn-secret-file ...`. The relay
 * hands credentials only to a peer holding a reservation on it, within a
 * budget; they are coturn's scheme (checked against node:crypto's HMAC);
 * and two Node peers (@roamhq/wrtc) with iceTransportPolicy 'relay'
 * connect through coturn with them and carry audio, over a relay
 * candidate pair.
 */
import assert from 'node:assert/strict'
import { createHmac } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { Network, Processes, eventually, startTestNode } from './harness.js'
import { startCoturn } from './coturn.js'
import type { Coturn } from './coturn.js'
import { fetchTurnCredentials } from '../../src/protocols/turn/index.js'
import { RelayReservations } from '../../src/net/reservations.js'
import { callStats } from '../../src/calls/index.js'
import type { CallPeerConnection } from '../../src/calls/index.js'
import { CallAudio, loadWrtc } from '../../node/calls/media.js'
import { goertzel, tone } from '../../node/calls/wav.js'
import { signalPair } from '../../node/calls/signal-pair.js'
import type { StarlingLibp2p } from '../../src/net/node.js'

describe('calls: TURN credentials from the relay, media through coturn', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const net = new Network(procs)
  let coturn: Coturn | undefined
  const nodes: StarlingLibp2p[] = []

  after(async () => {
    for (const n of nodes) await Promise.resolve(n.stop()).catch(() => {})
    await coturn?.stop()
    await procs.stopAll()
  })

  it('serves credentials only to peers holding a reservation; two relay-only wrtc peers carry audio through coturn', async () => {
    coturn = await startCoturn(await procs.tempDir('starling-coturn-'))
    const relay = await net.startRelay(undefined, 0, ['--turn-url', coturn.url, '--turn-secret-file', coturn.secretFile])
    assert.deepEqual(relay.relay.ready.turn, [coturn.url])
    const relayAddr = multiaddr(relay.addr)

    // A peer connected to the relay but holding no reservation gets nothing.
    const stranger = await startTestNode()
    nodes.push(stranger)
    await assert.rejects(fetchTurnCredentials(stranger, relayAddr), { name: 'TurnRefusedError' })

    // A peer the relay serves (a reservation) gets coturn's REST API credentials for itself.
    const user = await startTestNode()
    nodes.push(user)
    const reservations = new RelayReservations(user, { relays: [relay.addr] })
    reservations.start()
    await eventually(async () => user.getMultiaddrs().some(a => a.toString().includes('/p2p-circuit')) ? true : undefined, 30_000, 'a reservation')
    const server = await fetchTurnCredentials(user, relayAddr)
    reservations.stop()
    assert.deepEqual(server.urls, [coturn.url])
    const [expiry, userId] = server.username.split(':')
    assert.equal(userId, user.peerId.toString())
    assert.ok(Number(expiry) * 1000 > Date.now() && Number(expiry) * 1000 <= Date.now() + 6 * 3600_000 + 1000)
    assert.equal(server.credential, createHmac('sha1', coturn.secret).update(server.username).digest('base64'))

    // Two Node peers, relay-only, with those credentials.
    const { RTCPeerConnection } = loadWrtc()
    const config = { iceServers: [{ urls: server.urls, username: server.username, credential: server.credential }], iceTransportPolicy: 'relay' as const }
    const a = new RTCPeerConnection(config)
    const b = new RTCPeerConnection(config)
    const sent = new CallAudio(tone(440, 1))
    const heard = new CallAudio(tone(1000, 1))
    sent.attach(a)
    heard.attach(b)
    try {
      const candidates = await signalPair(a, b)
      await eventually(async () => heard.recording().length >= 48_000 ? true : undefined, 30_000, 'a second of audio through TURN')
      assert.ok(candidates.length > 0 && candidates.every(c => c.includes(' typ relay ')), candidates.join('\n'))
      const stats = await callStats(a as unknown as CallPeerConnection)
      assert.equal(stats.localCandidateType, 'relay')
      assert.equal(stats.remoteCandidateType, 'relay')
      // What arrived is the 440 Hz tone that was sent (the receiver's own tone is 1 kHz).
      const recording = heard.recording().subarray(-24_000)
      assert.ok(goertzel(recording, 440) > 10 * goertzel(recording, 1000))
    } finally {
      sent.stop()
      heard.stop()
      a.close()
      b.close()
    }
  })
})
