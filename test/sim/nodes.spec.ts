/**
 * The simulation's relay (test/sim/nodes.ts) crashes and comes back as a
 * real one does (node/relay.ts keeps its DHT records on disk): with the DHT
 * records it held. A relay that came back empty answered "none" for the
 * records of handles published before its crash.
 */
import assert from 'node:assert/strict'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Key } from 'interface-datastore'
import { SimRelay } from './nodes.js'
import { nodeCrypto } from '../../node/platform.js'

describe('simulation: a relay that crashes', function () {
  this.timeout(60_000)

  it('comes back with the DHT records it held', async () => {
    const key = await generateKeyPair('Ed25519')
    const relay = new SimRelay(
      { index: 0, key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), peerId: peerIdFromPrivateKey(key).toString(), port: 0, worker: 0 },
      { crypto: nodeCrypto(), latencyMs: 0, runId: `spec-${process.pid}`, peers: [], keepAliveIntervalMs: 10_000, syncIntervalMs: 180_000 }
    )
    const record = new Key('/dht/record/sim-spec')
    await relay.start()
    try {
      const before = relay.relay?.datastore
      assert.ok(before != null, 'the relay has no DHT datastore of its own')
      await before.put(record, new Uint8Array([1, 2, 3]))
      await relay.stop()
      await relay.start()
      const after = relay.relay?.datastore
      assert.ok(after != null)
      assert.deepEqual([...await after.get(record)], [1, 2, 3])
    } finally {
      await relay.stop()
    }
  })
})
