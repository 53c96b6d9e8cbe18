/**
 * The operator's latency callback is not part of the service: one that
 * throws (a metrics library refusing a label, say) must not drop the
 * stream it was called for, nor fail the puts behind it on that stream.
 * Real libp2p nodes on 127.0.0.1.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { StoreClient } from '../../../../src/protocols/store/client.js'
import { StoreServer } from '../../../../src/protocols/store/store.js'
import type { PutOutcome, StoreBackend } from '../../../../src/protocols/store/store.js'
import { fakeEnvelope, startUser } from '../../relay/helpers.js'

const backend: StoreBackend = {
  async put (): Promise<PutOutcome> { return { storedAt: 1, expiresAt: 2, duplicate: false } },
  async fetch () { return { envelopes: [], cursor: new Uint8Array(0), more: false } },
  async delete () { return 0 }
}

describe('protocols/store: a latency callback that throws', function () {
  this.timeout(30_000)
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  it('drops no stream: every put on the stream gets its receipt, and each was offered to the callback', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const relay = await startUser(privateKey, ['/ip4/127.0.0.1/tcp/0'])
    const user = await startUser()
    nodes.push(relay, user)
    let calls = 0
    const server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, {
      backend,
      onRequest: () => {
        calls++
        throw new Error('a metrics library refused the label')
      }
    })
    await server.start()
    const client = new StoreClient(user)
    for (let i = 0; i < 3; i++) {
      const receipt = await client.put(relay.getMultiaddrs(), new Uint8Array(32), fakeEnvelope())
      assert.ok(receipt.relay.equals(relay.peerId))
    }
    // Together on the same stream, too.
    await Promise.all(Array.from({ length: 4 }, async () => await client.put(relay.getMultiaddrs(), new Uint8Array(32), fakeEnvelope())))
    assert.equal(server.metrics.droppedStreams, 0)
    assert.equal(calls, 7)
    await client.close()
    await server.stop()
  })
})
