/**
 * The page of the browser-to-relay tests: a libp2p node with ONE transport,
 * WebRTC-direct (the dialer that tries every certhash of an address,
 * src/net/webrtc-direct/dial.ts) or WebSockets, and Noise, yamux, identify
 * and ping. `window.webrtcDirectTest.connect(addr, transport)` starts a
 * fresh node, dials the address, pings the peer over that connection, and
 * stops the node.
 */
import { createLibp2p } from 'libp2p'
import { noise } from '@chainsafe/libp2p-noise'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { webSockets } from '@libp2p/websockets'
import { multiaddr } from '@multiformats/multiaddr'
import { starlingYamux } from '../../../src/net/yamux.js'
import { webRTCDirectAnyCerthash } from '../../../src/net/webrtc-direct/dial.js'

/** What one connection attempt found. */
export interface ConnectResult {
  /** The peer the Noise handshake authenticated. */
  peer: string
  /** The address the connection was made to (one certhash). */
  remoteAddr: string
  rttMs: number
  /** From calling connect to the ping's answer. */
  elapsedMs: number
}

/** The one transport a page node has. */
export type PageTransport = 'webrtc-direct' | 'websockets'

async function connect (addr: string, transport: PageTransport = 'webrtc-direct'): Promise<ConnectResult> {
  const started = performance.now()
  const node = await createLibp2p({
    transports: [transport === 'webrtc-direct' ? webRTCDirectAnyCerthash({ rtcConfiguration: { iceServers: [] } }) : webSockets()],
    connectionEncrypters: [noise()],
    streamMuxers: [starlingYamux()],
    // The browser's default gater refuses loopback addresses; the test runs on 127.0.0.1 only.
    connectionGater: { denyDialMultiaddr: () => false },
    services: { identify: identify(), ping: ping() }
  })
  try {
    const connection = await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(20_000) })
    const rttMs = await node.services.ping.ping(connection.remotePeer, { signal: AbortSignal.timeout(20_000) })
    return { peer: connection.remotePeer.toString(), remoteAddr: connection.remoteAddr.toString(), rttMs, elapsedMs: performance.now() - started }
  } finally {
    await node.stop()
  }
}

Object.assign(globalThis, { webrtcDirectTest: { connect } })
