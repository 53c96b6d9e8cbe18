/**
 * relay-sync against hostile peers, over in-memory streams: a stranger is
 * refused before any work; a linked relay that lies (wrong hashes, forged
 * deletes, lists longer than asked, endless descent, answers that trickle)
 * loses the exchange and gets nothing stored; one that asks too much is
 * held to its work budget, which new streams do not reset; one whose
 * tombstones would exceed its budget stops at it. Time is a fake clock.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { lpStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import {
  FINGERPRINT_LENGTH, MAX_LIST_ITEMS, MAX_PATH_NIBBLES, REQUEST_TIMEOUT_MS, StreamChannel, reconcile
} from '../../../../src/protocols/relay-sync/index.js'
import type { ExchangeLimits, SyncSource } from '../../../../src/protocols/relay-sync/index.js'
import { syncTarget } from '../../../../src/relay/index.js'
import { device, exchange, fakeClock, holds, putMany, randomMailbox, responder, signedDelete, syncRelay } from './helpers.js'
import type { FakeClock, SyncRelay } from './helpers.js'

/** `relay`'s store as a sync source, with some methods replaced. */
function lying (relay: SyncRelay, override: Partial<SyncSource>): SyncSource {
  const real = relay.store.sync
  return {
    roots: async (w) => await real.roots(w),
    expand: async (s, p, w) => await real.expand(s, p, w),
    list: async (s, p, a, l, w) => await real.list(s, p, a, l, w),
    envelopes: async (k, m, w) => await real.envelopes(k, m, w),
    deletes: async (k, m, w) => await real.deletes(k, m, w),
    ...override
  }
}

/** `b` pulls from a responder over `source` (a linked relay that may lie). */
async function pullFrom (b: SyncRelay, other: SyncRelay, source: SyncSource, clock: FakeClock, limits: Partial<ExchangeLimits> = {}): Promise<ReturnType<typeof reconcile>> {
  const { connect } = await responder(other, clock, [b.peer], { source })
  const { stream } = await connect(b.peer)
  return await reconcile(new StreamChannel(stream), syncTarget(b.store, other.peer), { limits, now: clock.now })
}

async function ended (stream: Stream): Promise<string> {
  while (stream.status === 'open') await new Promise(resolve => setTimeout(resolve, 5))
  return stream.status
}

