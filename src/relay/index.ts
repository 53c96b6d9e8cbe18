/**
 * The relay's offline path: an {@link EnvelopeStore} with quotas and
 * retention, the mailbox gossip among relays, and the {@link MailboxRelay}
 * libp2p service that serves `/starling/store/1.0.0` from them.
 *
 * @example
 * ```ts
 * const levelStore = new LevelStore(location)      // location from node/
 * await levelStore.open()
 * const store = new EnvelopeStore(levelStore)
 * const node = await createStarlingNode({
 *   ...,
 *   extraServices: {
 *     pubsub: gossipsub(mailboxGossipsubOptions({ loopback })),
 *     mailbox: mailboxRelay({ store })               // after pubsub
 *   }
 * })
 * node.services.mailbox.metrics()                    // counters, a plain object
 * ```
 */
export {
  EnvelopeStore, MAX_BYTES_PER_MAILBOX, MAX_ENVELOPES_PER_MAILBOX, RETENTION_MS, SWEEP_BATCH, USAGE_CACHE_SIZE
} from './envelope-store.js'
export type { EnvelopeStoreInit, EnvelopeStoreMetrics, MailboxUsage } from './envelope-store.js'
export {
  checkGossip, encodeDeleteGossip, encodeEnvelopeGossip, InvalidGossipError, MAX_GOSSIP_RPC_LENGTH, mailboxGossipsubOptions,
  mailboxMessageId, validateGossip
} from './gossip.js'
export type { CheckedGossip, CheckGossipInit, MailboxGossipsubInit } from './gossip.js'
export { MailboxRelay, mailboxRelay, SWEEP_INTERVAL_MS } from './mailbox-relay.js'
export type { GossipMetrics, MailboxRelayComponents, MailboxRelayInit, MailboxRelayMetrics } from './mailbox-relay.js'
