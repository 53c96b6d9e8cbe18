/** Reading a DHT record (src/net/dht-read.ts): "none" only when a server said so; a read nobody answered is tried again, then a failure. */
import assert from 'node:assert/strict'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { KadDHT, QueryEvent } from '@libp2p/kad-dht'
import { readDhtRecord } from '../../../src/net/dht-read.js'

type Outcome = 'value' | 'none' | 'error' | 'throw' | 'nobody'

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
        if (outcome === 'throw') throw new Error('query aborted by kad-dht')
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

  it('a read that found records keeps them when kad-dht then throws (a correction to a server with an older record failed): the best by the selector, not "none"', async () => {
    // kad-dht's get collects every server's record, sends the best to the
    // servers holding an older one, and yields the value only after: one
    // correction that fails throws QueryError and the value is never yielded.
    // A server that missed the owner's latest put (it was down) is exactly
    // such a server, so a relay down made handles "not found".
    const path = { index: 0, queued: 0, running: 0, total: 2 }
    let calls = 0
    const d = {
      get: async function * (): AsyncGenerator<QueryEvent> {
        calls++
        const response = (value: number): QueryEvent => ({ name: 'PEER_RESPONSE', type: 1, from, messageType: 1, messageName: 'GET_VALUE', closer: [], providers: [], record: { key: Uint8Array.of(1), value: Uint8Array.of(value), timeReceived: new Date() }, path }) as unknown as QueryEvent
        yield response(5)
        yield response(9)
        throw Object.assign(new Error('Could not send correction'), { name: 'QueryError' })
      }
    }
    const picked: Uint8Array[][] = []
    const value = await readDhtRecord(d as never, Uint8Array.of(1), {
      signal: signal(),
      retryMs: 1,
      select: async (records) => { picked.push(records); return records.findIndex(r => r[0] === 9) }
    })
    assert.deepEqual(value, Uint8Array.of(9))
    assert.deepEqual(picked, [[Uint8Array.of(5), Uint8Array.of(9)]])
    assert.equal(calls, 1)
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
