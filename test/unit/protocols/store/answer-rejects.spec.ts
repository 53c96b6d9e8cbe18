/**
 * A request whose answer rejects (a fault in the relay's own code or its
 * store, not a refusal) must cost at most its stream, never the process:
 * Node ends a process on a promise rejected with nobody listening, and the
 * pipeline chains every request's answer into a combined promise that, for
 * the last request of a stream, nobody else waits on. Attacked twice: on a
 * {@link StreamPipeline} whose answer step throws, and on a real
 * {@link StoreServer} whose store rejects with no reason at all (what
 * some callback adapters do), single put and batch alike.
 */
import assert from 'node:assert/strict'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { lpStream } from '@libp2p/utils'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { STORE_PROTOCOL, wire } from '../../../../src/protocols/store/index.js'
import { SourceSlots } from '../../../../src/protocols/store/in-flight.js'
import { StreamPipeline } from '../../../../src/protocols/store/pipeline.js'
import { StoreRequest, StoreResponse } from '../../../../src/protocols/store/pb/store.js'
import { ok } from '../../../../src/protocols/store/responses.js'
import { StoreServer } from '../../../../src/protocols/store/store.js'
import type { PutOutcome, StoreBackend } from '../../../../src/protocols/store/store.js'
import { fakeEnvelope, startUser } from '../../relay/helpers.js'

/** Many event-loop turns: Node reports an unhandled rejection within one. */
async function turns (): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
}

/** Runs `body` with unhandled rejections collected instead of reported (mocha's listeners are put back after). */
async function collectingUnhandled (body: () => Promise<void>): Promise<unknown[]> {
  const unhandled: unknown[] = []
  const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
  const mochaListeners = process.listeners('unhandledRejection')
  process.removeAllListeners('unhandledRejection')
  process.on('unhandledRejection', onUnhandled)
  try {
    await body()
    await turns()
  } finally {
    process.off('unhandledRejection', onUnhandled)
    for (const l of mochaListeners) process.on('unhandledRejection', l)
  }
  return unhandled
}

function put (mailbox = new Uint8Array(32)): StoreRequest {
  return { put: { mailbox: wire(mailbox), envelope: wire(fakeEnvelope(300)) } }
}

describe('protocols/store: an answer that rejects', function () {
  this.timeout(60_000)

  it('a pipeline whose answer step throws a TypeError: no unhandled rejection, that stream is dropped and gives its slots back, another stream is answered', async () => {
    const slots = new SourceSlots(32)
    const pipeline = (answer: (request: StoreRequest) => Promise<StoreResponse>, written: StoreResponse[]): StreamPipeline => new StreamPipeline({
      maxPipelined: 8,
      slots,
      source: 'ip4:127.0.0.9',
      answer,
      write: async (response) => { written.push(response) },
      track: () => {}
    })
    const broken: StoreResponse[] = []
    const healthy: StoreResponse[] = []
    const bad = pipeline(async () => { throw new TypeError('the store is not what it was') }, broken)
    const good = pipeline(async () => ok(), healthy)
    const unhandled = await collectingUnhandled(async () => {
      // A put alone, then a put after it: the last one is what nothing else waits on.
      await bad.submit(put())
      await bad.submit(put())
      await assert.rejects(bad.settled(), { name: 'TypeError' })
    })
    assert.deepEqual(unhandled.map(e => (e as Error).name), [], 'a rejection nobody handled (it would end the process)')
    assert.deepEqual(broken, [], 'nothing is written on a stream whose answer failed')
    assert.equal(slots.used('ip4:127.0.0.9'), 0, 'the failed requests gave their slots back')
    await good.submit(put())
    await good.settled()
    assert.deepEqual(healthy.map(r => r.status), [StoreResponse.Status.OK])
  })

  describe('on a store server', function () {
    const nodes: Libp2p[] = []
    let privateKey: PrivateKey
    let relay: Libp2p
    let server: StoreServer | undefined

    beforeEach(async () => {
      privateKey = await generateKeyPair('Ed25519')
      relay = await startUser(privateKey, ['/ip4/127.0.0.1/tcp/0'])
      nodes.push(relay)
    })

    afterEach(async () => {
      await server?.stop()
      server = undefined
      await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
    })

    it('a store that rejects with no reason (or a TypeError): each put is refused as an internal error, no unhandled rejection, the stream and the node keep serving', async () => {
      const faulty = new Uint8Array(32).fill(0xee)
      const typeError = new Uint8Array(32).fill(0xdd)
      const backend: StoreBackend = {
        async put (mailbox): Promise<PutOutcome> {
          // The fault under test: a rejection without an Error.
          if (mailbox[0] === 0xee) return await Promise.reject()
          if (mailbox[0] === 0xdd) throw new TypeError('cannot read properties of undefined')
          return { storedAt: 1, expiresAt: 2, duplicate: false }
        },
        async fetch () { return { envelopes: [], cursor: new Uint8Array(0), more: false } },
        async delete () { return 0 }
      }
      server = new StoreServer({ registrar: relay, peerId: relay.peerId, privateKey }, { backend, rateLimit: { burst: 10_000 } })
      await server.start()
      const user = await startUser()
      nodes.push(user)
      const stream = await (await user.dial(relay.getMultiaddrs())).newStream(STORE_PROTOCOL)
      const lp = lpStream(stream, { maxDataLength: 1 << 22 })
      const requests: StoreRequest[] = [
        put(faulty),
        put(typeError),
        { puts: { puts: [put(faulty).put, put().put, put(typeError).put].map(p => p as NonNullable<StoreRequest['put']>), treeReceipts: false } },
        put()
      ]
      let answers: StoreResponse[] = []
      const unhandled = await collectingUnhandled(async () => {
        await lp.writeV(requests.map(r => StoreRequest.encode(r)))
        answers = []
        for (let i = 0; i < requests.length; i++) answers.push(StoreResponse.decode(await lp.read({ signal: AbortSignal.timeout(20_000) })))
      })
      assert.deepEqual(unhandled.length, 0, `a rejection nobody handled (it would end the process): ${String(unhandled[0])}`)
      const { INTERNAL_ERROR, OK } = StoreResponse.Status
      assert.deepEqual(answers.map(a => a.status), [INTERNAL_ERROR, INTERNAL_ERROR, OK, OK])
      assert.deepEqual(answers[2].results.map(r => r.status), [INTERNAL_ERROR, OK, INTERNAL_ERROR])
      assert.equal(server.metrics.droppedStreams, 0)

      // Another stream of another user is served as ever.
      const other = await startUser()
      nodes.push(other)
      const fresh = lpStream(await (await other.dial(relay.getMultiaddrs())).newStream(STORE_PROTOCOL), { maxDataLength: 1 << 22 })
      await fresh.write(StoreRequest.encode(put()))
      assert.equal(StoreResponse.decode(await fresh.read({ signal: AbortSignal.timeout(20_000) })).status, OK)
    })
  })
})
