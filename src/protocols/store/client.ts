/**
 * The device side of `/starling/store/3.0.0`. A {@link StoreClient} keeps
 * one stream per relay open and pipelines requests on it (channel.ts: a few
 * unanswered at once; the relay answers in order; puts waiting for their
 * turn go out together in one batch, each caller getting its own result);
 * a stream that fails or times out is aborted and
 * the request is tried once more on a fresh stream when the old one had
 * already served requests, or was dropped because another caller gave up
 * (every request is idempotent: puts de-duplicate on the envelope id and
 * hash, deletes of missing envelopes do nothing).
 */
import { logger } from '@libp2p/logger'
import { sha256 } from '@noble/hashes/sha2.js'
import { lpStream } from '@libp2p/utils'
import type { AbortOptions, Libp2p, PeerId, PrivateKey } from '@libp2p/interface'
import type { Ed25519Provider } from '../../crypto/provider.js'
import type { Multiaddr } from '@multiformats/multiaddr'
import { bytesEqual } from '../../crypto/bytes.js'
import { parseEnvelopeHeader } from '../../crypto/envelope.js'
import type { InvalidMessageError } from '../../crypto/errors.js'
import { MAX_RESPONSE_FRAME_LENGTH, MAX_STORED_ENVELOPE_LENGTH, REQUEST_TIMEOUT_MS, STORE_PROTOCOL, WRITE_TIMEOUT_MS } from './constants.js'
import {
  EnvelopeTooLargeError, InvalidStoreRequestError, QuotaExceededError, RateLimitedError, StoreProtocolError, StreamAbandonedError, UnauthorizedError
} from './errors.js'
import type { QuotaKind } from './errors.js'
import { checkMailbox } from './mailbox.js'
import { StoreChannel, raceAbort } from './channel.js'
import { StoreResponse } from './pb/store.js'
import type { StoreRequest } from './pb/store.js'
import { wire } from './wire.js'
import { AuthOp, VerifiedTrees, deleteBody, fetchBody, signOwnerAuth, verifyReceipt } from './signing.js'
import type { VerifiedReceipt } from './signing.js'
import type { EnvelopeRef, MailboxPage, StoredEnvelopeEntry } from './store.js'

const log = logger('starling:store:client')

/** A relay to talk to: its peer id (dialled through the peer store) or addresses. */
export type RelayTarget = PeerId | Multiaddr | Multiaddr[]

/** What the client needs of a libp2p node. */
export type StoreDialer = Pick<Libp2p, 'dial'>

/** Options of a {@link StoreClient}. */
export interface StoreClientInit {
  /** Time allowed for one request, dial included (default {@link REQUEST_TIMEOUT_MS}). */
  timeoutMs?: number
  /** Milliseconds since the epoch for owner signatures (default `Date.now`). */
  now?: () => number
  /** Ed25519 to check custody receipts with (the crypto facade's; default: the relay's libp2p public key). */
  ed25519?: Pick<Ed25519Provider, 'verify'>
  /** SHA-256 of the envelopes handed over (the crypto facade's: node:crypto in Node; default noble's). */
  sha256?: (data: Uint8Array) => Uint8Array
}

/** Options of a fetch. */
export interface FetchOptions extends AbortOptions {
  /** The cursor of the previous page. */
  after?: Uint8Array
  /** Envelopes wanted (the relay caps it at {@link MAX_FETCH_LIMIT}). */
  limit?: number
}

/** Relays remembered as taking no batches (an older relay); past this, the oldest is forgotten (and found out again). */
const MAX_NO_BATCH_RELAYS = 1024

function targetKey (target: RelayTarget): string {
  if (Array.isArray(target)) return target.map(a => a.toString()).sort().join(',')
  return target.toString()
}

const QUOTA_KINDS: Partial<Record<StoreResponse.Quota, QuotaKind>> = {
  [StoreResponse.Quota.MAILBOX_FULL]: 'mailbox-full',
  [StoreResponse.Quota.MAILBOX_SHARE]: 'mailbox-share',
  [StoreResponse.Quota.SOURCE_BUDGET]: 'source-budget',
  [StoreResponse.Quota.RELAY_FULL]: 'relay-full'
}

function checkStatus (response: StoreResponse): void {
  const message = response.message === '' ? 'refused by the relay' : `relay: ${response.message}`
  switch (response.status) {
    case StoreResponse.Status.OK: return
    case StoreResponse.Status.BAD_REQUEST: throw new InvalidStoreRequestError(message)
    case StoreResponse.Status.TOO_LARGE: throw new EnvelopeTooLargeError(message)
    case StoreResponse.Status.QUOTA_EXCEEDED: throw new QuotaExceededError(message, QUOTA_KINDS[response.quota] ?? 'unknown')
    case StoreResponse.Status.RATE_LIMITED: throw new RateLimitedError(message)
    case StoreResponse.Status.UNAUTHORIZED: throw new UnauthorizedError(message)
    case StoreResponse.Status.INTERNAL_ERROR:
    case StoreResponse.Status.UNSPECIFIED:
      throw new StoreProtocolError(message)
    default:
      throw new StoreProtocolError(`unknown status ${String(response.status)}`)
  }
}

