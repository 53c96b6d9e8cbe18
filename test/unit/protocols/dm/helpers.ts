/**
 * Helpers for the dm protocol tests: envelopes (real sealed ones, and cheap
 * ones that only need a valid outer header), stub libp2p components that
 * connect a DmClient to a DmServer over in-memory stream pairs, and frame
 * builders for driving a server by hand.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { Uint8ArrayList } from 'uint8arraylist'
import type { Connection, PeerId, Stream, StreamHandler } from '@libp2p/interface'
import { createCrypto } from '../../../../src/crypto/index.js'
import { ENVELOPE_ID_LENGTH, ENVELOPE_OVERHEAD, ENVELOPE_VERSION, sealEnvelope } from '../../../../src/crypto/envelope.js'
import { DM_PROTOCOL } from '../../../../src/protocols/dm/constants.js'
import { encodeFrame } from '../../../../src/protocols/dm/dm.js'
import type { DmClientComponents } from '../../../../src/protocols/dm/client.js'
import type { DmServerComponents } from '../../../../src/protocols/dm/server.js'
import { Ack, Deliver } from '../../../../src/protocols/dm/pb/dm.js'

export const crypto = createCrypto()

export async function makePeerId (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/**
 * Bytes with a valid version-1 outer header and a random id: enough for the
 * dm protocol, which never opens envelopes.
 */
export function fakeEnvelope (length = 1024): Uint8Array {
  const envelope = new Uint8Array(Math.max(length, ENVELOPE_OVERHEAD)).fill(0xa5)
  envelope[0] = ENVELOPE_VERSION
  envelope.set(crypto.randomBytes(ENVELOPE_ID_LENGTH), 1)
  return envelope
}

/** The readable id of an envelope, as hex. */
export function envelopeIdHex (envelope: Uint8Array): string {
  return Buffer.from(envelope.subarray(1, 1 + ENVELOPE_ID_LENGTH)).toString('hex')
}

/** A real sealed envelope from a fresh sender to a fresh recipient. */
export async function sealedEnvelope (inner: Uint8Array = new Uint8Array(700)): Promise<Uint8Array> {
  const recipient = await crypto.x25519.generateKeyPair()
  const sender = { accountKey: crypto.randomBytes(32), identityKey: await crypto.x25519.generateKeyPair() }
  return (await sealEnvelope(crypto, recipient.publicKey, sender, inner)).envelope
}

/** A Deliver frame, as a flat byte array (for splitting and truncating). */
export function deliverFrame (envelope: Uint8Array): Uint8Array {
  return encodeFrame(Deliver.encode({ envelope: envelope as Uint8Array<ArrayBuffer> })).subarray()
}

/** A frame with an arbitrary body. */
export function rawFrame (body: Uint8Array): Uint8Array {
  return encodeFrame(body).subarray()
}

/** Collects Ack frames arriving on `stream` (the dialer's end) as hex ids. */
export function collectAcks (stream: Stream): { ids: string[], frames: number } {
  const out = { ids: [] as string[], frames: 0 }
  const buffer = new Uint8ArrayList()
  stream.addEventListener('message', (evt) => {
    buffer.append(evt.data)
    while (buffer.byteLength > 0) {
      let length = 0
      let scale = 1
      let i = 0
      for (; i < buffer.byteLength; i++) {
        const b = buffer.get(i)
        length += (b & 0x7f) * scale
        scale *= 128
        if ((b & 0x80) === 0) break
      }
      if (i === buffer.byteLength || buffer.byteLength < i + 1 + length) return
      const body = buffer.sublist(i + 1, i + 1 + length)
      buffer.consume(i + 1 + length)
      out.frames++
      for (const id of Ack.decode(body).ids) out.ids.push(Buffer.from(id).toString('hex'))
    }
  })
  return out
}

/** A stand-in for the Connection a handler receives. */
export function fakeConnection (remotePeer: PeerId): Connection {
  return { remotePeer, streams: [] } as unknown as Connection
}

/** Stub server components: keep the registered handler. */
export function stubServerNode (): DmServerComponents & { handler?: StreamHandler, handleOptions?: unknown } {
  const node: DmServerComponents & { handler?: StreamHandler, handleOptions?: unknown } = {
    handle: async (_protocol, handler, options) => {
      node.handler = handler
      node.handleOptions = options
    },
    unhandle: async () => {
      node.handler = undefined
    }
  }
  return node
}

/** An in-memory dialer and listener: every dial opens a new stream pair to `server`'s handler. */
export interface Link {
  client: DmClientComponents
  server: ReturnType<typeof stubServerNode>
  /** Dialer ends of the streams opened so far. */
  streams: Stream[]
  /** Listener ends, in the same order. */
  inbound: Stream[]
  dials: number
  /** Makes the next dials fail with this error. */
  failDials?: Error
  /** Makes the next dials hang until their signal aborts. */
  hangDials?: boolean
  /** Makes the next dials open relayed (limited) connections. */
  limitedDials?: boolean
  /** Connections to the peer as the client's node sees them. */
  connections: FakeConnection[]
  merged: unknown[]
}

export interface FakeConnection {
  status: string
  limits?: { bytes?: bigint }
  streams: Stream[]
}

export function link (clientPeer: PeerId): Link {
  const server = stubServerNode()
  const l: Link = {
    server,
    streams: [],
    inbound: [],
    dials: 0,
    merged: [],
    connections: [],
    client: {
      dialProtocol: (async (_peer: unknown, _protocol: unknown, options?: { signal?: AbortSignal, runOnLimitedConnection?: boolean }) => {
        l.dials++
        if (options?.runOnLimitedConnection !== true) throw new Error('dialled without runOnLimitedConnection')
        if (l.failDials != null) throw l.failDials
        if (l.hangDials === true) {
          await new Promise((_resolve, reject) => {
            options.signal?.addEventListener('abort', () => { reject(options.signal?.reason as Error) })
          })
        }
        const [outbound, inbound] = await streamPair({ protocol: DM_PROTOCOL })
        l.streams.push(outbound)
        l.inbound.push(inbound)
        l.connections.push({ status: 'open', limits: l.limitedDials === true ? { bytes: 1n << 20n } : undefined, streams: [outbound] })
        if (server.handler == null) throw new Error('no handler registered')
        await server.handler(inbound, fakeConnection(clientPeer))
        return outbound
      }) as DmClientComponents['dialProtocol'],
      getConnections: (() => l.connections) as unknown as DmClientComponents['getConnections'],
      peerStore: {
        merge: async (_peer: unknown, data: unknown) => {
          l.merged.push(data)
          return undefined as never
        }
      } as unknown as DmClientComponents['peerStore']
    }
  }
  return l
}

/**
 * Resolves when `predicate` holds, polling every 5 ms. No deadline of its
 * own: a busy machine makes a wait longer, never wrong, and mocha's test
 * timeout ends a wait for something that never comes.
 */
export async function waitFor (predicate: () => boolean): Promise<void> {
  while (!predicate()) await new Promise(resolve => setTimeout(resolve, 5))
}

/** Resolves when the stream has closed (any way), with how it ended. */
export async function closed (stream: Stream): Promise<string> {
  await waitFor(() => stream.status !== 'open')
  return stream.status
}

/** A promise with its resolve function exposed. */
export function gate (): { promise: Promise<void>, open: () => void } {
  let open!: () => void
  const promise = new Promise<void>(resolve => { open = resolve })
  return { promise, open }
}
