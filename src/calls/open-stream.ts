/**
 * Opening the signalling stream of a call to one device, with one more try.
 *
 * A connection can look open on our side while the other side has given it
 * up. Seen between two tabs: the callee's WebRTC dial to us stalled in
 * `@libp2p/webrtc` while our side of it was already upgraded (README, known
 * upstream issues); our call stream on it got no answer until the callee
 * closed its peer connection six seconds later ("Unexpected EOF"), although
 * a relayed connection to the same device worked all along. So a stream
 * that fails to open on a connection is tried once more, on another open
 * connection to the device or on a fresh one, within the same dial time;
 * a try on a connection that was already open has a shorter time of its own
 * so that the second try still fits. Two tries per device, never more.
 */
import { logger } from '@libp2p/logger'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { CALL_PROTOCOL, STREAM_TRIES } from './constants.js'
import { CallBindingError } from './errors.js'

const log = logger('starling:calls:open-stream')

/** What opening a call stream needs of a libp2p node. */
export type StreamDialer = Pick<Libp2p, 'dial'> & Partial<Pick<Libp2p, 'getConnections'>>

/** Options of {@link openCallStream}. */
export interface OpenCallStreamOptions {
  /** Ends every try: the caller's abort and the dial time together. */
  signal: AbortSignal
  /** Time one try on a connection that was already open may take while another try is left. */
  tryTimeoutMs: number
}

/**
 * A call stream to `peerId`: on an open connection to it (an unlimited one
 * first, relayed ones too: libp2p's dial would make another connection next
 * to a limited one, and between two tabs that second circuit was refused),
 * else on a new one; a stream that fails to open is tried once more on
 * another connection. A connection that turns out to reach another peer
 * ends it at once: the call is bound to the device its verified record names.
 *
 * @throws {CallBindingError} when a connection reaches another peer
 */
export async function openCallStream (dialer: StreamDialer, peerId: PeerId, addrs: Multiaddr[], options: OpenCallStreamOptions): Promise<Stream> {
  const { signal } = options
  const failed = new Set<Connection>()
  for (let attempt = 1; ; attempt++) {
    const last = attempt >= STREAM_TRIES
    const open = dialer.getConnections?.(peerId).filter(c => c.status === 'open' && !failed.has(c)) ?? []
    const existing = open.find(c => c.limits == null) ?? open[0]
    // After a failure, a fresh connection: libp2p's dial would hand back the one that just failed.
    const connection = existing ?? await dialer.dial(addrs.length > 0 ? addrs : peerId, { signal, force: failed.size > 0 })
    if (!connection.remotePeer.equals(peerId)) throw new CallBindingError(`an address of ${peerId.toString()} reached ${connection.remotePeer.toString()}`)
    const trySignal = existing != null && !last ? AbortSignal.any([signal, AbortSignal.timeout(options.tryTimeoutMs)]) : signal
    try {
      return await connection.newStream(CALL_PROTOCOL, { signal: trySignal, runOnLimitedConnection: true })
    } catch (err) {
      if (last || signal.aborted) throw err
      failed.add(connection)
      log('no call stream to %p on %a (%s): trying once more', peerId, connection.remoteAddr, (err as Error).message)
    }
  }
}
