/** Reading a DHT record (src/net/dht-read.ts): "none" only when a server said so; a read nobody answered is tried again, then a failure. */
import assert from 'node:assert/strict'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'
import { readDhtRecord } from '../../../src/net/dht-read.js'

type Outcome = 'value' | 'none' | 'invalid' | 'error' | 'throw' | 'nobody' | 'correction-refused'

describe('net: reading one DHT record', function () {
  let from: Awaited<ReturnType<typeof peerIdFromPrivateKey>>
  before(async () => { from = peerIdFromPrivateKey(await generateKeyPair('Ed25519')) })

  /** A DHT whose successive gets end as `outcomes` say. */
  function dht (outcomes: Outcome[]): Pick<KadDHT, 'get'> & { calls: number } {
    const fake = {
      calls: 0,
      get: async function * (): AsyncGenerator<QueryEvent> {
        const outcome = outcomes[fake.calls++]
        const path = { index: 0, queued: 0, running: 0, total: 1 }
        if (outcome === 'nobody') return
        if (outcome === 'correction-refused') {
          // What kad-dht 16.4 (content-fetching get) does when one server answered with another
          // valid version of the record (an older one it kept) and refuses the correction: the
          // answers come as PEER_RESPONSE events with their records, then, before the best value is
          // yielded, sendCorrectionRecord throws.
          yield { name: 'PEER_RESPONSE', type: 1, from, messageType: 1, messageName: 'GET_VALUE', closer: [], providers: [], record: { value: Uint8Array.of(6) }, path } as unknown as QueryEvent
          yield { name: 'PEER_RESPONSE', type: 1, from, messageType: 1, messageName: 'GET_VALUE', closer: [], providers: [], record: { value: Uint8Array.of(7) }, path } as unknown as QueryEvent
          // The refusing server's own answer to the correction: whatever it likes, never validated by kad-dht.
          yield { name: 'PEER_RESPONSE', type: 1, from, messageType: 0, messageName: 'PUT_VALUE', closer: [], providers: [], record: { value: Uint8Array.of(9) }, path } as unknown as QueryEvent
          throw Object.assign(new Error('Could not send correction'), { name: 'QueryError' })
        }
        if (outcome === 'throw') throw new Error('query aborted by kad-dht')
        if (outcome === 'invalid') {
          // What kad-dht yields for an answer whose record does not validate (peer-routing getValueOrPeers).
          yield { name: 'QUERY_ERROR', type: 3, from, error: Object.assign(new Error('invalid record received, discarded'), { name: 'QueryError' }), path } as unknown as QueryEvent
          return
        }
        if (outcome === 'error') {
          yield { name: 'QUERY_ERROR', type: 3, from, error: new Error('stream reset'), path } as unknown as QueryEvent
          return
        }
        yield { name: 'PEER_RESPONSE', type: 1, from, messageType: 0, messageName: 'GET_VALUE', closer: [], providers: [], path } as unknown as QueryEvent
        if (outcome === 'value') yield { name: 'VALUE', type: 5, from, value: Uint8Array.of(7), path } as unknown as QueryEvent
      }
    }
    return fake as never
  }
  const signal = (): AbortSignal => AbortSignal.timeout(10_000)

  it('returns the value, or undefined when a server answered without one, at the first try', async () => {
    const a = dht(['value'])
    assert.deepEqual(await readDhtRecord(a, Uint8Array.of(1), { signal: signal(), retryMs: 1 }), Uint8Array.of(7))
    const b = dht(['none'])
    assert.equal(await readDhtRecord(b, Uint8Array.of(1), { signal: signal(), retryMs: 1 }), undefined)
    assert.equal(a.calls + b.calls, 2)
  })

  it('a server that answered with a record that does not validate (an expired one) answered: undefined, at the first try', async () => {
    const d = dht(['invalid', 'value'])
    assert.equal(await readDhtRecord(d, Uint8Array.of(1), { signal: signal(), retryMs: 1 }), undefined)
    assert.equal(d.calls, 1)
  })

  it('tries again when no server answered (an error, a thrown query, an empty table), and finds what the next try finds', async () => {
    const d = dht(['error', 'throw', 'value'])
    assert.deepEqual(await readDhtRecord(d, Uint8Array.of(1), { signal: signal(), retryMs: 1 }), Uint8Array.of(7))
    assert.equal(d.calls, 3)
  })

  it('after every try unanswered: DhtUnavailableError naming the last failure, never "none"; the tries are bounded', async () => {
    const d = dht(['error', 'nobody', 'error', 'value'])
    await assert.rejects(readDhtRecord(d, Uint8Array.of(1), { signal: signal(), retryMs: 1 }), (err: Error) => {
      assert.equal(err.name, 'DhtUnavailableError')
      assert.match(err.message, /stream reset/)
      return true
    })
    assert.equal(d.calls, 3)
  })

  it('a server that keeps another version of the record and refuses the correction cannot make a found record read as "none": the newest of the answers is taken', async () => {
    const d = dht(['correction-refused', 'correction-refused', 'correction-refused'])
    // The selector picks the newest valid one (here: the highest byte); the refusing server's answer to the correction is not a candidate.
    const select = async (_key: Uint8Array, records: Uint8Array[]): Promise<number> => records.reduce((best, r, i) => r[0] > records[best][0] ? i : best, 0)
    assert.deepEqual(await readDhtRecord(d, Uint8Array.of(1), { signal: signal(), retryMs: 1, select }), Uint8Array.of(7))
    assert.equal(d.calls, 1)
    // Without a selector, such a read is no answer either: tried again, then DhtUnavailableError, never "none".
    const e = dht(['correction-refused', 'correction-refused', 'correction-refused'])
    await assert.rejects(readDhtRecord(e, Uint8Array.of(1), { signal: signal(), retryMs: 1 }), { name: 'DhtUnavailableError' })
    assert.equal(e.calls, 3)
  })

  it('stops waiting between tries when the signal aborts', async () => {
    const controller = new AbortController()
    const d = dht(['error', 'value'])
    const read = readDhtRecord(d, Uint8Array.of(1), { signal: controller.signal, retryMs: 60_000 })
    setTimeout(() => { controller.abort(new Error('resolution timed out')) }, 5)
    await assert.rejects(read, /resolution timed out/)
    assert.equal(d.calls, 1)
  })
})
