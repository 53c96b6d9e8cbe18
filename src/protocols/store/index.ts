/**
 * `/starling/store/3.0.0`: relays hold sealed envelopes for devices that are
 * offline. A sender puts an envelope into the recipient device's mailbox and
 * gets a signed custody receipt on the same stream (puts that wait for
 * their turn travel together in one request, each with its own receipt),
 * naming the SHA-256 of the bytes the relay holds (checked against those
 * handed over; a relay keeps other bytes under the same id beside them);
 * the recipient fetches
 * its mailbox in pages and deletes what it has stored, proving ownership
 * with a signature by its device peer key, and naming each envelope by id
 * and content hash (so junk served under a real id deletes nothing real).
 * Relays spread envelopes and signed deletes among themselves on gossipsub
 * shard topics (src/relay).
 *
 * @example
 * ```ts
 * const mailbox = mailboxId(recipientDevicePeerId)
 * const receipt = await storeEnvelope(node, relayAddr, mailbox, envelope)   // custody, verified
 *
 * // later, on the recipient device
 * const client = new StoreClient(node)
 * let after: Uint8Array | undefined
 * do {
 *   const page = await client.fetch(relayAddr, devicePrivateKey, { after })
 *   // ... open, store, acknowledge ...
 *   await client.delete(relayAddr, devicePrivateKey, page.envelopes.map(e => envelopeRef(e.id, e.envelope)))
 *   after = page.cursor
 *   if (!page.more) break
 * } while (true)
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { allShardTopics, mailboxId, mailboxShard, mailboxTopic } from './mailbox.js'
export { AuthOp, ReceiptSigner, VerifiedTrees, deleteBody, envelopeRef, fetchBody, receiptPayload, signOwnerAuth, signReceipt, verifyOwnerAuth, verifyReceipt } from './signing.js'
export type { ReceiptItem, VerifiedReceipt, VerifyOwnerAuthInit, VerifyReceiptOptions } from './signing.js'
export { PeerRateLimiter } from './rate-limit.js'
export type { RateLimitInit } from './rate-limit.js'
export type { QuotaKind } from './errors.js'
export type {
  EnvelopeRef, MailboxPage, PutOutcome, PutSource, SignedDelete, StoreBackend, StoredEnvelopeEntry, StoreOp, StoreServerComponents, StoreServerInit, StoreServerMetrics
} from './store.js'
export { StoreClient, deleteFromMailbox, fetchMailbox, storeEnvelope } from './client.js'
export type { FetchOptions, RelayTarget, StoreClientInit, StoreDialer } from './client.js'
export { wire } from './wire.js'
export type { WireBytes } from './wire.js'
