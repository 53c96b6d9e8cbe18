/**
 * Yamux with window updates sent once half a stream's receive window is
 * used, as hashicorp/yamux and rust-yamux do, instead of after every data
 * frame as @chainsafe/libp2p-yamux 8 does. With small messages the library's
 * way answers every frame with a 12-byte frame of its own: a second Noise
 * frame, socket write and wake-up of the other side per message in each
 * direction, on the path of every direct message and its acknowledgement
 * (measured here: 0.1 ms of a 1.9 ms send-to-stored latency was the
 * recipient writing that update before it stored the message).
 *
 * The library has no option for this, so each stream the muxer makes gets
 * its own `sendWindowUpdate` that returns early while the stream is
 * established and more than half its window is still free; everything else
 * (the SYN/ACK flags carried by the first update, paused streams, the
 * window growth) stays the library's. If a future version renames what this
 * relies on, streams keep the library's behaviour and this says so once in
 * the log; a unit test fails on such a version.
 */
import { logger } from '@libp2p/logger'
import { yamux } from '@chainsafe/libp2p-yamux'

const log = logger('starling:net:yamux')

/** The fields of a library stream this relies on (StreamState.Established is 3 in 8.x). */
interface WindowedStream {
  state: number
  recvWindow: number
  recvWindowCapacity: number
  sendWindowUpdate: () => void
}

const ESTABLISHED = 3

function isWindowed (stream: unknown): stream is WindowedStream {
  const s = stream as Partial<WindowedStream>
  return typeof s.state === 'number' && typeof s.recvWindow === 'number' &&
    typeof s.recvWindowCapacity === 'number' && typeof s.sendWindowUpdate === 'function'
}

/** Makes `stream` send window updates only once half its receive window is used; false if it does not look as expected. */
export function lazyWindowUpdates (stream: unknown): boolean {
  if (!isWindowed(stream)) return false
  const update = stream.sendWindowUpdate.bind(stream)
  stream.sendWindowUpdate = () => {
    if (stream.state === ESTABLISHED && stream.recvWindowCapacity * 2 > stream.recvWindow) return
    update()
  }
  return true
}

/** Logged once: the library no longer looks as this expects. */
let warned = false
function notApplied (what: string): void {
  if (warned) return
  warned = true
  log.error('yamux %s not as expected: window updates stay the library\'s (after every frame)', what)
}

/** `yamux(init)`, with {@link lazyWindowUpdates} on every stream. */
export function starlingYamux (init?: Parameters<typeof yamux>[0]): ReturnType<typeof yamux> {
  const make = yamux(init)
  return () => {
    const factory = make()
    const createStreamMuxer = factory.createStreamMuxer.bind(factory)
    factory.createStreamMuxer = (maConn) => {
      const muxer = createStreamMuxer(maConn)
      const internals = muxer as unknown as { _newStream?: (...args: unknown[]) => unknown }
      const newStream = internals._newStream
      if (typeof newStream !== 'function') {
        notApplied('muxer')
        return muxer
      }
      internals._newStream = function (this: unknown, ...args: unknown[]) {
        const stream = newStream.apply(this, args)
        if (!lazyWindowUpdates(stream)) notApplied('stream')
        return stream
      }
      return muxer
    }
    return factory
  }
}
