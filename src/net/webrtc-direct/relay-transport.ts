/**
 * WebRTC-direct as a relay listens on it: `@libp2p/webrtc`'s transport,
 * given the relay's stored certificate (certificates.ts) instead of letting
 * it make its own, with no ICE servers (a WebRTC-direct server never needs
 * its own reflexive address: the dialer takes the address from the
 * multiaddr), a bound on handshakes under way (handshake-budget.ts), and
 * the addresses it announces naming both certhashes (addresses.ts).
 *
 * One internal of `@libp2p/webrtc` 6 is used, here only: a rotation is
 * handed to the listener through the transport's `emitter`, as a
 * `certificate:renew` event, which is the path the library's own renewal
 * takes (the listener switches certificate for new connections and emits
 * `listening`, so libp2p updates the relay's addresses and pushes them to
 * connected peers). If the library drops that field, assembling the
 * transport throws WebRTCDirectChangedError instead of rotating silently
 * never (test/unit/net/webrtc-direct/relay-transport.spec.ts).
 */
import { webRTCDirect } from '@libp2p/webrtc'
import type { TransportCertificate, WebRTCDirectTransportComponents } from '@libp2p/webrtc'
import type { Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { announceCerthashes } from './addresses.js'
import type { WebRTCDirectCertificate } from './certificate.js'
import type { WebRTCDirectCertificates } from './certificates.js'
import { WebRTCDirectChangedError } from './errors.js'
import { HandshakeBudget } from './handshake-budget.js'

/** Options of {@link relayWebRTCDirect}. */
export interface RelayWebRTCDirectInit {
  /** Started certificates (their `current` one is served from the start). */
  certificates: WebRTCDirectCertificates
  /** Handshakes under way at once (default MAX_PENDING_HANDSHAKES). */
  maxPendingHandshakes?: number
}

/** What a relay passes to libp2p for WebRTC-direct. */
export interface RelayWebRTCDirect {
  /** The transport factory, for `transports`. */
  transport: (components: WebRTCDirectTransportComponents) => Transport
  /** For `addresses.announceFilter`: WebRTC-direct addresses name the served and the next certhash. */
  announceFilter: (addrs: Multiaddr[]) => Multiaddr[]
  /** The handshake budget (its metrics). */
  handshakes: HandshakeBudget
}

interface CertificateEmitter {
  safeDispatchEvent(type: 'certificate:renew', init: { detail: TransportCertificate }): boolean
}

/** WebRTC-direct for a relay (see the file comment). */
export function relayWebRTCDirect (init: RelayWebRTCDirectInit): RelayWebRTCDirect {
  const { certificates } = init
  const handshakes = new HandshakeBudget({ max: init.maxPendingHandshakes })
  const transport = (components: WebRTCDirectTransportComponents): Transport => {
    const budgeted: WebRTCDirectTransportComponents = {
      get peerId () { return components.peerId },
      get privateKey () { return components.privateKey },
      get metrics () { return components.metrics },
      get logger () { return components.logger },
      get transportManager () { return components.transportManager },
      get datastore () { return components.datastore },
      upgrader: handshakes.upgrader(() => components.upgrader)
    }
    const created = webRTCDirect({
      certificate: toTransportCertificate(certificates.current),
      rtcConfiguration: { iceServers: [] }
    })(budgeted)
    const emitter = certificateEmitter(created)
    certificates.onRotate(current => { emitter.safeDispatchEvent('certificate:renew', { detail: toTransportCertificate(current) }) })
    return created
  }
  return { transport, announceFilter: announceCerthashes(() => certificates.certhashes()), handshakes }
}

function certificateEmitter (transport: Transport): CertificateEmitter {
  const emitter = (transport as unknown as { emitter?: Partial<CertificateEmitter> }).emitter
  if (typeof emitter?.safeDispatchEvent !== 'function') {
    throw new WebRTCDirectChangedError('@libp2p/webrtc: the WebRTC-direct transport has no certificate emitter any more, so certificates cannot be rotated (src/net/webrtc-direct/relay-transport.ts)')
  }
  return emitter as CertificateEmitter
}

function toTransportCertificate (c: WebRTCDirectCertificate): TransportCertificate {
  return { pem: c.pem, privateKey: c.privateKey, certhash: c.certhash }
}