/** Talks to relays over `/starling/store/3.0.0`, one kept-open stream per relay. */
export class StoreClient {
  private readonly node: StoreDialer
  private readonly timeoutMs: number
  private readonly now: () => number
  private readonly ed25519: StoreClientInit['ed25519']
  private readonly sha256: (data: Uint8Array) => Uint8Array
  private readonly channels = new Map<string, Promise<StoreChannel>>()
  /** Relays (peer ids) that answered a batch as an older relay does: their puts go one by one. */
  private readonly noBatches = new Set<string>()
  /** Tree signatures verified lately: a batch's receipts cost one verification. */
  private readonly trees = new VerifiedTrees()

  constructor (node: StoreDialer, init: StoreClientInit = {}) {
    this.node = node
    this.timeoutMs = init.timeoutMs ?? REQUEST_TIMEOUT_MS
    this.now = init.now ?? Date.now
    this.ed25519 = init.ed25519
    this.sha256 = init.sha256 ?? sha256
  }

  /**
   * Hands `envelope` to a relay for `mailbox`; resolves to the relay's
   * custody receipt once it holds the envelope durably, verified against the
   * relay's peer id and the SHA-256 of these very bytes (a receipt for other
   * bytes under the same id is refused with InvalidReceiptError). Puts to
   * one relay that wait for their turn go out in one batch; each still
   * resolves to its own receipt or rejects with its own error.
   */
  async put (relay: RelayTarget, mailbox: Uint8Array, envelope: Uint8Array, options: AbortOptions = {}): Promise<VerifiedReceipt> {
    checkMailbox(mailbox)
    if (envelope.length > MAX_STORED_ENVELOPE_LENGTH) throw new EnvelopeTooLargeError(`envelope of ${envelope.length} bytes is over ${MAX_STORED_ENVELOPE_LENGTH}`)
    const subject = { mailbox, envelopeId: parseEnvelopeHeader(envelope).id, hash: this.sha256(envelope) }
    return await this.request(relay, options, async () => ({ put: { mailbox: wire(mailbox), envelope: wire(envelope) } }), async (response, relayId) => {
      return await verifyReceipt(response.receipt, relayId, subject, { ed25519: this.ed25519, trees: this.trees })
    })
  }

