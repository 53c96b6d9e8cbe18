/**
 * `/starling/relay-sync/1.0.0`: anti-entropy between the relays of one
 * relay set. Each relay's envelopes and tombstones (of envelopes their
 * owners deleted) are items keyed mailbox || id || SHA-256 of the envelope,
 * in a 16-way tree per mailbox shard whose nodes carry a count and a
 * digest. The initiator compares the roots, descends only into nodes that
 * differ, lists the small ones, and fetches what it lacks: tombstones with
 * the owners' signed deletes (verified, then applied), then envelopes
 * (checked against their key). Only linked relays are answered; every
 * exchange and every linked relay has a budget.
 *
 * @example
 * ```ts
 * // on a relay (src/relay wires it: relaySync({ store, relaySet }))
 * const server = new RelaySyncServer(components, { source: store.sync, relaySet })
 *
 * // the initiator, over a stream to a linked relay
 * const stream = await connection.newStream(RELAY_SYNC_PROTOCOL)
 * const result = await reconcile(new StreamChannel(stream), target)
 * result.envelopes.stored; result.deletes.tombstones; result.complete
 * ```
 */
export * from './constants.js'
export * from './errors.js'
export { StreamChannel, deadline } from './client.js'
export type { ChannelStats, StreamChannelInit, SyncChannel } from './client.js'
export { reconcile, resolveLimits } from './reconcile.js'
export type { ExchangeLimits, ExchangeResult, ReconcileInit } from './reconcile.js'
export type { LocalState, NodeExpansion, StoreOutcome, SyncedEnvelopeEntry, SyncSource, SyncTarget, VerifiedDelete, Work } from './relay-sync.js'
export { RelaySyncServer } from './server.js'
export type { RelaySyncServerComponents, RelaySyncServerInit, RelaySyncServerMetrics } from './server.js'
export { itemHash, pathBounds } from './tree.js'
export type { ChildSummary, Summary, SyncItem } from './tree.js'
export { checkSyncedDelete, checkSyncedEnvelope, splitKey } from './verify.js'
export { WorkBudget } from './work-budget.js'
export type { WorkBudgetInit } from './work-budget.js'
