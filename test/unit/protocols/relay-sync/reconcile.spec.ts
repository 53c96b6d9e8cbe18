/**
 * Reconciliation between two relays' stores (memory-level, fake clock)
 * over an in-memory stream: what it costs (identical sets one request;
 * n differences O(n log N)), what it carries (envelopes with their
 * stored-at time, charged to the linked relay), and deletes: a relay that
 * missed one applies it, and a deleted envelope never comes back.
 */
import assert from 'node:assert/strict'
import { parseEnvelopeHeader } from '../../../../src/crypto/envelope.js'
import { EnvelopeStore, TOMBSTONE_CHARGE, chargeOf } from '../../../../src/relay/index.js'
import type { LevelStore } from '../../../../src/store/index.js'
import { device, exchange, fakeClock, fakeEnvelope, holds, putMany, randomMailbox, signedDelete, syncRelay } from './helpers.js'
import type { FakeClock, SyncRelay } from './helpers.js'

const DAY = 24 * 60 * 60 * 1000

/** Two relays holding the same `n` envelopes: a quarter in one mailbox, the rest five to a mailbox. */
async function twins (clock: FakeClock, n: number): Promise<{ a: SyncRelay, b: SyncRelay, big: Uint8Array }> {
  const a = await syncRelay(clock)
  const b = await syncRelay(clock)
  const big = randomMailbox()
  await putMany([a, b], big, n / 4)
  for (let i = 0; i < (n * 3) / 4 / 5; i++) await putMany([a, b], randomMailbox(), 5)
  return { a, b, big }
}

