/**
 * WebRTC between peers, listening side (src/net/webrtc-peer.ts), with the
 * real `@libp2p/webrtc` transport on both sides and real peer connections
 * (node-datachannel, bound to 127.0.0.1); libp2p around them is stubbed:
 * the relayed connection that carries the signalling is an in-memory
 * stream pair, and the upgraders record when each side hands its
 * connection to libp2p (and make the muxer, as libp2p's does).
 *
 * The race: the listener used to upgrade as soon as its side was
 * connected, and its muxer then closed the dialer's "init" channel; when
 * that happened before the dialer looked at the channel, the dialer waited
 * for an `open` that never came, gave up after 6 s and closed its peer
 * connection, while the listener kept a connection whose streams all ended
 * unanswered ("Unexpected EOF": a call placed over it failed). Now the
 * listener upgrades only after the dialer has finished its side, and a
 * dialer that gives up before it finished leaves the listener nothing.
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
import { remoteClosed, webRTCPeers } from '../../../src/net/webrtc-peer.js'

const SIGNALING_PROTOCOL = '/webrtc-signaling/0.0.1'
/** Host candidates on loopback only (node-datachannel's `bindAddress`). */
const RTC = { iceServers: [], bindAddress: '127.0.0.1' } as unknown as RTCConfiguration

interface Listening { _onProtocol: (stream: Stream, connection: Connection, signal: AbortSignal) => Promise<void> }

async function newPeer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** What both sides did, in order. */
type Step = 'dialer closed signalling' | 'listener upgraded' | 'dialer upgraded'

describe('WebRTC between peers: the listener upgrades after the dialer has finished', function () {
  this.timeout(60_000)
  const opened: MultiaddrConnection[] = []

  afterEach(async () => {
    for (const c of opened.splice(0)) await c.close().catch(() => { c.abort(new Error('test over')) })
  })

  /** Records the upgrade and makes the muxer (it adopts the channels that came early: the listener's closes "init"). */
  function upgrade (steps: Step[], step: Step, peer: PeerId) {
    return async (maConn: MultiaddrConnection, opts: { muxerFactory?: StreamMuxerFactory }): Promise<Connection> => {
      steps.push(step)
      opened.push(maConn)
      opts.muxerFactory?.createStreamMuxer(maConn)
      return { remotePeer: peer, remoteAddr: maConn.remoteAddr, status: 'open' } as unknown as Connection
    }
  }

  /**
   * A dialer (the library's, plain) and a listener (`listen` made: ours or
   * the library's) with the signalling over an in-memory stream pair;
   * `dialerClose` replaces the dialer's close of the signalling stream.
   */
  async function setUp (listen: (components: WebRTCTransportComponents) => Transport, dialerClose?: (close: (options?: AbortOptions) => Promise<void>, options?: AbortOptions) => Promise<void>): Promise<{ steps: Step[], dial: () => Promise<Connection>, listening: () => Promise<void> | undefined }> {
    const [dialerId, listenerId, relayId] = [await newPeer(), await newPeer(), await newPeer()]
    const steps: Step[] = []
    let listening: Promise<void> | undefined
    const logger = defaultLogger()
    const listenerSide = listen({
      peerId: listenerId,
      logger,
      upgrader: { upgradeInbound: upgrade(steps, 'listener upgraded', dialerId) }
    } as unknown as WebRTCTransportComponents) as unknown as Listening
    // The relayed connection from the dialer to the listener: each stream on it reaches the listener's handler.
    const relayed = {
      remotePeer: listenerId,
      newStream: async () => {
        const [dialerEnd, listenerEnd] = await streamPair({ protocol: SIGNALING_PROTOCOL })
        const close = dialerEnd.close.bind(dialerEnd)
        dialerEnd.close = async (options?: AbortOptions) => {
          steps.push('dialer closed signalling')
          await (dialerClose != null ? dialerClose(close, options) : close(options))
        }
        const atListener = { remotePeer: dialerId, remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${relayId.toString()}/p2p-circuit/p2p/${dialerId.toString()}`) } as unknown as Connection
        listening = listenerSide._onProtocol(listenerEnd, atListener, AbortSignal.timeout(10_000))
        return dialerEnd
      }
    }
    const dialerSide = webRTC({ rtcConfiguration: RTC })({
      peerId: dialerId,
      logger,
      connectionManager: { getConnections: () => [relayed] }
    } as unknown as WebRTCTransportComponents)
    const target = multiaddr(`/ip4/127.0.0.1/tcp/1/p2p/${relayId.toString()}/p2p-circuit/webrtc/p2p/${listenerId.toString()}`)
    const dial = async (): Promise<Connection> => await dialerSide.dial(target, {
      signal: AbortSignal.timeout(10_000),
      upgrader: { upgradeOutbound: upgrade(steps, 'dialer upgraded', listenerId) }
    } as unknown as Parameters<Transport['dial']>[1])
    return { steps, dial, listening: () => listening }
  }

  const ours = (components: WebRTCTransportComponents): Transport => webRTCPeers({ rtcConfiguration: RTC })(components)

  it('the listener hands its connection to libp2p only after the dialer closed the signalling', async () => {
    const { steps, dial, listening } = await setUp(ours)
    await dial()
    await listening()
    assert.deepEqual([...steps].sort(), ['dialer closed signalling', 'dialer upgraded', 'listener upgraded'], `steps: ${steps.join(', ')}`)
    assert.ok(steps.indexOf('dialer closed signalling') < steps.indexOf('listener upgraded'), `order: ${steps.join(', ')}`)
  })

  it('a dialer that gives up at its last step leaves the listener no connection (its peer connection is dropped)', async () => {
    const { steps, dial, listening } = await setUp(ours, async () => { throw new Error('the dialer gives up') })
    await assert.rejects(dial(), /the dialer gives up/)
    await assert.rejects(listening() ?? Promise.resolve(), { name: 'SignallingAbandonedError' })
    assert.ok(!steps.includes('listener upgraded'), `steps: ${steps.join(', ')}`)
  })

  it('the wrapped transport still has the library\'s listening step (else assembling it throws)', () => {
    const transport = webRTCPeers({ rtcConfiguration: RTC })({ logger: defaultLogger() } as unknown as WebRTCTransportComponents) as unknown as Partial<Listening>
    assert.equal(typeof transport._onProtocol, 'function')
  })
})

describe('remoteClosed: the other end of a stream has finished', () => {
  it('resolves when the other end closes its writing side', async () => {
    const [a, b] = await streamPair()
    const waiting = remoteClosed(a)
    await b.close()
    await waiting
  })

  it('rejects with SignallingAbandonedError when the other end resets the stream', async () => {
    const [a, b] = await streamPair()
    const waiting = remoteClosed(a)
    b.abort(new Error('gone'))
    await assert.rejects(waiting, { name: 'SignallingAbandonedError' })
  })

  it('rejects with the signal\'s reason when it aborts first', async () => {
    const [a] = await streamPair()
    const abort = new AbortController()
    const waiting = remoteClosed(a, abort.signal)
    abort.abort(new Error('upgrade timeout'))
    await assert.rejects(waiting, /upgrade timeout/)
  })
})
