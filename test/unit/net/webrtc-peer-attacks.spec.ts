/**
 * Attacks on the WebRTC listener wrapper (src/net/webrtc-peer.ts), which
 * upgrades only after the dialer closed the signalling stream: can a
 * dialer hold the listener's peer connection forever by never closing it?
 * The library's dialer and listener with real peer connections
 * (node-datachannel on 127.0.0.1), libp2p around them stubbed, as in
 * webrtc-peer.spec.ts; the listener's upgrade signal is the test's, aborted
 * by hand (the library passes its inbound upgrade timeout). Held on the
 * code as merged; kept as coverage.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { webRTC } from '@libp2p/webrtc'
import type { WebRTCTransportComponents } from '@libp2p/webrtc'
import type { AbortOptions, Connection, MultiaddrConnection, PeerId, Stream, StreamMuxerFactory, Transport } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { webRTCPeers } from '../../../src/net/webrtc-peer.js'

const SIGNALING_PROTOCOL = '/webrtc-signaling/0.0.1'
const RTC = { iceServers: [], bindAddress: '127.0.0.1' } as unknown as RTCConfiguration

interface Listening { _onProtocol: (stream: Stream, connection: Connection, signal: AbortSignal) => Promise<void> }

async function newPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

describe('WebRTC between peers: a dialer that never finishes', function () {
  this.timeout(60_000)
  const opened: MultiaddrConnection[] = []
  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close().catch(() => { c.abort(new Error('test over')) })
  })

  it('held: a dialer that never closes the signalling stream holds the listener only until its upgrade signal; no connection is kept', async () => {
    const [dialerId, listenerId, relayId] = [await newPeer(), await newPeer(), await newPeer()]
    const logger = defaultLogger()
    const upgraded: string[] = []
    const upgrade = (who: string, peer: PeerId) => async (maConn: MultiaddrConnection, opts: { muxerFactory?: StreamMuxerFactory }): Promise<Connection> => {
      upgraded.push(who)
      opened.push(maConn)
      opts.muxerFactory?.createStreamMuxer(maConn)
      return { remotePeer: peer, remoteAddr: maConn.remoteAddr, status: 'open' } as unknown as Connection
    }
    const listener = webRTCPeers({ rtcConfiguration: RTC })({ peerId: listenerId, logger, upgrader: { upgradeInbound: upgrade('listener', dialerId) } } as unknown as WebRTCTransportComponents) as unknown as Listening
    const upgradeTimeout = new AbortController()
    const state: { listening?: Promise<void>, listenerEnd?: Stream, atClose?: () => void } = {}
    const atClose = new Promise<void>(resolve => { state.atClose = resolve })
    const relayed = {
      remotePeer: listenerId,
      newStream: async () => {
        const [dialerEnd, listenerEnd] = await streamPair({ protocol: SIGNALING_PROTOCOL })
        // The dialer's last step never happens: it neither closes nor resets, until the listener drops the stream.
        dialerEnd.close = async (_options?: AbortOptions) => {
          state.atClose?.()
          await new Promise<void>((_resolve, reject) => { dialerEnd.addEventListener('close', () => { reject(new Error('the listener dropped the signalling')) }) })
        }
        state.listenerEnd = listenerEnd
        const at = { remotePeer: dialerId, remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${relayId.toString()}/p2p-circuit/p2p/${dialerId.toString()}`) } as unknown as Connection
        state.listening = listener._onProtocol(listenerEnd, at, upgradeTimeout.signal)
        return dialerEnd
      }
    }
    const dialer = webRTC({ rtcConfiguration: RTC })({ peerId: dialerId, logger, connectionManager: { getConnections: () => [relayed] } } as unknown as WebRTCTransportComponents)
    const dialling = dialer.dial(multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${relayId.toString()}/p2p-circuit/webrtc/p2p/${listenerId.toString()}`), {
      signal: AbortSignal.timeout(30_000),
      upgrader: { upgradeOutbound: upgrade('dialer', listenerId) }
    } as unknown as Parameters<Transport['dial']>[1])
    dialling.catch(() => {})
    await atClose
    // Both peer connections are up; the listener waits for a close that never comes, until its upgrade time is over.
    upgradeTimeout.abort(new Error('inbound upgrade timeout'))
    await assert.rejects(state.listening ?? Promise.resolve(), /inbound upgrade timeout/)
    await assert.rejects(dialling)
    assert.deepEqual(upgraded, [], 'no side kept a connection')
    assert.equal(state.listenerEnd?.status, 'aborted', 'the listener dropped the signalling stream')
  })
})
