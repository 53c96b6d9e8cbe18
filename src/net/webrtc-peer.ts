/**
 * WebRTC between peers (`@libp2p/webrtc`'s transport through a circuit
 * relay), with the listening side of a new connection handed to libp2p
 * only once the dialing side has finished its own.
 *
 * The race this closes (`@libp2p/webrtc` 6.0.33, README: known upstream
 * issues): the dialer, once its RTCPeerConnection reports "connected",
 * waits for the `open` event of the "init" data channel it made, then
 * closes it and the signalling stream. The listener's muxer closes that
 * channel as soon as it adopts it, right after the listener's side is
 * connected. When the listener is the quicker (the dialer's "connected"
 * comes a few milliseconds after the channel opened), the channel has
 * opened and closed before the dialer looks, and the dialer waits for an
 * `open` that never comes: its dial fails at libp2p's per-address timeout
 * (6 s) and it closes its peer connection. The listener meanwhile holds a
 * connection the dialer never took: every stream it opens there
 * (identify, messages, a call's signalling) gets no answer, then
 * "Unexpected EOF". Seen between two tabs in 2 of about 10 runs of the
 * browser call bench: the second call of the run, placed by the first
 * callee, failed with "no device could be reached".
 *
 * The library's listener closes its end of the signalling stream as its
 * last step before the upgrade; here that close also waits until the
 * dialer has closed its end, which the dialer does only after its init
 * channel has closed. So the dialer always closes the init channel
 * itself, and a dialer that gives up (it resets the signalling stream
 * instead) leaves the listener nothing: the close fails, and the library
 * drops its peer connection rather than upgrading it. The wait is bounded
 * by the library's own signal (the inbound upgrade timeout).
 */
import { logger } from '@libp2p/logger'
import { webRTC } from '@libp2p/webrtc'
import type { WebRTCTransportComponents, WebRTCTransportInit } from '@libp2p/webrtc'
import type { AbortOptions, Connection, Stream, StreamCloseEvent, Transport } from '@libp2p/interface'
import { SignallingAbandonedError, WebRTCPeerChangedError } from './errors.js'

const log = logger('starling:net:webrtc-peer')

/** The library's handler of an incoming signalling stream (public on its class, not on `Transport`). */
interface SignallingListener {
  _onProtocol: (stream: Stream, connection: Connection, signal: AbortSignal) => Promise<void>
}

/**
 * Resolves once the remote has closed its end of `stream` (or the stream
 * is closed at both ends); rejects with {@link SignallingAbandonedError}
 * when it was reset or aborted instead, and with the signal's reason when
 * `signal` aborts first.
 */
export async function remoteClosed (stream: Stream, signal?: AbortSignal): Promise<void> {
  if (stream.status === 'reset' || stream.status === 'aborted') throw new SignallingAbandonedError(`the signalling stream was ${stream.status}`)
  if (stream.remoteWriteStatus === 'closed') return
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const done = (err?: Error): void => {
      stream.removeEventListener('remoteCloseWrite', onRemoteCloseWrite)
      stream.removeEventListener('close', onClose)
      signal?.removeEventListener('abort', onAbort)
      if (err == null) resolve()
      else reject(err)
    }
    const onRemoteCloseWrite = (): void => { done() }
    const onClose = (evt: StreamCloseEvent): void => { done(evt.error != null ? new SignallingAbandonedError(`the signalling stream ended: ${evt.error.message}`) : undefined) }
    const onAbort = (): void => { done(signal?.reason as Error) }
    stream.addEventListener('remoteCloseWrite', onRemoteCloseWrite)
    stream.addEventListener('close', onClose)
    signal?.addEventListener('abort', onAbort)
  })
}

/** Makes `stream.close()` resolve only once the remote has closed its end too (see {@link remoteClosed}). */
export function closeAfterRemote (stream: Stream): void {
  const close = stream.close.bind(stream)
  stream.close = async (options?: AbortOptions): Promise<void> => {
    await close(options)
    await remoteClosed(stream, options?.signal)
  }
}

/**
 * `@libp2p/webrtc`'s `webRTC()` transport whose listening side upgrades a
 * connection only after the dialer has finished its side (see above); use
 * it wherever `webRTC()` would be.
 *
 * @throws {WebRTCPeerChangedError} when the library no longer has the step this wraps
 */
export function webRTCPeers (init?: WebRTCTransportInit): (components: WebRTCTransportComponents) => Transport {
  return (components) => {
    const transport = webRTC(init)(components)
    const listener = transport as unknown as Partial<SignallingListener>
    const onProtocol = listener._onProtocol
    if (typeof onProtocol !== 'function') throw new WebRTCPeerChangedError('@libp2p/webrtc has no _onProtocol: update src/net/webrtc-peer.ts')
    listener._onProtocol = async (stream, connection, signal) => {
      closeAfterRemote(stream)
      try {
        await onProtocol.call(transport, stream, connection, signal)
      } catch (err) {
        log('no WebRTC connection from %p: %s', connection.remotePeer, (err as Error).message)
        throw err
      }
    }
    return transport
  }
}
