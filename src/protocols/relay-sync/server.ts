/**
 * The responder's end of `/starling/relay-sync/1.0.0`. A stream from a peer
 * that is not a linked relay is reset before a byte is read. A linked
 * relay's requests are answered in order, each only while its work budget
 * (work-budget.ts) is above zero, at most {@link MAX_REQUESTS_PER_EXCHANGE}
 * per stream and for {@link EXCHANGE_TIMEOUT_MS} in all; a stream with no
 * request for {@link REQUEST_TIMEOUT_MS} is dropped, and so is one that
 * sends a frame that is too long or does not decode. A well-formed request
 * that is refused gets a status and the stream stays.
 */
import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import type { Connection, Libp2p, PeerId, Startable, Stream } from '@libp2p/interface'
import {
  EXCHANGE_TIMEOUT_MS, ITEM_KEY_LENGTH, MAX_ANSWER_BYTES, MAX_EXPAND_PATHS, MAX_FETCH_KEYS, MAX_INBOUND_STREAMS, MAX_LIST_ITEMS,
  MAX_LIST_PATHS, MAX_REQUEST_FRAME_LENGTH, MAX_REQUESTS_PER_EXCHANGE, RELAY_SYNC_PROTOCOL, REQUEST_TIMEOUT_MS
} from './constants.js'
import { deadline } from './client.js'
import { InvalidSyncRequestError, NotLinkedError } from './errors.js'
import { SyncRequest, SyncResponse } from './pb/relay-sync.js'
import type { ExpandRequest, FetchRequest, ListRequest } from './pb/relay-sync.js'
import type { SyncSource, Work } from './relay-sync.js'
import { compareBytes, isPath, isShard, itemOfCursor, pathHasPrefix } from './tree.js'
import { WorkBudget } from './work-budget.js'
import { wire } from '../store/wire.js'
import type { WorkBudgetInit } from './work-budget.js'

const log = logger('starling:relay-sync:server')

/** Decode limits of a request. */
const REQUEST_LIMITS = {
  expand: { paths: MAX_EXPAND_PATHS },
  list: { paths: MAX_LIST_PATHS },
  envelopes: { keys: MAX_FETCH_KEYS },
  tombstones: { keys: MAX_FETCH_KEYS }
}

/** Counters of a {@link RelaySyncServer}. */
export interface RelaySyncServerMetrics {
  /** Streams from linked relays. */
  exchanges: number
  requests: number
  /** Streams reset at once: the peer is not a linked relay. */
  notLinked: number
  /** Requests answered BUSY: the relay's work budget was spent. */
  busy: number
  badRequests: number
  /** Streams dropped: a frame too long or undecodable, a timeout, too many requests. */
  droppedStreams: number
  envelopesServed: number
  deletesServed: number
  bytesOut: number
}

/** What the server needs from libp2p. */
export interface RelaySyncServerComponents {
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
}

/** Options of a {@link RelaySyncServer}. */
export interface RelaySyncServerInit {
  source: SyncSource
  /** The relays this one is linked with: nobody else is answered. */
  relaySet: { has(peer: PeerId | string): boolean }
  budget?: WorkBudgetInit
  requestTimeoutMs?: number
  exchangeTimeoutMs?: number
  maxRequestsPerExchange?: number
}

function answer (status: SyncResponse.Status, message = ''): SyncResponse {
  return { status, message, roots: [], expansions: [], items: [], more: false, envelopes: [], deletes: [], answered: 0 }
}

/** Serves `/starling/relay-sync/1.0.0` to linked relays. */
export class RelaySyncServer implements Startable {
  readonly metrics: RelaySyncServerMetrics = {
    exchanges: 0, requests: 0, notLinked: 0, busy: 0, badRequests: 0, droppedStreams: 0, envelopesServed: 0, deletesServed: 0, bytesOut: 0
  }

  readonly budget: WorkBudget
  private readonly components: RelaySyncServerComponents
  private readonly init: RelaySyncServerInit
  private readonly requestTimeoutMs: number
  private readonly exchangeTimeoutMs: number
  private readonly maxRequests: number
  private started = false

  constructor (components: RelaySyncServerComponents, init: RelaySyncServerInit) {
    this.components = components
    this.init = init
    this.budget = new WorkBudget(init.budget)
    this.requestTimeoutMs = init.requestTimeoutMs ?? REQUEST_TIMEOUT_MS
    this.exchangeTimeoutMs = init.exchangeTimeoutMs ?? EXCHANGE_TIMEOUT_MS
    this.maxRequests = init.maxRequestsPerExchange ?? MAX_REQUESTS_PER_EXCHANGE
    this.handleStream = this.handleStream.bind(this)
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(RELAY_SYNC_PROTOCOL, this.handleStream, { maxInboundStreams: MAX_INBOUND_STREAMS })
    this.started = true
  }

  async stop (): Promise<void> {
    this.started = false
    await this.components.registrar.unhandle(RELAY_SYNC_PROTOCOL)
  }

  isStarted (): boolean {
    return this.started
  }