describe('relay-sync: reconciliation', function () {
  this.timeout(120_000)
  let clock: FakeClock

  beforeEach(() => {
    clock = fakeClock()
  })

  it('identical sets cost one request and about a hundred bytes, whatever their size', async () => {
    for (const n of [0, 400, 4000]) {
      const { a, b } = await twins(clock, n)
      const { result, channel } = await exchange(b, a, clock)
      assert.equal(channel.stats.requests, 1, `${n} items`)
      assert.ok(channel.stats.bytesIn + channel.stats.bytesOut < 100, `${channel.stats.bytesIn + channel.stats.bytesOut} bytes for ${n} items`)
      assert.equal(result.complete, true)
      assert.equal(result.shardsDiffering, 0)
    }
  })

  it('n differences among N items cost O(n log N) bytes and O(log N) requests per shard; all arrive', async () => {
    const costs: Array<{ N: number, n: number, bytes: number, requests: number }> = []
    for (const N of [400, 4000]) {
      const { a, b, big } = await twins(clock, N)
      for (const n of [1, 8, 64]) {
        // Half into the big mailbox (a path shared by a quarter of the items), half into fresh ones.
        const added: Array<{ mailbox: Uint8Array, envelope: Uint8Array }> = []
        for (let i = 0; i < n; i++) {
          const mailbox = i % 2 === 0 ? big : randomMailbox()
          added.push({ mailbox, envelope: (await putMany([a], mailbox, 1))[0] })
        }
        const { result, channel } = await exchange(b, a, clock)
        assert.equal(result.envelopes.stored, n)
        for (const { mailbox, envelope } of added) assert.ok(await holds(b, mailbox, envelope))
        costs.push({ N, n, bytes: channel.stats.bytesIn + channel.stats.bytesOut, requests: channel.stats.requests })
        // Identical again: one request.
        assert.equal((await exchange(b, a, clock)).channel.stats.requests, 1)
      }
    }
    for (const { N, n, bytes, requests } of costs) {
      const depth = Math.ceil(Math.log(N) / Math.log(16))
      // Each difference: its envelope (~300 bytes) plus a bounded cost per level of the tree.
      assert.ok(bytes <= 1000 + n * (300 + 600 * depth), `N=${N} n=${n}: ${bytes} bytes`)
      // Per shard that differs: roots, one expand per level, lists and fetches in batches.
      assert.ok(requests <= 1 + 4 * (depth + 4) + Math.ceil(n / 64) * 4, `N=${N} n=${n}: ${requests} requests`)
    }
    // Ten times the items costs about the same per difference, not ten times as much.
    const at = (N: number, n: number): number => costs.find(c => c.N === N && c.n === n)?.bytes ?? 0
    assert.ok(at(4000, 64) < 2 * at(400, 64), `64 differences: ${at(400, 64)} bytes among 400, ${at(4000, 64)} among 4,000`)
  })

  it('an envelope held by one relay only reaches the other with its stored-at time, charged to the linked relay', async () => {
    const a = await syncRelay(clock)
    const b = await syncRelay(clock)
    const mailbox = randomMailbox()
    const [envelope] = await putMany([a], mailbox, 1, 1000)
    const storedAt = clock.t
    clock.t += DAY
    const { result } = await exchange(b, a, clock)
    assert.equal(result.envelopes.stored, 1)
    const page = await b.store.fetch(mailbox, undefined, 10, 1 << 20)
    assert.deepEqual(page.envelopes.map(e => [Buffer.from(e.envelope).equals(Buffer.from(envelope)), e.storedAt]), [[true, storedAt]])
    // It expires on B when it does on A: a retention after A stored it, not after B fetched it.
    clock.t = storedAt + b.store.retentionMs + 1
    assert.equal(await b.store.sweep(), 1)
    assert.deepEqual(await b.store.held(), { count: 0, bytes: 0 })
  })

  it('junk under a real envelope\'s id does not hide it: a relay holding the junk fetches the real envelope beside it, and the reverse', async () => {
    const a = await syncRelay(clock)
    const b = await syncRelay(clock)
    const mailbox = randomMailbox()
    const [real] = await putMany([a], mailbox, 1)
    const junk = fakeEnvelope(300)
    junk.set(parseEnvelopeHeader(real).id, 1)
    await b.store.put(mailbox, parseEnvelopeHeader(junk).id, junk, { source: 'relay:evil', linked: true })
    const { result } = await exchange(b, a, clock)
    assert.equal(result.envelopes.stored, 1)
    assert.ok(await holds(b, mailbox, real), 'B fetched the real envelope')
    assert.ok(await holds(b, mailbox, junk))
    await exchange(a, b, clock)
    assert.equal((await a.store.usage(mailbox)).count, 2, 'each relay holds both versions, each under its own hash')
    assert.equal((await exchange(b, a, clock)).channel.stats.requests, 1, 'identical sets again')
  })

  it('deletes win over a stale copy: the relay that missed a delete applies it, and neither fetches the envelope back', async () => {
    const a = await syncRelay(clock)
    const b = await syncRelay(clock)
    const owner = await device()
    const envelopes = await putMany([a, b], owner.mailbox, 3)
    // The owner deletes two on A while B is away (no gossip reaches B).
    const proof = await signedDelete(owner, envelopes.slice(0, 2), a.peer, clock.now())
    assert.equal(await a.store.delete(owner.mailbox, proof.refs, proof), 2)
    clock.t += 60_000

    // A pulls from B first: B still holds the two, A holds their tombstones: nothing comes back.
    const first = await exchange(a, b, clock)
    assert.equal(first.result.envelopes.stored, 0)
    assert.equal(first.result.envelopes.fetched, 0)
    for (const e of envelopes.slice(0, 2)) assert.equal(await holds(a, owner.mailbox, e), false)

    // B pulls from A: it takes the signed delete, checks it, and removes its copies.
    const second = await exchange(b, a, clock)
    assert.deepEqual(second.result.deletes, { fetched: 1, tombstones: 2, removed: 2, expired: 0, missing: 0 })
    for (const e of envelopes.slice(0, 2)) assert.equal(await holds(b, owner.mailbox, e), false)
    assert.equal(await holds(b, owner.mailbox, envelopes[2]), true)
    // The sets are the same now, tombstones included: one request each way.
    assert.equal((await exchange(a, b, clock)).channel.stats.requests, 1)
    assert.equal((await exchange(b, a, clock)).channel.stats.requests, 1)

    // A sender (or gossip) handing a deleted envelope back is refused by both.
    for (const relay of [a, b]) {
      await assert.rejects(relay.store.put(owner.mailbox, parseEnvelopeHeader(envelopes[0]).id, envelopes[0], { source: 'ip4:127.0.0.9' }), { name: 'DeletedByOwnerError' })
    }
    // B's tombstones replaced envelopes it held: they keep their sender's count and a tombstone's charge (the proof's bytes once).
    assert.deepEqual(await b.store.held(), { count: 3, bytes: chargeOf(envelopes[2].length) + 2 * TOMBSTONE_CHARGE + proof.signed.length })
  })

  it('a tombstone for an envelope this relay never held is kept too, charged to the linked relay, and expires with its delete', async () => {
    const a = await syncRelay(clock)
    const b = await syncRelay(clock)
    const owner = await device()
    const [envelope] = await putMany([a], owner.mailbox, 1)
    const proof = await signedDelete(owner, [envelope], a.peer, clock.now())
    await a.store.delete(owner.mailbox, proof.refs, proof)
    const { result } = await exchange(b, a, clock)
    assert.equal(result.deletes.tombstones, 1)
    assert.equal(result.deletes.removed, 0)
    assert.deepEqual(await b.store.held(), { count: 1, bytes: TOMBSTONE_CHARGE + proof.signed.length })
    // A third relay's stale copy would now be refused by B as well.
    await assert.rejects(b.store.put(owner.mailbox, parseEnvelopeHeader(envelope).id, envelope, { source: 'ip4:127.0.0.9' }), { name: 'DeletedByOwnerError' })
    // Kept until the envelope would have expired anywhere, then swept with its proof, and its charge given back.
    clock.t += b.store.retentionMs
    await b.store.sweep()
    assert.equal(b.store.metrics.tombstonesExpired, 0)
    clock.t += b.store.tombstoneLifetimeMs - b.store.retentionMs
    await b.store.sweep()
    assert.equal(b.store.metrics.tombstonesExpired, 1)
    assert.deepEqual(await b.store.held(), { count: 0, bytes: 0 })
    const left: string[] = []
    for await (const [key] of b.level.iterate('relay')) left.push(String.fromCharCode(key[0]))
    assert.deepEqual(left.sort(), ['K', 'U'])
  })

  it('a restarted relay builds its tree in the background: puts do not wait for it, and what changes meanwhile is counted once', async () => {
    const { a } = await twins(clock, 4000)
    const owner = await device()
    const envelopes = await putMany([a], owner.mailbox, 60)
    const restarted = new EnvelopeStore(a.level as LevelStore, { now: clock.now })
    // The first reconciliation waits for the tree; puts and deletes go on meanwhile.
    const order: string[] = []
    const roots = restarted.sync.roots({ units: 0 }).then(() => { order.push('tree') })
    const fresh = fakeEnvelope()
    await restarted.put(randomMailbox(), parseEnvelopeHeader(fresh).id, fresh, { source: 'ip4:127.0.0.9' })
    order.push('put')
    const proof = await signedDelete(owner, envelopes.slice(0, 30), a.peer, clock.now())
    const changes = [
      ...Array.from({ length: 200 }, async () => {
        const e = fakeEnvelope()
        await restarted.put(randomMailbox(), parseEnvelopeHeader(e).id, e, { source: 'ip4:127.0.0.9' })
      }),
      restarted.delete(owner.mailbox, proof.refs, proof)
    ]
    await Promise.all([roots, ...changes])
    assert.equal(order[0], 'put')
    // A third store reads everything from disk at rest: the tree built under changes agrees with it.
    const atRest = new EnvelopeStore(a.level as LevelStore, { now: clock.now })
    assert.deepEqual(await restarted.sync.roots({ units: 0 }), await atRest.sync.roots({ units: 0 }))
    assert.equal((await restarted.sync.roots({ units: 0 })).reduce((n, r) => n + r.count, 0), 4000 + 60 + 1 + 200)
  })

  it('a relay that restarts rebuilds its tree from disk: the sets still compare equal in one request', async () => {
    const { a, b } = await twins(clock, 200)
    const owner = await device()
    const envelopes = await putMany([a, b], owner.mailbox, 4)
    const proof = await signedDelete(owner, envelopes.slice(0, 2), a.peer, clock.now())
    await a.store.delete(owner.mailbox, proof.refs, proof)
    await b.store.delete(owner.mailbox, proof.refs, proof)
    // A fresh EnvelopeStore over the same data: what a restarted relay opens.
    const reopened = { ...b, store: new EnvelopeStore(b.level as LevelStore, { now: clock.now }) }
    assert.equal((await exchange(reopened, a, clock)).channel.stats.requests, 1)
    assert.equal((await exchange(a, reopened, clock)).channel.stats.requests, 1)
  })
})
