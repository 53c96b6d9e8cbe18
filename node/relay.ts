/**
 * `starling relay`: the process a community operator runs. TCP and WebSocket
 * listeners, a DHT server on /starling/kad/1.0.0 whose records survive
 * restarts (LevelDB datastore), a circuit relay v2 server with limits set
 * for messaging, gossipsub, identify and ping. Keeps its peer id across
 * restarts.
 */
import { join } from 'node:path'
import { LevelDatastore } from 'datastore-level'
import { gossipsub } from '@libp2p/gossipsub'
import { createStarlingNode } from '../src/net/node.js'
import type { StarlingLibp2p } from '../src/net/node.js'
import { starlingDhtValidators } from '../src/identity/index.js'
import { Files, ensureDir } from './data-dir.js'
import { allLocal, loadOrCreatePeerKey, nodeCrypto, nodeTransports } from './platform.js'


export interface RelayInit {
  dataDir: string
  listen: string[]
  announce: string[]
}

/** A running relay. */
export interface Relay {
  node: StarlingLibp2p
  stop(): Promise<void>
}

/** Starts a relay. */
export async function startRelay (init: RelayInit): Promise<Relay> {
  await ensureDir(init.dataDir)
  const privateKey = await loadOrCreatePeerKey(join(init.dataDir, Files.relayKey))
  const datastore = new LevelDatastore(join(init.dataDir, Files.datastore))
  await datastore.open()
  const crypto = nodeCrypto()
  const { validators, selectors } = starlingDhtValidators(crypto, { now: Date.now })
  const local = allLocal([...init.listen, ...init.announce])
  const node = await createStarlingNode({
    privateKey,
    role: 'relay',
    transports: nodeTransports(),
    listen: init.listen,
    announce: init.announce,
    validators,
    selectors,
    loopback: local,
    datastore,
    extraServices: {
      // Same-IP penalties break meshes when many peers share 127.0.0.1.
      pubsub: gossipsub({ scoreParams: local ? { IPColocationFactorWeight: 0 } : {} })
    }
  })
  return {
    node,
    async stop () {
      await node.stop()
      await datastore.close()
    }
  }
}
