/**
 * `/starling/turn/1.0.0`: a relay whose operator runs a TURN server beside
 * it (README, TURN) hands the devices it serves short-lived credentials for
 * it; devices take ICE servers only from their own relays (DESIGN.md,
 * Calls). The relay answers only a peer that holds a reservation on it,
 * within a budget per peer; anyone else gets the stream closed with nothing
 * written.
 */
import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import type { AbortOptions, Connection, Libp2p, PeerId, Startable, Stream } from '@libp2p/interface'
import { isMultiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { setNewest } from '../../bounded.js'
import {
  DEFAULT_CREDENTIAL_TTL_MS, MAX_INBOUND_STREAMS, MAX_TURN_BUDGET_PEERS, MAX_TURN_FRAME_LENGTH, MAX_TURN_URL_LENGTH, MAX_TURN_URLS,
  TURN_BUDGET_WINDOW_MS, TURN_PROTOCOL, TURN_REQUESTS_PER_PEER, TURN_TIMEOUT_MS
} from './constants.js'
import { turnCredential } from './credentials.js'
import { InvalidTurnCredentialsError, TurnRefusedError } from './errors.js'
import { ownTurnUrls } from './hosts.js'
import { TurnCredentials } from './pb/turn.js'

const log = logger('starling:turn')

/** An ICE server entry as `RTCPeerConnection` takes it. */
export interface TurnIceServer {
  urls: string[]
  username: string
  credential: string
  /** ms since the epoch */
  expiresAt: number
}

/** What the server needs from libp2p. */
export interface TurnServerComponents {
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
}

/** Options of a {@link TurnServer}. */
export interface TurnServerInit {
  /** The TURN server's URLs (`turn:host:3478?transport=udp`, ...). */
  urls: string[]
  /** The secret shared with the TURN server (coturn's `static-auth-secret`). */
  secret: Uint8Array
  /** True for a peer this relay serves (holds a reservation on it). */
  serves(peer: PeerId): boolean
  now?: () => number
  ttlMs?: number
  requestsPerPeer?: number
}

/** Checks a URL the way both sides must agree on. */
export function checkTurnUrl (url: string): string {
  if (url.length > MAX_TURN_URL_LENGTH || !/^(turns?|stuns?):[^\s]+$/.test(url)) throw new InvalidTurnCredentialsError(`not a TURN or STUN URL: ${url.slice(0, 80)}`)
  return url
}

/** Serves TURN credentials on `/starling/turn/1.0.0`. */
export class TurnServer implements Startable {
  private readonly components: TurnServerComponents
  private readonly init: TurnServerInit
  private readonly now: () => number
  private readonly budgets = new Map<string, { start: number, count: number }>()
  private started = false
  /** Credentials handed out and requests refused, for metrics. */
  readonly metrics = { issued: 0, refused: 0 }

  constructor (components: TurnServerComponents, init: TurnServerInit) {
    if (init.urls.length === 0 || init.urls.length > MAX_TURN_URLS) throw new RangeError(`a relay names 1 to ${MAX_TURN_URLS} TURN URLs, got ${init.urls.length}`)
    for (const url of init.urls) checkTurnUrl(url)
    if (init.secret.byteLength < 16) throw new RangeError('the TURN secret must be at least 16 bytes')
    this.components = components
    this.init = init
    this.now = init.now ?? Date.now
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(TURN_PROTOCOL, this.handleStream, { maxInboundStreams: MAX_INBOUND_STREAMS, runOnLimitedConnection: true })
    this.started = true
  }

  async stop (): Promise<void> {
    this.started = false
    await this.components.registrar.unhandle(TURN_PROTOCOL)
  }

  private allowed (peer: PeerId): boolean {
    if (!this.init.serves(peer)) return false
    const now = this.now()
    const key = peer.toString()
    let budget = this.budgets.get(key)
    if (budget == null || now - budget.start >= TURN_BUDGET_WINDOW_MS || now < budget.start) {
      budget = { start: now, count: 0 }
      setNewest(this.budgets, key, budget, MAX_TURN_BUDGET_PEERS)
    }
    if (budget.count >= (this.init.requestsPerPeer ?? TURN_REQUESTS_PER_PEER)) return false
    budget.count++
    return true
  }

  /** The libp2p stream handler; public so tests can hand it in-memory streams. */
  readonly handleStream = async (stream: Stream, connection: Connection): Promise<void> => {
    const peer = connection.remotePeer
    const signal = AbortSignal.timeout(TURN_TIMEOUT_MS)
    try {
      if (!this.allowed(peer)) {
        this.metrics.refused++
        await stream.close({ signal })
        return
      }
      const { username, credential, expiresAt } = turnCredential(this.init.secret, peer.toString(), this.now() + (this.init.ttlMs ?? DEFAULT_CREDENTIAL_TTL_MS))
      await lpStream(stream).write(TurnCredentials.encode({ urls: this.init.urls, username, credential, expiresAt }), { signal })
      this.metrics.issued++
      await stream.close({ signal })
    } catch (err) {
      log('TURN credentials not sent to %p: %s', peer, (err as Error).message)
      stream.abort(err as Error)
    }
  }
}

/**
 * Asks one of our relays for TURN credentials. Only the URLs that name the
 * relay's own host are kept (hosts.ts): those of `relayAddrs` (the
 * addresses we know it by), of `relay` when it is given as addresses, and
 * of the connection we reached it on.
 *
 * @throws {TurnRefusedError} when the relay answers nothing (not served, no budget)
 * @throws {InvalidTurnCredentialsError} for an answer outside the bounds
 * @throws {ForeignTurnUrlError} when every URL names another host than the relay's
 */
export async function fetchTurnCredentials (node: Pick<Libp2p, 'dial'>, relay: PeerId | Multiaddr | Multiaddr[], options: AbortOptions & { now?: () => number, relayAddrs?: Multiaddr[] } = {}): Promise<TurnIceServer> {
  const signal = options.signal == null ? AbortSignal.timeout(TURN_TIMEOUT_MS) : AbortSignal.any([options.signal, AbortSignal.timeout(TURN_TIMEOUT_MS)])
  const connection = await node.dial(relay, { signal })
  const known = [...(options.relayAddrs ?? []), ...(Array.isArray(relay) ? relay : isMultiaddr(relay) ? [relay] : []), connection.remoteAddr]
  const stream = await connection.newStream(TURN_PROTOCOL, { signal, runOnLimitedConnection: true })
  let bytes: Uint8Array
  try {
    bytes = (await lpStream(stream, { maxDataLength: MAX_TURN_FRAME_LENGTH }).read({ signal })).subarray()
  } catch (err) {
    stream.abort(err as Error)
    if ((err as Error).name === 'UnexpectedEOFError') throw new TurnRefusedError('the relay gave no TURN credentials', { cause: err })
    throw err
  }
  await stream.close({ signal }).catch(() => {})
  let answer: TurnCredentials
  try {
    answer = TurnCredentials.decode(bytes, { limits: { urls: MAX_TURN_URLS } })
  } catch (err) {
    throw new InvalidTurnCredentialsError('the TURN credentials do not decode', { cause: err })
  }
  if (answer.urls.length === 0) throw new InvalidTurnCredentialsError('the answer names no TURN server')
  for (const url of answer.urls) checkTurnUrl(url)
  if (answer.username.length > 256 || answer.credential.length > 256) throw new InvalidTurnCredentialsError('TURN username or credential too long')
  if (!(answer.expiresAt > (options.now ?? Date.now)())) throw new InvalidTurnCredentialsError('the TURN credentials have expired')
  return { urls: ownTurnUrls(answer.urls, known), username: answer.username, credential: answer.credential, expiresAt: answer.expiresAt }
}
