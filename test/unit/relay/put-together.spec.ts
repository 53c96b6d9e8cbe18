/**
 * Puts into one mailbox that arrive together (a batch of puts, a burst of
 * gossip) share one synced write: the mailbox's lock is held for the group,
 * not for each put's fsync. The quotas must hold exactly as they do one put
 * at a time, copies of one envelope in a group are stored once, and no put
 * is answered before the synced write holds it. A store on memory-level
 * whose batches can be held at a gate (a slow disk).
 */
import assert from 'node:assert/strict'
import { toHex } from '../../../src/crypto/bytes.js'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { EnvelopeStore } from '../../../src/relay/index.js'
import { GatedStore, fakeClock, fakeEnvelope, waitFor } from './helpers.js'

const FROM = { source: 'ip4:127.0.0.8' }
const BATCH = 8

function idOf (envelope: Uint8Array): Uint8Array {
  return parseEnvelopeHeader(envelope).id
}

describe('relay/envelope-store: puts of one mailbox that arrive together', () => {
  let level: GatedStore
  const clock = fakeClock(1_800_000_000_000)

  beforeEach(async () => {
    level = new GatedStore()
    await level.open()
  })

  afterEach(async () => {
    level.release()
    await level.close()
  })

  async function outcomes (store: EnvelopeStore, mailbox: Uint8Array, envelopes: Uint8Array[]): Promise<string[]> {
    return await Promise.all(envelopes.map(async e => await store.put(mailbox, idOf(e), e, FROM).then(o => o.duplicate ? 'duplicate' : 'ok', (err: Error & { quota?: string }) => err.quota ?? err.name)))
  }

  it('a batch of puts into one mailbox is one synced write, not one each', async () => {
    const store = new EnvelopeStore(level, { now: clock.now })
    await store.held()
    const mailbox = new Uint8Array(32).fill(1)
    const before = store.commitStats.batches
    assert.deepEqual(await outcomes(store, mailbox, Array.from({ length: BATCH }, () => fakeEnvelope())), Array(BATCH).fill('ok'))
    assert.equal(store.commitStats.batches - before, 1, `${BATCH} puts into one mailbox took ${store.commitStats.batches - before} synced writes`)
    assert.equal((await store.usage(mailbox)).count, BATCH)
  })

  it('a batch that would overflow the mailbox\'s quota, or a source\'s share of it, stores exactly up to it and refuses the rest by name, before and after a restart', async () => {
    const init = { now: clock.now, maxEnvelopesPerMailbox: 5, maxEnvelopesPerMailboxPerSource: 3 }
    let store = new EnvelopeStore(level, init)
    const full = new Uint8Array(32).fill(2)
    // Sources of their own: only the mailbox's quota applies.
    const put = async (e: Uint8Array, i: number): Promise<string> => await store.put(full, idOf(e), e, { source: `ip4:10.0.0.${i}` }).then(() => 'ok', (err: Error & { quota?: string }) => err.quota ?? err.name)
    assert.deepEqual(await Promise.all(Array.from({ length: BATCH }, async (_, i) => await put(fakeEnvelope(), i))), [...Array(5).fill('ok'), ...Array(3).fill('mailbox-full')])
    assert.equal((await store.usage(full)).count, 5)

    const shared = new Uint8Array(32).fill(3)
    assert.deepEqual(await outcomes(store, shared, Array.from({ length: BATCH }, () => fakeEnvelope())), [...Array(3).fill('ok'), ...Array(5).fill('mailbox-share')])
    assert.equal((await store.fetch(shared, undefined, 100, 1 << 20)).envelopes.length, 3)

    store = new EnvelopeStore(level, init)
    assert.deepEqual(await outcomes(store, shared, [fakeEnvelope()]), ['mailbox-share'])
    assert.deepEqual(await Promise.all([put(fakeEnvelope(), 9)]), ['mailbox-full'])
    assert.deepEqual({ ...await store.usage(full) }, { count: 5, bytes: 5 * 401 })
  })

  it('nothing is answered before the synced write holds it; copies of one envelope in a group are stored once', async () => {
    const store = new EnvelopeStore(level, { now: clock.now })
    await store.held()
    const mailbox = new Uint8Array(32).fill(4)
    const envelopes = Array.from({ length: BATCH - 2 }, () => fakeEnvelope())
    const twice = [...envelopes, envelopes[0], envelopes[1]]
    level.hold = true
    const answered: string[] = []
    const puts = twice.map(async e => await store.put(mailbox, idOf(e), e, FROM).then(o => { answered.push(o.duplicate ? 'duplicate' : 'ok'); return o }))
    await waitFor('the synced write under way', () => level.held > 0)
    for (let i = 0; i < 20; i++) await new Promise(resolve => setImmediate(resolve))
    assert.deepEqual(answered, [], 'a put was answered before its synced write')
    level.release()
    const done = await Promise.all(puts)
    assert.deepEqual(answered.sort(), [...Array(2).fill('duplicate'), ...Array(BATCH - 2).fill('ok')])
    assert.equal(toHex(done[BATCH - 2].hash as Uint8Array), toHex(done[0].hash as Uint8Array))
    assert.equal(done[BATCH - 2].storedAt, done[0].storedAt)
    assert.equal((await store.usage(mailbox)).count, BATCH - 2)
    assert.equal((await store.fetch(mailbox, undefined, 100, 1 << 20)).envelopes.length, BATCH - 2)
  })
})
