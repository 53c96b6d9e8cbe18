/**
 * Helpers for relay-sync tests: relays as envelope stores over memory-level
 * with a fake clock, a responder (RelaySyncServer) reached over an
 * in-memory stream pair, and owner-signed deletes.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { MemoryLevel } from 'memory-level'
import type { Connection, PeerId, PrivateKey, Stream, StreamHandler } from '@libp2p/interface'
import { parseEnvelopeHeader } from '../../../../src/crypto/envelope.js'
import { RELAY_SYNC_PROTOCOL, RelaySyncServer, StreamChannel, reconcile } from '../../../../src/protocols/relay-sync/index.js'
import type { ExchangeLimits, ExchangeResult, RelaySyncServerInit, SyncChannel } from '../../../../src/protocols/relay-sync/index.js'
import { AuthOp, deleteBody, envelopeRef, mailboxId, signOwnerAuth, wire } from '../../../../src/protocols/store/index.js'
import { GossipDelete } from '../../../../src/protocols/store/pb/store.js'
import { EnvelopeStore, syncTarget } from '../../../../src/relay/index.js'
import type { DeleteProof, EnvelopeStoreInit } from '../../../../src/relay/index.js'
import { LevelStore } from '../../../../src/store/index.js'
import { fakeClock, fakeEnvelope } from '../../relay/helpers.js'
import type { FakeClock } from '../../relay/helpers.js'

export { fakeClock, fakeEnvelope }
export type { FakeClock }

/** A relay for sync tests: its store and its peer id. */
export interface SyncRelay {
  store: EnvelopeStore
  level: LevelStore
  peer: PeerId
}

export async function syncRelay (clock: FakeClock, init: EnvelopeStoreInit = {}): Promise<SyncRelay> {
  const level = new LevelStore(new MemoryLevel<Uint8Array, Uint8Array>({ keyEncoding: 'view', valueEncoding: 'view' }))
  await level.open()
  const store = new EnvelopeStore(level, { now: clock.now, ...init })
  return { store, level, peer: peerIdFromPrivateKey(await generateKeyPair('Ed25519')) }
}

/** A device: its key and mailbox. */
export interface Device {
  key: PrivateKey
  mailbox: Uint8Array
}

export async function device (): Promise<Device> {
  const key = await generateKeyPair('Ed25519')
  return { key, mailbox: mailboxId(peerIdFromPrivateKey(key)) }
}

/** A random mailbox id (no device behind it). */
export function randomMailbox (): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32))
}

/** Puts `count` fresh envelopes into `mailbox` on each relay given; returns them. */
export async function putMany (relays: SyncRelay[], mailbox: Uint8Array, count: number, length = 300): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (let i = 0; i < count; i++) {
    const envelope = fakeEnvelope(length)
    for (const relay of relays) await relay.store.put(mailbox, parseEnvelopeHeader(envelope).id, envelope, { source: 'ip4:127.0.0.9' })
    out.push(envelope)
  }
  return out
}

/** The owner's signed delete of `envelopes` (as a relay keeps it), signed for `relay` at `now`. */
export async function signedDelete (owner: Device, envelopes: Uint8Array[], relay: PeerId, now: number): Promise<DeleteProof & { refs: Array<{ id: Uint8Array, hash: Uint8Array }> }> {
  const refs = envelopes.map(e => envelopeRef(parseEnvelopeHeader(e).id, e))
  const { auth } = await signOwnerAuth(owner.key, AuthOp.delete, relay, now, deleteBody(refs))
  const signed = GossipDelete.encode({
    mailbox: wire(owner.mailbox),
    refs: refs.map(r => ({ id: wire(r.id), hash: wire(r.hash) })),
    auth,
    relay: wire(relay.toMultihash().bytes)
  })
  return { signed, timestamp: now, refs }
}

/** Whether a relay holds an envelope of a mailbox: these very bytes (other bytes under its id are another envelope). */
export async function holds (relay: SyncRelay, mailbox: Uint8Array, envelope: Uint8Array): Promise<boolean> {
  const page = await relay.store.fetch(mailbox, undefined, 10_000, Number.MAX_SAFE_INTEGER)
  return page.envelopes.some(e => Buffer.from(e.envelope).equals(Buffer.from(envelope)))
}

/** A stand-in for the Connection a handler receives. */
export function fakeConnection (remotePeer: PeerId): Connection {
  return { remotePeer, streams: [] } as unknown as Connection
}

/** A responder over `relay`'s store that answers `linked` only; `connect` opens a stream to it as `as`. */
export async function responder (relay: SyncRelay, clock: FakeClock, linked: PeerId[], init: Partial<RelaySyncServerInit> = {}): Promise<{
  server: RelaySyncServer
  connect(as: PeerId): Promise<{ stream: Stream, handled: Promise<void> }>
}> {
  let handler: StreamHandler | undefined
  const server = new RelaySyncServer({
    registrar: {
      handle: async (_protocol, h) => { handler = h },
      unhandle: async () => { handler = undefined }
    }
  }, { source: relay.store.sync, relaySet: { has: (p) => linked.some(l => l.toString() === p.toString()) }, budget: { now: clock.now }, ...init })
  await server.start()
  return {
    server,
    async connect (as) {
      const [outbound, inbound] = await streamPair({ protocol: RELAY_SYNC_PROTOCOL })
      if (handler == null) throw new Error('no handler')
      const handled = Promise.resolve(handler(inbound, fakeConnection(as)))
      return { stream: outbound, handled }
    }
  }
}

/** One exchange: `initiator` pulls from `other` over an in-memory stream. */
export async function exchange (initiator: SyncRelay, other: SyncRelay, clock: FakeClock, limits: Partial<ExchangeLimits> = {}): Promise<{ result: ExchangeResult, channel: SyncChannel, server: RelaySyncServer }> {
  const { server, connect } = await responder(other, clock, [initiator.peer])
  const { stream, handled } = await connect(initiator.peer)
  const channel = new StreamChannel(stream)
  const result = await reconcile(channel, syncTarget(initiator.store, other.peer), { limits, now: clock.now })
  await stream.close()
  await handled
  await server.stop()
  return { result, channel, server }
}
