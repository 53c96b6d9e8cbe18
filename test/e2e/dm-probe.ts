/**
 * A hostile peer's side of /starling/dm/1.0.0 for end-to-end tests: writes
 * frames on a new stream to a real daemon and reports what came back.
 */
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import type { Uint8ArrayList } from 'uint8arraylist'
import { DM_PROTOCOL } from '../../src/protocols/dm/index.js'
import { FrameDecoder, decodeAck } from '../../src/protocols/dm/dm.js'
import { MAX_ACK_FRAME_LENGTH } from '../../src/protocols/dm/constants.js'
import type { StarlingLibp2p } from '../../src/net/node.js'

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/** What became of a dm stream: the acks it got, and whether (and how) it closed. */
export interface Outcome {
  acks: string[]
  closed: boolean
  error?: string
}


/** Writes `chunks` on a new dm stream to `addr` and watches it for `waitMs`. */
export async function probe (node: StarlingLibp2p, addr: string, chunks: Array<Uint8Array | Uint8ArrayList>, waitMs: number, until?: (o: Outcome) => boolean, closeWrite = false): Promise<Outcome> {
  const stream: Stream = await node.dialProtocol(multiaddr(addr), DM_PROTOCOL, { signal: AbortSignal.timeout(10_000) })
  const outcome: Outcome = { acks: [], closed: false }
  const decoder = new FrameDecoder(MAX_ACK_FRAME_LENGTH)
  const done = new Promise<void>(resolve => {
    const timer = setTimeout(resolve, waitMs)
    const check = (): void => {
      if (outcome.closed || (until?.(outcome) ?? false)) {
        clearTimeout(timer)
        resolve()
      }
    }
    stream.addEventListener('message', (evt) => {
      for (const frame of decoder.decode(evt.data)) outcome.acks.push(...decodeAck(frame).map(hex))
      check()
    })
    stream.addEventListener('close', (evt) => {
      outcome.closed = true
      outcome.error = evt.error?.name
      check()
    })
  })
  try {
    for (const chunk of chunks) {
      if (stream.status !== 'open') break
      if (!stream.send(chunk)) await new Promise(resolve => stream.addEventListener('drain', resolve, { once: true, signal: AbortSignal.timeout(waitMs) }))
    }
    if (closeWrite && stream.status === 'open') await stream.close({ signal: AbortSignal.timeout(waitMs) })
  } catch {
    // The daemon dropped the stream while we were still writing: that is an outcome too.
  }
  await done
  if (stream.status === 'open') stream.abort(new Error('probe done'))
  return outcome
}
