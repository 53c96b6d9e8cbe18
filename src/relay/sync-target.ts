/**
 * An {@link EnvelopeStore} as the initiator's side of relay-sync: its own
 * summaries and lookups, and stores charged to the linked relay it syncs
 * with (`relay:<peer id>`, the same budget its gossip is charged to).
 */
import type { PeerId } from '@libp2p/interface'
import { DeletedByOwnerError } from '../protocols/store/errors.js'
import type { SyncTarget } from '../protocols/relay-sync/relay-sync.js'
import { splitKey } from '../protocols/relay-sync/verify.js'
import type { EnvelopeStore } from './envelope-store.js'

/** The store as a {@link SyncTarget} for an exchange with `peer`. */
export function syncTarget (store: EnvelopeStore, peer: PeerId | string): SyncTarget {
  const from = { source: `relay:${peer.toString()}`, linked: true }
  return {
    roots: async (work) => await store.sync.roots(work),
    children: async (shard, path, work) => await store.sync.children(shard, path, work),
    lookup: async (item) => await store.sync.lookup(item),
    storeEnvelope: async (entry) => {
      const { mailbox, id } = splitKey(entry.key)
      try {
        return (await store.putSynced(Uint8Array.from(mailbox), Uint8Array.from(id), entry.envelope, entry.storedAt, from)).duplicate ? 'duplicate' : 'stored'
      } catch (err) {
        if (err instanceof DeletedByOwnerError) return 'deleted'
        throw err
      }
    },
    storeDelete: async (verified) => await store.applyDelete(verified.mailbox, verified.refs, { signed: verified.signed, timestamp: verified.timestamp }, from),
    retentionMs: store.retentionMs,
    tombstoneLifetimeMs: store.tombstoneLifetimeMs
  }
}
