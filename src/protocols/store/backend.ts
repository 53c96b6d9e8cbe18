/**
 * What a store server asks of the place that keeps envelopes (the relay's
 * durable store plus its gossip: src/relay), and the shapes it passes.
 */
import type { OwnerAuth } from './pb/store.js'

/** One envelope as a relay holds it. */
export interface StoredEnvelopeEntry {
  /** The envelope's readable id (16 bytes). */
  id: Uint8Array
  envelope: Uint8Array
  /** When the relay stored it (ms since the epoch, relay clock). */
  storedAt: number
}

/** A page of a mailbox, oldest first. */
export interface MailboxPage {
  envelopes: StoredEnvelopeEntry[]
  /** Pass back as `after` for the next page (empty when the page is empty and no cursor was given). */
  cursor: Uint8Array
  /** More envelopes follow this page. */
  more: boolean
}

/** What a put left behind. */
export interface PutOutcome {
  storedAt: number
  expiresAt: number
  /** The envelope was already held (the original times are returned). */
  duplicate: boolean
  /** SHA-256 of the envelope, when the backend computed it (the receipt names it; else the server computes it). */
  hash?: Uint8Array
}

/** An envelope as its owner names it in a delete: its id and SHA-256 of the bytes it fetched. */
export interface EnvelopeRef {
  id: Uint8Array
  hash: Uint8Array
}

/** Who hands an envelope to a relay, for its budgets. */
export interface PutSource {
  /** The connection's source (src/net/source.ts), or `relay:<peer id>` for gossip. */
  source: string
  /** Gossip from a relay of the relay set: its own budget, no mailbox share. */
  linked?: boolean
}

/** A delete the owner signed for one relay; other relays verify it from gossip. */
export interface SignedDelete {
  mailbox: Uint8Array
  refs: EnvelopeRef[]
  auth: OwnerAuth
  /** The relay the owner signed for (multihash bytes). */
  relay: Uint8Array
}

/** Where the server keeps envelopes (the relay's durable store plus its gossip). */
export interface StoreBackend {
  /**
   * Stores durably, charged to `from`, then resolves: these very bytes,
   * beside any other bytes held under the same id (a custody receipt names
   * their hash).
   *
   * @throws {QuotaExceededError} when a quota or budget is used up
   */
  put(mailbox: Uint8Array, id: Uint8Array, envelope: Uint8Array, from: PutSource): Promise<PutOutcome>
  /** @throws {InvalidStoreRequestError} for a cursor that is not one */
  fetch(mailbox: Uint8Array, after: Uint8Array | undefined, limit: number, maxBytes: number): Promise<MailboxPage>
  /** Deletes the envelopes whose id and hash match (the signature is already verified); resolves to the number removed. */
  delete(request: SignedDelete): Promise<number>
}