  async handleStream (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer.toString()
    if (!this.init.relaySet.has(connection.remotePeer)) {
      this.metrics.notLinked++
      stream.abort(new NotLinkedError(`${peer} is not a linked relay`))
      return
    }
    this.metrics.exchanges++
    const exchange = deadline(this.exchangeTimeoutMs)
    const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_FRAME_LENGTH })
    try {
      for (let n = 0; this.started; n++) {
        const wait = deadline(this.requestTimeoutMs, exchange.signal)
        let frame
        try {
          frame = await lp.read({ signal: wait.signal })
        } catch (err) {
          if ((err as Error).name === 'UnexpectedEOFError') break
          throw err
        } finally {
          wait.clear()
        }
        if (n >= this.maxRequests) throw new InvalidSyncRequestError(`more than ${this.maxRequests} requests in one exchange`)
        const response = await this.answer(SyncRequest.decode(frame, { limits: REQUEST_LIMITS }), peer)
        const bytes = SyncResponse.encode(response)
        this.metrics.bytesOut += bytes.length
        const write = deadline(this.requestTimeoutMs, exchange.signal)
        try {
          await lp.write(bytes, { signal: write.signal })
        } finally {
          write.clear()
        }
      }
      await stream.close({ signal: AbortSignal.timeout(this.requestTimeoutMs) })
    } catch (err) {
      this.metrics.droppedStreams++
      log('dropping sync stream from %s: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    } finally {
      exchange.clear()
    }
  }

  private async answer (request: SyncRequest, peer: string): Promise<SyncResponse> {
    this.metrics.requests++
    const set = [request.roots, request.expand, request.list, request.envelopes, request.tombstones].filter(r => r != null).length
    if (set !== 1) {
      this.metrics.badRequests++
      return answer(SyncResponse.Status.BAD_REQUEST, 'a request sets exactly one field')
    }
    if (!this.budget.available(peer)) {
      this.metrics.busy++
      return answer(SyncResponse.Status.BUSY, 'the work budget for this relay is spent for now')
    }
    const work: Work = { units: 1 }
    try {
      return await this.dispatch(request, work)
    } catch (err) {
      if (err instanceof InvalidSyncRequestError) {
        this.metrics.badRequests++
        return answer(SyncResponse.Status.BAD_REQUEST, err.message)
      }
      log.error('sync request failed: %e', err)
      return answer(SyncResponse.Status.INTERNAL_ERROR, 'the relay could not answer')
    } finally {
      this.budget.spend(peer, work.units)
    }
  }

  private async dispatch (request: SyncRequest, work: Work): Promise<SyncResponse> {
    const source = this.init.source
    const ok = answer(SyncResponse.Status.OK)
    if (request.roots != null) return { ...ok, roots: (await source.roots(work)).map(r => ({ count: r.count, fingerprint: wire(r.fingerprint) })) }
    if (request.expand != null) return { ...ok, expansions: await this.expand(request.expand, work) }
    if (request.list != null) return { ...ok, ...await this.list(request.list, work) }
    if (request.envelopes != null) {
      const { envelopes, answered } = await source.envelopes(checkKeys(request.envelopes), MAX_ANSWER_BYTES, work)
      this.metrics.envelopesServed += envelopes.length
      return { ...ok, answered, envelopes: envelopes.map(e => ({ key: wire(e.key), envelope: wire(e.envelope), storedAt: BigInt(e.storedAt) })) }
    }
    const { deletes, answered } = await source.deletes(checkKeys(request.tombstones as FetchRequest), MAX_ANSWER_BYTES, work)
    this.metrics.deletesServed += deletes.length
    return { ...ok, answered, deletes: deletes.map(wire) }
  }

  private async expand (request: ExpandRequest, work: Work): Promise<SyncResponse['expansions']> {
    checkShard(request.shard)
    const out: SyncResponse['expansions'] = []
    for (const path of request.paths) {
      if (!isPath(path)) throw new InvalidSyncRequestError('a path holds nibbles 0..15, at most a key long')
      const expansion = await this.init.source.expand(request.shard, path, work)
      out.push({ path: wire(expansion.path), children: expansion.children.map(c => ({ ...c, fingerprint: wire(c.fingerprint) })) })
    }
    return out
  }

  private async list (request: ListRequest, work: Work): Promise<Pick<SyncResponse, 'items' | 'more'>> {
    checkShard(request.shard)
    if (request.paths.length === 0) throw new InvalidSyncRequestError('a list names at least one node')
    for (let i = 0; i < request.paths.length; i++) {
      const path = request.paths[i]
      if (!isPath(path)) throw new InvalidSyncRequestError('a path holds nibbles 0..15, at most a key long')
      // Ascending, none inside the one before (then none inside any other).
      if (i > 0 && (compareBytes(request.paths[i - 1], path) >= 0 || pathHasPrefix(path, request.paths[i - 1]))) {
        throw new InvalidSyncRequestError('list paths must be ascending and disjoint')
      }
    }
    const after = request.after.length === 0 ? undefined : itemOfCursor(request.after)
    if (request.after.length > 0 && after == null) throw new InvalidSyncRequestError('a list cursor is an item key and its kind')
    const limit = request.limit === 0 ? MAX_LIST_ITEMS : Math.min(request.limit, MAX_LIST_ITEMS)
    const { items, more } = await this.init.source.list(request.shard, request.paths, after, limit, work)
    return { items: items.map(i => ({ key: wire(i.key), tombstone: i.tombstone })), more }
  }
}

function checkShard (shard: number): void {
  if (!isShard(shard)) throw new InvalidSyncRequestError(`no shard ${shard}`)
}

function checkKeys (request: FetchRequest): Uint8Array[] {
  if (request.keys.length === 0) throw new InvalidSyncRequestError('a fetch names at least one key')
  for (const key of request.keys) {
    if (key.length !== ITEM_KEY_LENGTH) throw new InvalidSyncRequestError(`an item key is ${ITEM_KEY_LENGTH} bytes, got ${key.length}`)
  }
  return request.keys
}
