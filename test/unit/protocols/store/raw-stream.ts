/**
 * A store stream driven by hand, as an attacker (or an older or newer
 * peer) would: frames written without the client's own checks, answers
 * read as they come. Shared by the store specs that talk to a real relay.
 */
import assert from 'node:assert/strict'
import { lpStream } from '@libp2p/utils'
import { STORE_PROTOCOL } from '../../../../src/protocols/store/index.js'
import { StoreRequest, StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import type { TestRelay, UserNode } from '../../relay/helpers.js'

export interface RawStream {
  /** Raw bytes onto the stream (no length prefix added). */
  write(bytes: Uint8Array): Promise<void>
  /** The next length-prefixed frame. */
  read(options?: { signal?: AbortSignal }): Promise<Uint8Array>
  /** One request and its answer (10 s at most). */
  request(request: StoreRequest): Promise<StoreResponse>
  /** Writes a request and expects the relay to drop the stream instead of answering. */
  dropped(request: StoreRequest): Promise<void>
}

/** Opens a store stream from `user` to `relay` on a connection of its own choosing (dialled if need be). */
export async function rawStream (user: UserNode, relay: TestRelay): Promise<RawStream> {
  const connection = await user.dial(relay.node.getMultiaddrs())
  const stream = await connection.newStream(STORE_PROTOCOL)
  const lp = lpStream(stream, { maxDataLength: 1 << 22 })
  return {
    async write (bytes) { stream.send(bytes) },
    async read (options) { return (await lp.read(options)).subarray() },
    async request (request) {
      await lp.write(StoreRequest.encode(request))
      return StoreResponse.decode(await lp.read({ signal: AbortSignal.timeout(10_000) }))
    },
    async dropped (request) {
      try {
        await lp.write(StoreRequest.encode(request))
      } catch {
        return
      }
      await assert.rejects(lp.read({ signal: AbortSignal.timeout(10_000) }), (err: Error) => err.name !== 'TimeoutError', 'the relay answered instead of dropping the stream')
    }
  }
}
