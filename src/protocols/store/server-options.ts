/**
 * The store server's options, components and counters (store.ts serves
 * the protocol).
 */
import type { Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Ed25519Provider } from '../../crypto/provider.js'
import type { StoreBackend } from './backend.js'
import type { RateLimitInit } from './rate-limit.js'

/** Counters of a StoreServer. */
export interface StoreServerMetrics {
  /** Requests answered by operation; each put of a batch counts as a put. */
  requests: { put: number, fetch: number, delete: number }
  /** Requests that carried several puts (`puts`), whatever they were answered. */
  batches: number
  /** Puts those requests carried (each also counts in `requests.put` once answered). */
  batchedPuts: number
  rejected: { badRequest: number, tooLarge: number, quota: number, rateLimited: number, unauthorized: number, internal: number }
  /** Streams dropped for a frame that was too long, did not decode, or timed out. */
  droppedStreams: number
}

/** What a StoreServer needs from libp2p. */
export interface StoreServerComponents {
  /** Where the protocol handler is registered (libp2p's registrar, or the node itself). */
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
  peerId: PeerId
  privateKey: PrivateKey
}

/** Options of a StoreServer. */
export interface StoreServerInit {
  backend: StoreBackend
  /** Milliseconds since the epoch (default `Date.now`); also drives the rate limiter. */
  now?: () => number
  /** Owner signatures must be this fresh (default AUTH_FRESHNESS_MS). */
  authFreshnessMs?: number
  /** A stream with no request for this long is dropped (default IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number
  /** Requests per source (an address: see src/net/source.ts). */
  rateLimit?: Omit<RateLimitInit, 'now'>
  maxInboundStreams?: number
  /** Requests of one stream answered at once (default MAX_PIPELINED_REQUESTS). */
  maxPipelined?: number
  /** Requests of one source answered at once, across its streams and connections (default MAX_IN_FLIGHT_PER_SOURCE). */
  maxInFlightPerSource?: number
  maxOutboundStreams?: number
  /**
   * Ed25519 for custody receipts (the crypto facade's: node:crypto in Node),
   * signing with the relay key's seed; without it, the peer key signs (see
   * ReceiptSigner).
   */
  ed25519?: Pick<Ed25519Provider, 'sign'>
  /** Called after each request is answered: which operation, how long it took (ms) and the status sent (the operator's latency histograms). */
  onRequest?: (op: StoreOp, ms: number, status: string) => void
}

/** The operations of the store protocol. */
export type StoreOp = 'put' | 'fetch' | 'delete'
