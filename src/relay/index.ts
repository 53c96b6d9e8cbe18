/**
 * The relay's offline path: an {@link EnvelopeStore} with budgets per
 * source, quotas, retention and tombstones, the mailbox gossip among the
 * relays of a {@link RelaySet}, the {@link MailboxRelay} libp2p service that
 * serves `/starling/store/3.0.0` from them, and the {@link RelaySync}
 * service (anti-entropy over `/starling/relay-sync/1.0.0`) that repairs
 * what gossip missed.
 *
 * @example
 * ```ts
 * const levelStore = new LevelStore(location)      // location from node/
 * await levelStore.open()
 * const store = new EnvelopeStore(levelStore, { maxTotalBytes, maxBytesPerSource })
 * const relaySet = RelaySet.fromMultiaddrs(peers)  // every --peer, ending in /p2p/<id>
 * const node = await createStarlingNode({
 *   ...,
 *   extraServices: {
 *     pubsub: gossipsub(mailboxGossipsubOptions({ loopback, relaySet })),
 *     mailbox: mailboxRelay({ store, relaySet }),    // after pubsub
 *     sync: relaySync({ store, relaySet })
 *   }
 * })
 * node.services.mailbox.metrics()                    // counters, a plain object
 * node.services.sync.metrics()                       // envelopes and deletes reconciled
 * ```
 */
export { EnvelopeStore, RETENTION_MS, SWEEP_BATCH, USAGE_CACHE_SIZE } from './envelope-store.js'
export type { EnvelopeStoreInit, EnvelopeStoreMetrics, MailboxUsage } from './envelope-store.js'
export {
  ENTRY_OVERHEAD_BYTES, LINKED_RELAY_SHARE, MAX_BYTES_PER_MAILBOX, MAX_BYTES_PER_MAILBOX_PER_SOURCE, MAX_BYTES_PER_SOURCE,
  MAX_ENVELOPES_PER_MAILBOX, MAX_ENVELOPES_PER_MAILBOX_PER_SOURCE, MAX_TOTAL_BYTES, SOURCE_CACHE_SIZE, chargeOf, resolveBudgets
} from './usage.js'
export type { Budgets, Usage } from './usage.js'
export { InvalidRelayAddressError, RelaySet } from './relay-set.js'
export type { LinkedRelay } from './relay-set.js'
export {
  checkGossip, encodeDeleteGossip, encodeEnvelopeGossip, InvalidGossipError, MAX_GOSSIP_RPC_LENGTH, mailboxGossipsubOptions,
  mailboxMessageId, NOT_LINKED_SCORE, validateGossip
} from './gossip.js'
export type { CheckedGossip, CheckGossipInit, MailboxGossipsubInit } from './gossip.js'
export { MailboxRelay, mailboxRelay, SWEEP_INTERVAL_MS } from './mailbox-relay.js'
export type { GossipMetrics, MailboxRelayComponents, MailboxRelayInit, MailboxRelayMetrics } from './mailbox-relay.js'
export { CONNECT_GAP_MS, CONTINUE_MS, RETRY_MS, RelaySync, SYNC_INTERVAL_MS, relaySync } from './sync-service.js'
export type { RelaySyncComponents, RelaySyncInit, RelaySyncMetrics } from './sync-service.js'
export { syncTarget } from './sync-target.js'
export type { ExchangeResult } from '../protocols/relay-sync/index.js'
export { TOMBSTONE_CHARGE, TOMBSTONE_MARGIN_MS } from './tombstones.js'
export type { DeleteProof } from './tombstones.js'
export { TABLE_NIBBLES } from './digest-table.js'
