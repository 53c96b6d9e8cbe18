/**
 * `starling relay`: the process a community operator runs. TCP and WebSocket
 * listeners, a DHT server on /starling/kad/1.0.0 whose records survive
 * restarts (LevelDB datastore), a circuit relay v2 server with limits set
 * for messaging and reservations limited per source, gossipsub mailbox
 * shards shared only with the relays it is linked with (`--peer`), the
 * signed list of those relays (`/starling/relays/1.0.0`), and
 * `/starling/store/3.0.0` (sealed envelopes held for offline devices in
 * LevelDB, with a storage budget in all and per source, mailbox quotas
 * shared out per source, and retention), anti-entropy with the linked relays
 * on `/starling/relay-sync/1.0.0` (at start, when one connects, and every few
 * minutes), identify and ping. Keeps its peer id, its envelopes and its
 * tombstones across restarts.
 *
 * The relay is assembled in src/peer/relay.ts ({@link createStarlingRelay});
 * this file gives it Node's pieces: TCP and WebSockets, node:crypto, the
 * key file, LevelDB for the envelopes and the DHT's records, all in the
 * data directory.
 */
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { createStarlingRelay } from '../src/peer/relay.js'
import type { RelayPlatform, StarlingRelay, StarlingRelayInit } from '../src/peer/relay.js'
import { RelaySet } from '../src/relay/index.js'
import { LevelStore } from '../src/store/index.js'
import { Files, makePrivate } from './data-dir.js'
import { allLocal, loadOrCreatePeerKey, nodeCrypto, nodeNoiseCrypto, nodeTransports } from './platform.js'

export type { RelayLimits } from '../src/peer/relay.js'

export interface RelayInit extends Omit<StarlingRelayInit, 'loopback' | 'sweepIntervalMs'> {
  dataDir: string
}

/** A running relay. */
export type Relay = StarlingRelay

/** A relay's platform pieces over a data directory. */
export function relayPlatform (dataDir: string): RelayPlatform {
  return {
    crypto: nodeCrypto(),
    transports: nodeTransports,
    noiseCrypto: nodeNoiseCrypto(),
    peerKey: async () => await loadOrCreatePeerKey(join(dataDir, Files.relayKey)),
    openStore: async () => {
      const store = new LevelStore(join(dataDir, Files.store))
      await store.open()
      return store
    },
    openDatastore: async () => {
      const datastore = new LevelDatastore(join(dataDir, Files.datastore))
      await datastore.open()
      return datastore
    }
  }
}

/** Starts a relay. */
export async function startRelay (init: RelayInit): Promise<Relay> {
  // Before anything is opened: a --peer without /p2p/<id> is refused at once.
  RelaySet.fromMultiaddrs(init.peers ?? [])
  // The relay's key, DHT records and envelopes are the operator's alone, now and in what is written later.
  await makePrivate(init.dataDir)
  const { dataDir, ...rest } = init
  // Same-IP penalties break meshes when many peers share 127.0.0.1.
  const loopback = allLocal([...init.listen, ...init.announce, ...(init.peers ?? [])])
  return await createStarlingRelay(relayPlatform(dataDir), { ...rest, loopback })
}
