/**
 * Stub connections for the call service's stream tries (src/calls/open-stream.ts):
 * what `newStream` does is each test's; Bob's call service is real. Shared by
 * stream-retry.spec.ts and stream-retry-attacks.spec.ts.
 */
import type { PeerId, Stream } from '@libp2p/interface'
import type { CallServiceComponents } from '../../../src/calls/index.js'
import { CallService } from '../../../src/calls/index.js'
import { FakeNetwork, NOW, crypto, fakeFactory } from './helpers.js'
import type { Side, TestParty } from './helpers.js'

/** A stub connection: what `newStream` does is the test's. */
export interface StubConnection {
  status: 'open'
  limits?: Record<string, never>
  remotePeer: PeerId
  remoteAddr: string
  streams: number
  newStream: (protocol: string, options: { signal: AbortSignal }) => Promise<Stream>
}

export function stub (remotePeer: PeerId, kind: 'direct' | 'relayed', open: (options: { signal: AbortSignal }) => Promise<Stream>): StubConnection {
  const c: StubConnection = {
    status: 'open',
    limits: kind === 'relayed' ? {} : undefined,
    remotePeer,
    remoteAddr: `/${kind}`,
    streams: 0,
    newStream: async (_protocol, options) => { c.streams++; return await open(options) }
  }
  return c
}

/** Ends as the far side of a given-up connection does: the stream is closed before any answer. */
export async function eof (): Promise<Stream> {
  throw Object.assign(new Error('Unexpected EOF - stream closed while reading 0/1 bytes'), { name: 'UnexpectedEOFError' })
}

/** Never answers: only the try's own time ends it. */
export async function silent (options: { signal: AbortSignal }): Promise<Stream> {
  return await new Promise((_resolve, reject) => {
    options.signal.addEventListener('abort', () => { reject(options.signal.reason) }, { once: true })
  })
}

/** Alice's call service on stub connections (`connections`, `dial`), with Bob as her contact; 50 ms per try. */
export async function stubbedCaller (bob: Side, alice: TestParty, connections: (peer: PeerId) => StubConnection[], dial: (to: unknown, options: { force?: boolean }) => Promise<StubConnection>): Promise<CallService> {
  bob.callers.add(alice, 'contact', 'alice~test')
  const network = new FakeNetwork()
  const service = new CallService({
    registrar: { handle: async () => {}, unhandle: async () => {} },
    dialer: { dial: async (to: unknown, options: { force?: boolean }) => await dial(to, options), getConnections: connections } as unknown as CallServiceComponents['dialer']
  }, {
    crypto,
    callers: bob.callers,
    createPeerConnection: fakeFactory({ pcs: [] }, () => network),
    deviceRecord: () => alice.record,
    name: 'alice',
    now: () => NOW,
    streamTryTimeoutMs: 50
  })
  await service.start()
  return service
}
