/**
 * A tab's transports: WebSockets (to relays; which hosts, gater.ts),
 * WebRTC-direct (to relays that offer it, for pages served over https),
 * and WebRTC between peers, set up through a circuit relay (the circuit
 * relay transport itself is always added by src/net/node.ts). WebRTC gets
 * no ICE servers but those the user's relays give: @libp2p/webrtc would
 * otherwise ask four public STUN servers (NOTES.md), a third party the
 * user never chose.
 */
import { webSockets } from '@libp2p/websockets'
import { webRTCPeers } from '../../../src/net/webrtc-peer.js'
import { webRTCDirectAnyCerthash } from '../../../src/net/webrtc-direct/dial.js'
import type { TransportFactory } from '../../../src/net/node.js'

/** Options of {@link browserTransports}. */
export interface BrowserTransportsInit {
  /** STUN/TURN servers from the user's relays (none by default). */
  iceServers?: RTCIceServer[]
  /**
   * WebRTC with other peers (default true). Off ("hide my IP"): a peer
   * would learn this device's addresses from its ICE candidates, so other
   * peers are reached only through relays.
   */
  peerWebRTC?: boolean
}

/** The transports a tab dials and listens on. */
export function browserTransports (init: BrowserTransportsInit = {}): TransportFactory[] {
  const rtcConfiguration: RTCConfiguration = { iceServers: init.iceServers ?? [] }
  return [
    webSockets(),
    // The listening side upgrades only once the dialer has finished (src/net/webrtc-peer.ts: an upstream race).
    ...(init.peerWebRTC === false ? [] : [webRTCPeers({ rtcConfiguration })]),
    // A relay announces two certhashes (the one it serves and the next): the stock dialer tries only the first.
    webRTCDirectAnyCerthash({ rtcConfiguration })
  ]
}