describe('relay-sync: hostile peers', function () {
  this.timeout(60_000)
  let clock: FakeClock
  let a: SyncRelay
  let b: SyncRelay

  beforeEach(async () => {
    clock = fakeClock()
    a = await syncRelay(clock)
    b = await syncRelay(clock)
  })

  it('a peer that is not a linked relay is refused before its request is read; the store is never asked', async () => {
    let asked = 0
    const counting = lying(a, { roots: async (w) => { asked++; return await a.store.sync.roots(w) } })
    const { server, connect } = await responder(a, clock, [b.peer], { source: counting })
    const stranger = await syncRelay(clock)
    const { stream, handled } = await connect(stranger.peer)
    await handled
    assert.notEqual(await ended(stream), 'open')
    await assert.rejects(reconcile(new StreamChannel(stream), syncTarget(stranger.store, a.peer)))
    assert.equal(server.metrics.notLinked, 1)
    assert.equal(server.metrics.requests, 0)
    assert.equal(asked, 0)
  })

  it('wrong hashes: an envelope whose bytes are not the ones its key names drops the exchange; nothing is stored', async () => {
    const mailbox = randomMailbox()
    await putMany([a], mailbox, 3)
    const source = lying(a, {
      envelopes: async (keys, max, w) => {
        const answer = await a.store.sync.envelopes(keys, max, w)
        // Same id, other bytes (junk under a real id), the key of the real ones.
        for (const e of answer.envelopes) e.envelope = Uint8Array.from(e.envelope, (x, i) => i > 20 ? x ^ 0xff : x)
        return answer
      }
    })
    await assert.rejects(pullFrom(b, a, source, clock), { name: 'SyncProtocolError', message: /do not hash to its key/ })
    assert.deepEqual(await b.store.held(), { count: 0, bytes: 0 })
  })

  it('a forged delete (signed by someone else than the mailbox owner) drops the exchange; nothing is deleted', async () => {
    const owner = await device()
    const thief = await device()
    const envelopes = await putMany([a, b], owner.mailbox, 2)
    // A keeps a tombstone whose proof is a delete the thief signed for the owner's mailbox.
    const forged = await signedDelete({ key: thief.key, mailbox: owner.mailbox }, envelopes, a.peer, clock.now())
    await a.store.applyDelete(owner.mailbox, forged.refs, forged, { source: 'relay:x', linked: true })
    await assert.rejects(pullFrom(b, a, a.store.sync, clock), { name: 'SyncProtocolError', message: /owner's valid signature/ })
    for (const e of envelopes) assert.equal(await holds(b, owner.mailbox, e), true)
  })

  it('huge lists: an answer longer than any request may ask for is refused when decoded', async () => {
    await putMany([a], randomMailbox(), 1)
    const source = lying(a, {
      list: async (shard, paths, after, limit, w) => {
        const { items } = await a.store.sync.list(shard, paths, after, limit, w)
        return { items: Array.from({ length: MAX_LIST_ITEMS + 1 }, () => items[0]), more: true }
      }
    })
    await assert.rejects(pullFrom(b, a, source, clock), { name: 'SyncProtocolError', message: /does not decode/ })
  })

  it('listed items that are not what was asked (short keys, outside the nodes, out of order) drop the exchange', async () => {
    await putMany([a], randomMailbox(), 1)
    const cases: Array<(items: Array<{ key: Uint8Array, tombstone: boolean }>) => Array<{ key: Uint8Array, tombstone: boolean }>> = [
      (items) => [{ key: items[0].key.subarray(0, 10), tombstone: false }],
      (items) => [{ key: Uint8Array.from(items[0].key, (x, i) => i === 0 ? x ^ 0x01 : x), tombstone: false }],
      (items) => [items[0], items[0]]
    ]
    for (const lie of cases) {
      const source = lying(a, {
        list: async (shard, paths, after, limit, w) => {
          const { items } = await a.store.sync.list(shard, paths, after, limit, w)
          return { items: items.length > 0 ? lie(items) : items, more: false }
        }
      })
      await assert.rejects(pullFrom(b, a, source, clock), { name: 'SyncProtocolError' })
    }
    assert.deepEqual(await b.store.held(), { count: 0, bytes: 0 })
  })

  it('endless descent: a relay that says every child differs is bounded by the depth of a key, and by the node budget', async () => {
    // B holds 40 envelopes of one mailbox: a 64-nibble path where it has more than a leaf's worth.
    await putMany([b], randomMailbox(), 40)
    const noise = (): Uint8Array => crypto.getRandomValues(new Uint8Array(FINGERPRINT_LENGTH))
    const source = lying(a, {
      roots: async () => Array.from({ length: 4 }, () => ({ count: 1e9, fingerprint: noise() })),
      expand: async (_shard, path) => ({ path, children: Array.from({ length: 16 }, (_, nibble) => ({ nibble, count: 1e9, fingerprint: noise() })) })
    })
    for (const limits of [{}, { maxNodes: 200 }]) {
      const { connect } = await responder(a, clock, [b.peer], { source })
      const { stream } = await connect(b.peer)
      const channel = new StreamChannel(stream)
      const result = await reconcile(channel, syncTarget(b.store, a.peer), { limits, now: clock.now })
      if (limits.maxNodes != null) {
        assert.equal(result.complete, false)
        assert.equal(result.stoppedBy, 'maxNodes')
      }
      // One expand and one list per level at most, and no deeper than B's own items go.
      assert.ok(channel.stats.requests <= 2 * MAX_PATH_NIBBLES + 8, `${channel.stats.requests} requests`)
      assert.equal(result.envelopes.fetched, 0)
    }
  })

  it('slow drip: an answer that trickles in is dropped at the request timeout (fake clock), and so is a request that does', async () => {
    const timers = FakeTimers.install({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      // The responder: reads a request, then sends a length prefix and a few bytes, and nothing more.
      const { streamPair } = await import('@libp2p/utils')
      const [outbound, inbound] = await streamPair()
      const drip = (async () => {
        const lp = lpStream(inbound)
        await lp.read()
        inbound.send(Uint8Array.from([0x64, 1, 2, 3]))
      })()
      const pending = reconcile(new StreamChannel(outbound), syncTarget(b.store, a.peer), { now: clock.now }).then(() => 'resolved', (err: Error) => err.name)
      await drip
      await timers.tickAsync(REQUEST_TIMEOUT_MS - 1)
      assert.equal(await Promise.race([pending, Promise.resolve('waiting')]), 'waiting')
      await timers.tickAsync(2)
      assert.match(await pending, /TimeoutError|AbortError/)

      // The server's side: a request that stops half way loses its stream after the timeout.
      const { server, connect } = await responder(a, clock, [b.peer])
      const { stream, handled } = await connect(b.peer)
      stream.send(Uint8Array.from([0x10, 0x0a]))
      await timers.tickAsync(REQUEST_TIMEOUT_MS + 1)
      await handled
      assert.equal(server.metrics.droppedStreams, 1)
    } finally {
      timers.uninstall()
    }
  })

  it('a linked relay is held to its work budget: BUSY once spent, new streams do not reset it, time refills it', async () => {
    const mailbox = randomMailbox()
    await putMany([a], mailbox, 400)
    const { server, connect } = await responder(a, clock, [b.peer], { budget: { now: clock.now, burst: 900, perSecond: 100 } })
    const pull = async (): Promise<unknown> => {
      const { stream } = await connect(b.peer)
      return await reconcile(new StreamChannel(stream), syncTarget(b.store, a.peer), { now: clock.now })
    }
    const stored = async (): Promise<number> => (await b.store.usage(mailbox)).count
    await assert.rejects(pull(), { name: 'SyncRefusedError' })
    const first = await stored()
    assert.ok(first > 0 && first < 400, `${first} stored before the budget ran out`)
    // A new stream at once: still in debt, refused at its first request.
    await assert.rejects(pull(), { name: 'SyncRefusedError' })
    assert.equal(await stored(), first)
    assert.ok(server.metrics.busy >= 2)
    assert.ok(server.budget.left(b.peer.toString()) <= 0)
    // Time refills the bucket: what was stored stays, and the next exchanges finish the rest.
    for (let i = 0; i < 10 && await stored() < 400; i++) {
      clock.t += 10_000
      await pull().catch(() => {})
    }
    assert.equal(await stored(), 400)
  })

  it('tombstones from a linked relay count against its budget: the exchange stops at it', async () => {
    const budgetBytes = 10 * 600
    b = await syncRelay(clock, { maxBytesPerLinkedRelay: budgetBytes })
    const owner = await device()
    const envelopes = await putMany([a], owner.mailbox, 40)
    for (let i = 0; i < 40; i += 10) {
      const proof = await signedDelete(owner, envelopes.slice(i, i + 10), a.peer, clock.now())
      await a.store.delete(owner.mailbox, proof.refs, proof)
    }
    const { result } = await exchange(b, a, clock)
    assert.equal(result.complete, false)
    assert.equal(result.stoppedBy, 'quota')
    const held = await b.store.held()
    assert.ok(held.bytes <= budgetBytes && held.count < 40, `${JSON.stringify(held)}`)
  })
})