  /** Fetches one page of this device's mailbox (oldest first), signed with the device's peer key. */
  async fetch (relay: RelayTarget, deviceKey: PrivateKey, options: FetchOptions = {}): Promise<MailboxPage> {
    const after = options.after ?? new Uint8Array(0)
    const limit = options.limit ?? 0
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`)
    return await this.request(relay, options, async (relayId) => {
      const { mailbox, auth } = await signOwnerAuth(deviceKey, AuthOp.fetch, relayId, this.now(), fetchBody(after, limit))
      return { fetch: { mailbox: wire(mailbox), after: wire(after), limit, auth } }
    }, async (response) => {
      const envelopes: StoredEnvelopeEntry[] = response.envelopes.map(e => {
        let header
        try {
          header = parseEnvelopeHeader(e.envelope)
        } catch (err) {
          throw new StoreProtocolError(`the relay sent a malformed envelope: ${(err as InvalidMessageError).message}`)
        }
        if (!bytesEqual(header.id, e.id)) throw new StoreProtocolError('the relay sent an envelope under another id')
        return { id: e.id, envelope: e.envelope, storedAt: Number(e.storedAt) }
      })
      return { envelopes, cursor: response.cursor, more: response.more }
    })
  }

  /**
   * Asks a relay to delete envelopes of this device's mailbox, each named by
   * its id and the SHA-256 of the bytes this device fetched and opened
   * ({@link envelopeRef}): a relay holding other bytes under that id keeps
   * them. Resolves to the number it removed.
   */
  async delete (relay: RelayTarget, deviceKey: PrivateKey, refs: readonly EnvelopeRef[], options: AbortOptions = {}): Promise<number> {
    const body = deleteBody(refs)
    return await this.request(relay, options, async (relayId) => {
      const { mailbox, auth } = await signOwnerAuth(deviceKey, AuthOp.delete, relayId, this.now(), body)
      return { delete: { mailbox: wire(mailbox), refs: refs.map(r => ({ id: wire(r.id), hash: wire(r.hash) })), auth } }
    }, async (response) => response.deleted)
  }

  /** Closes every kept-open stream. */
  async close (): Promise<void> {
    const channels = [...this.channels.values()]
    this.channels.clear()
    await Promise.all(channels.map(async pending => {
      try {
        const channel = await pending
        await channel.idle()
        await channel.stream.close({ signal: AbortSignal.timeout(WRITE_TIMEOUT_MS) })
      } catch {
        // Nothing to keep: the stream is gone either way.
      }
    }))
  }

  private async request<T> (target: RelayTarget, options: AbortOptions, build: (relay: PeerId) => Promise<StoreRequest>, read: (response: StoreResponse, relay: PeerId) => Promise<T>): Promise<T> {
    const signal = options.signal == null ? AbortSignal.timeout(this.timeoutMs) : AbortSignal.any([options.signal, AbortSignal.timeout(this.timeoutMs)])
    for (let attempt = 0; ; attempt++) {
      const channel = await this.channel(target, signal)
      const request = await build(channel.relay)
      const wasUsed = channel.used
      let response: StoreResponse
      try {
        response = await channel.exchange(request, signal)
      } catch (err) {
        // The channel kept the stream in step (this put's batch was answered with results that do not match it, or this
        // request was given up before it was written): nothing to drop, and a retry would get the same.
        if (channel.usable) throw err
        // The stream is in an unknown state (a late answer would pair with the next request): never reuse it.
        this.drop(target, channel, err)
        // Once more on a fresh stream when the old one had served requests (it may have gone stale), or was dropped for another caller's sake.
        if ((wasUsed || err instanceof StreamAbandonedError) && attempt === 0 && !signal.aborted) {
          log('retrying on a fresh stream after %s', (err as Error).message)
          continue
        }
        throw err
      }
      // A complete answer: the stream stays usable whatever it says.
      checkStatus(response)
      return await read(response, channel.relay)
    }
  }

  private async channel (target: RelayTarget, signal: AbortSignal): Promise<StoreChannel> {
    const key = targetKey(target)
    let pending = this.channels.get(key)
    if (pending == null) {
      // Not this caller's signal: the stream is every waiting caller's, and one giving up must not fail the others.
      pending = this.open(target, AbortSignal.timeout(this.timeoutMs))
      this.channels.set(key, pending)
      pending.catch(() => {
        if (this.channels.get(key) === pending) this.channels.delete(key)
      })
    }
    const channel = await raceAbort(pending, signal)
    if (!channel.usable) {
      if (this.channels.get(key) === pending) this.channels.delete(key)
      return await this.channel(target, signal)
    }
    return channel
  }

  private async open (target: RelayTarget, signal: AbortSignal): Promise<StoreChannel> {
    const connection = await this.node.dial(target, { signal })
    const stream = await connection.newStream(STORE_PROTOCOL, { signal, runOnLimitedConnection: true })
    const lp = lpStream(stream, { maxDataLength: MAX_RESPONSE_FRAME_LENGTH, maxBufferSize: MAX_RESPONSE_FRAME_LENGTH + 16 })
    const relay = connection.remotePeer.toString()
    return new StoreChannel(connection.remotePeer, stream, lp, {
      batches: !this.noBatches.has(relay),
      onNoBatches: () => {
        log('relay %s takes no batches: single puts from now on', relay)
        this.noBatches.add(relay)
        if (this.noBatches.size > MAX_NO_BATCH_RELAYS) this.noBatches.delete(this.noBatches.values().next().value as string)
      }
    })
  }

  private drop (target: RelayTarget, channel: StoreChannel, err: unknown): void {
    const key = targetKey(target)
    void this.channels.get(key)?.then(current => {
      if (current === channel) this.channels.delete(key)
    }, () => {})
    channel.fail(err instanceof Error ? err : new Error(String(err)))
  }
}

async function once<T> (node: StoreDialer, run: (client: StoreClient) => Promise<T>): Promise<T> {
  const client = new StoreClient(node)
  try {
    return await run(client)
  } finally {
    await client.close()
  }
}

/** Hands one envelope to a relay on a stream of its own; see {@link StoreClient.put}. */
export async function storeEnvelope (node: StoreDialer, relay: RelayTarget, mailbox: Uint8Array, envelope: Uint8Array, options: AbortOptions = {}): Promise<VerifiedReceipt> {
  return await once(node, async client => await client.put(relay, mailbox, envelope, options))
}

/** Fetches one page of this device's mailbox on a stream of its own; see {@link StoreClient.fetch}. */
export async function fetchMailbox (node: StoreDialer, relay: RelayTarget, deviceKey: PrivateKey, options: FetchOptions = {}): Promise<MailboxPage> {
  return await once(node, async client => await client.fetch(relay, deviceKey, options))
}

/** Deletes envelopes of this device's mailbox on a stream of its own; see {@link StoreClient.delete}. */
export async function deleteFromMailbox (node: StoreDialer, relay: RelayTarget, deviceKey: PrivateKey, refs: readonly EnvelopeRef[], options: AbortOptions = {}): Promise<number> {
  return await once(node, async client => await client.delete(relay, deviceKey, refs, options))
}
