/**
 * A store server that stops (the relay got SIGTERM) while a put is being
 * stored: it finishes that put, writes its receipt, and only then lets the
 * relay close the connections and the store. New requests are refused.
 * Real libp2p nodes on 127.0.0.1; the backend's write is held by a gate
 * so that the put is under way when the server stops, whatever the load.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { StoreClient } from '../../../../src/protocols/store/client.js'
import { StoreServer } from '../../../../src/protocols/store/store.js'
import type { PutOutcome, StoreBackend, StoreOp } from '../../../../src/protocols/store/store.js'
import { fakeEnvelope, startUser, waitFor } from '../../relay/helpers.js'

/** A backend whose puts wait until the test opens the gate. */
function gatedBackend (): { backend: StoreBackend, started: () => number, open: () => void } {
  let opened!: () => void
  const gate = new Promise<void>(resolve => { opened = resolve })
  let started = 0
  const backend: StoreBackend = {
    async put (): Promise<PutOutcome> {
      started++
      await gate
      return { storedAt: 1, expiresAt: 2, duplicate: false }
    },
    async fetch () { return { envelopes: [], cursor: new Uint8Array(0), more: false } },
    async delete () { return 0 }
  }
  return { backend, started: () => started, open: opened }
}

describe('protocols/store: a server that stops finishes the requests under way', function () {
  this.timeout(30_000)
  const nodes: Libp2p[] = []
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  it('stop() resolves only after the put under way is stored and its receipt written; later puts are refused', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const relay = await startUser(privateKey, ['/ip4/127.0.0.1/tcp/0'])
    const user = await startUser()
    nodes.push(relay, user)
    const gated = gatedBackend()
    const timed: StoreOp[] = []
    const server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, { backend: gated.backend, onRequest: (op) => { timed.push(op) } })
    await server.start()
    const client = new StoreClient(user)
    const put = client.put(relay.getMultiaddrs(), new Uint8Array(32), fakeEnvelope())
    await waitFor('the put to reach the backend', () => gated.started() === 1)

    let stopped = false
    const stopping = server.stop().then(() => { stopped = true })
    // Give the stop every chance to return early: many turns of the event loop, no wall-clock bound.
    for (let i = 0; i < 50; i++) await new Promise(resolve => setImmediate(resolve))
    assert.equal(stopped, false, 'stop() returned while a put was being stored')

    gated.open()
    const receipt = await put
    assert.ok(receipt.relay.equals(relay.peerId), 'the sender got the receipt of the put under way')
    await stopping
    assert.equal(stopped, true)
    assert.deepEqual(timed, ['put'], 'the answered put was timed')
    // Once stopped, nothing new is taken.
    await assert.rejects(new StoreClient(user).put(relay.getMultiaddrs(), new Uint8Array(32), fakeEnvelope()))
    assert.equal(gated.started(), 1)
    await client.close()
  })

  it('a frame read just as the drain begins is not taken: no put starts after stop() resolved, and the sender gets no receipt', async () => {
    const privateKey = await generateKeyPair('Ed25519')
    const relay = await startUser(privateKey, ['/ip4/127.0.0.1/tcp/0'])
    const user = await startUser()
    nodes.push(relay, user)
    let stopped = false
    const afterStop: number[] = []
    const backend: StoreBackend = {
      async put (): Promise<PutOutcome> {
        if (stopped) afterStop.push(1)
        return { storedAt: 1, expiresAt: 2, duplicate: false }
      },
      async fetch () { return { envelopes: [], cursor: new Uint8Array(0), more: false } },
      async delete () { return 0 }
    }
    const server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, { backend })
    await server.start()
    // The drain begins in the turn the frame arrives, between its read and its submission (as a SIGTERM handler's promise chain can).
    let stopping: Promise<void> | undefined
    const hooked = server as unknown as { nextFrame: (...args: unknown[]) => Promise<unknown> }
    const read = hooked.nextFrame.bind(server)
    hooked.nextFrame = async (...args) => {
      const frame = await read(...args)
      stopping ??= server.stop().then(() => { stopped = true })
      return frame
    }
    const client = new StoreClient(user)
    const put = client.put(relay.getMultiaddrs(), new Uint8Array(32), fakeEnvelope())
    // Asserted below; on a busy machine it can reject before the test reaches that line, and a rejection with no handler yet fails the run as uncaught.
    put.catch(() => {})
    await waitFor('the drain to begin', () => stopping !== undefined)
    await stopping
    await assert.rejects(put, 'no receipt for a request the stopping server did not take')
    for (let i = 0; i < 50; i++) await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(afterStop, [], 'a put was answered after stop() resolved')
    await client.close()
  })
})
