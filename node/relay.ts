/**
 * `starling relay`: the process a community operator runs. TCP and WebSocket
 * listeners, a DHT server on /starling/kad/1.0.0 whose records survive
 * restarts (LevelDB datastore), a circuit relay v2 server with limits set
 * for messaging, gossipsub mailbox shards and `/starling/store/1.0.0`
 * (sealed envelopes held for offline devices in LevelDB, with quotas and
 * retention), identify and ping. Keeps its peer id and its envelopes across
 * restarts.
 */
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { gossipsub } from '@libp2p/gossipsub'
import { createStarlingNode } from '../src/net/node.js'
import type { StarlingLibp2p } from '../src/net/node.js'
import { starlingDhtValidators } from '../src/identity/index.js'
import { EnvelopeStore, mailboxGossipsubOptions, mailboxRelay } from '../src/relay/index.js'
import type { MailboxRelay } from '../src/relay/index.js'
import { LevelStore } from '../src/store/index.js'
import { Files, makePrivate } from './data-dir.js'
import { allLocal, loadOrCreatePeerKey, nodeCrypto, nodeNoiseCrypto, nodeTransports } from './platform.js'


export interface RelayInit {
  dataDir: string
  listen: string[]
  announce: string[]
  /** Other relays to connect to: one DHT and one mailbox gossip mesh among them. */
  peers?: string[]
}

/** A running relay. */
export interface Relay {
  node: StarlingLibp2p
  /** The offline-message service (store protocol, mailbox gossip, metrics). */
  mailbox: MailboxRelay
  stop(): Promise<void>
}

/** Starts a relay. */
export async function startRelay (init: RelayInit): Promise<Relay> {
  // The relay's key, DHT records and envelopes are the operator's alone, now and in what is written later.
  await makePrivate(init.dataDir)
  const privateKey = await loadOrCreatePeerKey(join(init.dataDir, Files.relayKey))
  const datastore = new LevelDatastore(join(init.dataDir, Files.datastore))
  await datastore.open()
  const store = new LevelStore(join(init.dataDir, Files.store))
  await store.open()
  const envelopes = new EnvelopeStore(store)
  const crypto = nodeCrypto()
  const { validators, selectors } = starlingDhtValidators(crypto, { now: Date.now })
  const local = allLocal([...init.listen, ...init.announce, ...(init.peers ?? [])])
  let node: StarlingLibp2p
  try {
    node = await createStarlingNode({
      privateKey,
      role: 'relay',
      transports: nodeTransports(),
      noiseCrypto: nodeNoiseCrypto(),
      listen: init.listen,
      announce: init.announce,
      bootstrap: init.peers,
      validators,
      selectors,
      loopback: local,
      datastore,
      extraServices: {
        // Same-IP penalties break meshes when many peers share 127.0.0.1.
        pubsub: gossipsub(mailboxGossipsubOptions({ loopback: local })),
        // After pubsub: the mailbox service takes gossipsub from the components.
        mailbox: mailboxRelay({ store: envelopes })
      }
    })
  } catch (err) {
    await store.close()
    await datastore.close()
    throw err
  }
  return {
    node,
    mailbox: node.services.mailbox as MailboxRelay,
    async stop () {
      await node.stop()
      await store.close()
      await datastore.close()
    }
  }
}
