/**
 * `/starling/relays/1.0.0`: a relay serves the list of relays it is linked
 * with, signed by its peer key, so that a device can read every relay of the
 * set it uses (a recipient reads its mailbox on all of them; a sender may
 * hand envelopes to any). The relay writes one length-prefixed
 * SignedRelaySet and closes the stream; the reader checks the signature
 * against the peer it dialled, the lifetime, and every bound, before it
 * trusts anything in it.
 *
 * signature = Sign(relay peer key, "starling-relays-v1 relay-set" || 0x00 || record)
 */
import { logger } from '@libp2p/logger'
import { peerIdFromMultihash, peerIdFromPrivateKey } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import * as Digest from 'multiformats/hashes/digest'
import type { AbortOptions, Connection, Libp2p, PeerId, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { bytesEqual, concatBytes } from '../../crypto/bytes.js'
import {
  FETCH_TIMEOUT_MS, MAX_ADDR_LENGTH, MAX_ADDRS_PER_RELAY, MAX_CLOCK_SKEW_MS, MAX_INBOUND_STREAMS, MAX_LINKED_RELAYS,
  MAX_RELAY_SET_FRAME_LENGTH, RELAY_SET_DOMAIN, RELAY_SET_LIFETIME_MS, RELAYS_PROTOCOL
} from './constants.js'
import { InvalidRelaySetError } from './errors.js'
import { RelaySetRecord, SignedRelaySet } from './pb/relays.js'

const log = logger('starling:relays')
const PREFIX = concatBytes(new TextEncoder().encode(RELAY_SET_DOMAIN), new Uint8Array([0]))

/** A relay of a list: its peer id and addresses. */
export interface RelayEntry {
  peerId: PeerId
  addrs: Multiaddr[]
}

/** A verified list. */
export interface RelaySetView {
  /** The relay that signed it (the one that was asked). */
  relay: PeerId
  /** When it was signed (ms since the epoch, relay clock): newer replaces older. */
  seq: number
  expiresAt: number
  relays: RelayEntry[]
}

/** What the server needs from libp2p. */
export interface RelaySetServerComponents {
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
  privateKey: PrivateKey
}

/** Options of a {@link RelaySetServer}. */
export interface RelaySetServerInit {
  /** The relays this one is linked with, read at each signing. */
  relays(): RelayEntry[]
  /** Milliseconds since the epoch (default `Date.now`). */
  now?: () => number
  lifetimeMs?: number
}

/** Signs a list with a relay's peer key. */
export async function signRelaySet (privateKey: PrivateKey, relays: RelayEntry[], seq: number, expiresAt: number): Promise<Uint8Array> {
  if (relays.length > MAX_LINKED_RELAYS) throw new RangeError(`a relay set names at most ${MAX_LINKED_RELAYS} relays, got ${relays.length}`)
  const record = RelaySetRecord.encode({
    relay: peerIdFromPrivateKey(privateKey).toMultihash().bytes as Uint8Array<ArrayBuffer>,
    seq: BigInt(seq),
    expiresAt: BigInt(expiresAt),
    relays: relays.map(r => ({
      peerId: r.peerId.toMultihash().bytes as Uint8Array<ArrayBuffer>,
      addrs: r.addrs.slice(0, MAX_ADDRS_PER_RELAY).map(a => a.bytes as Uint8Array<ArrayBuffer>)
    }))
  })
  const signature = await privateKey.sign(concatBytes(PREFIX, record))
  return SignedRelaySet.encode({ record, signature: signature as Uint8Array<ArrayBuffer> })
}

/**
 * Checks a signed list from `relay` and returns what it says.
 *
 * @throws {InvalidRelaySetError} for anything that is not `relay`'s valid, current list within the bounds
 */
export async function verifyRelaySet (bytes: Uint8Array, relay: PeerId, now: number): Promise<RelaySetView> {
  let signed: SignedRelaySet
  let record: RelaySetRecord
  try {
    signed = SignedRelaySet.decode(bytes)
    record = RelaySetRecord.decode(signed.record, { limits: { relays: MAX_LINKED_RELAYS, relays$: { addrs: MAX_ADDRS_PER_RELAY } } })
  } catch (err) {
    throw new InvalidRelaySetError(`the relay set does not decode: ${(err as Error).message}`)
  }
  if (!bytesEqual(record.relay, relay.toMultihash().bytes)) throw new InvalidRelaySetError('the relay set names another relay')
  if (relay.publicKey == null) throw new InvalidRelaySetError(`cannot verify a ${relay.type} peer id`)
  let valid: boolean
  try {
    valid = await relay.publicKey.verify(concatBytes(PREFIX, signed.record), signed.signature)
  } catch {
    valid = false
  }
  if (!valid) throw new InvalidRelaySetError('the relay set signature does not verify')
  const seq = Number(record.seq)
  const expiresAt = Number(record.expiresAt)
  if (!Number.isSafeInteger(seq) || !Number.isSafeInteger(expiresAt) || seq > now + MAX_CLOCK_SKEW_MS) throw new InvalidRelaySetError('the relay set times are not valid')
  if (expiresAt <= now) throw new InvalidRelaySetError('the relay set has expired')
  const relays = record.relays.map(entry => {
    try {
      if (entry.addrs.some(a => a.length > MAX_ADDR_LENGTH)) throw new Error('an address is too long')
      return { peerId: peerIdFromMultihash(Digest.decode(entry.peerId)), addrs: entry.addrs.map(a => multiaddr(a)) }
    } catch (err) {
      throw new InvalidRelaySetError(`the relay set names something that is not a relay: ${(err as Error).message}`)
    }
  })
  return { relay, seq, expiresAt, relays }
}

/** Serves this relay's signed list on `/starling/relays/1.0.0`. */
export class RelaySetServer implements Startable {
  private readonly components: RelaySetServerComponents
  private readonly init: RelaySetServerInit
  private readonly now: () => number
  private readonly lifetimeMs: number
  private signed?: { bytes: Uint8Array, renewAt: number }
  private started = false

  constructor (components: RelaySetServerComponents, init: RelaySetServerInit) {
    this.components = components
    this.init = init
    this.now = init.now ?? Date.now
    this.lifetimeMs = init.lifetimeMs ?? RELAY_SET_LIFETIME_MS
    this.handleStream = this.handleStream.bind(this)
  }

  readonly [Symbol.toStringTag] = 'starling:relay-set'

  async start (): Promise<void> {
    await this.components.registrar.handle(RELAYS_PROTOCOL, this.handleStream, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
    this.started = true
  }

  async stop (): Promise<void> {
    this.started = false
    await this.components.registrar.unhandle(RELAYS_PROTOCOL)
  }

  isStarted (): boolean {
    return this.started
  }

  /** The current signed list (signed again once half its lifetime has passed). */
  async current (): Promise<Uint8Array> {
    const now = this.now()
    if (this.signed == null || now >= this.signed.renewAt) {
      const bytes = await signRelaySet(this.components.privateKey, this.init.relays(), now, now + this.lifetimeMs)
      this.signed = { bytes, renewAt: now + this.lifetimeMs / 2 }
    }
    return this.signed.bytes
  }

  async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const lp = lpStream(stream)
    try {
      await lp.write(await this.current(), { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
      await stream.close({ signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) })
    } catch (err) {
      log('relay set not sent to %p: %s', connection.remotePeer, (err as Error).message)
      stream.abort(err as Error)
    }
  }
}

/**
 * Asks a relay for its list and verifies it against the peer that answered
 * (the connection's authenticated peer id, never a field of the answer).
 *
 * @throws {InvalidRelaySetError} when the answer is not a valid, current list of that relay
 */
export async function fetchRelaySet (node: Pick<Libp2p, 'dial'>, relay: PeerId | Multiaddr | Multiaddr[], options: AbortOptions & { now?: () => number } = {}): Promise<RelaySetView> {
  const signal = options.signal == null ? AbortSignal.timeout(FETCH_TIMEOUT_MS) : AbortSignal.any([options.signal, AbortSignal.timeout(FETCH_TIMEOUT_MS)])
  const connection = await node.dial(relay, { signal })
  const stream = await connection.newStream(RELAYS_PROTOCOL, { signal, runOnLimitedConnection: true })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_RELAY_SET_FRAME_LENGTH })
    const frame = await lp.read({ signal })
    const view = await verifyRelaySet(frame.subarray(), connection.remotePeer, (options.now ?? Date.now)())
    await stream.close({ signal }).catch(() => {})
    return view
  } catch (err) {
    stream.abort(err as Error)
    throw err
  }
}

/** A libp2p service factory: `services: { relaySet: relaySetServer({ relays: () => ... }) }`. */
export function relaySetServer (init: RelaySetServerInit): (components: RelaySetServerComponents) => RelaySetServer {
  return (components) => new RelaySetServer(components, init)
}
