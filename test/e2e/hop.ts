/**
 * A circuit relay v2 reservation made by hand on `/libp2p/circuit/relay/0.2.0/hop`
 * (HopMessage RESERVE, then the relay's status), so that a test can make
 * many reservations from light nodes and read the relay's answer. The
 * messages are two protobuf fields (circuit-v2.proto): RESERVE is `type = 0`;
 * the answer's `status` is field 5 (100 = OK, 200 = RESERVATION_REFUSED,
 * 202 = PERMISSION_DENIED).
 */
import { lpStream } from '@libp2p/utils'
import type { Libp2p } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

export const HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
export const HOP_OK = 100

/** Asks `relay` for a reservation over `node`'s connection to it; resolves to the status code. */
export async function reserve (node: Pick<Libp2p, 'dialProtocol'>, relay: Multiaddr | Multiaddr[], signal = AbortSignal.timeout(15_000)): Promise<number> {
  const stream = await node.dialProtocol(relay, HOP_PROTOCOL, { signal })
  const lp = lpStream(stream, { maxDataLength: 4096 })
  await lp.write(new Uint8Array([0x08, 0x00]), { signal })
  const answer = (await lp.read({ signal })).subarray()
  await stream.close({ signal }).catch(() => {})
  return statusOf(answer)
}

/** Field 5 (varint) of a HopMessage. */
function statusOf (bytes: Uint8Array): number {
  let i = 0
  const varint = (): number => {
    let n = 0
    let shift = 0
    while (i < bytes.length) {
      const b = bytes[i++]
      n += (b & 0x7f) * 2 ** shift
      if ((b & 0x80) === 0) return n
      shift += 7
    }
    throw new Error('truncated varint')
  }
  while (i < bytes.length) {
    const tag = varint()
    const field = Math.floor(tag / 8)
    const wire = tag & 7
    if (wire === 0) {
      const value = varint()
      if (field === 5) return value
    } else if (wire === 2) {
      const length = varint()
      i += length
    } else {
      throw new Error(`unexpected wire type ${wire}`)
    }
  }
  throw new Error('no status in the relay\'s answer')
}
