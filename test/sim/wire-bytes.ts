/**
 * Counts the bytes every connection of this process writes, TCP and memory
 * alike, for the simulation's bandwidth figures. Both transports' raw
 * connections extend `AbstractMultiaddrConnection` of `@libp2p/utils`, whose
 * `sendData` hands bytes to the socket or the in-memory pipe; counting there
 * sees what goes on the wire (Noise frames, yamux headers and all) without
 * touching libp2p. The one patch of a library in the simulation, kept here;
 * test/sim/simulate.spec.ts fails if it stops counting (bytes per message 0).
 */
import { AbstractMultiaddrConnection } from '@libp2p/utils'

let total = 0
let installed = false

/** Starts counting (once per process). */
export function countWireBytes (): void {
  if (installed) return
  installed = true
  const proto = AbstractMultiaddrConnection.prototype as unknown as { send(data: Uint8Array | { byteLength: number }): boolean }
  const send = proto.send
  proto.send = function (this: unknown, data) {
    total += data.byteLength
    return send.call(this, data)
  }
}

/** Bytes written since counting started. */
export function wireBytes (): number {
  return total
}
