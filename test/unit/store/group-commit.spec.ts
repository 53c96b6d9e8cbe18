import assert from 'node:assert/strict'
import { GroupCommitWriter } from '../../../src/store/index.js'
import type { BatchOp, LevelStore } from '../../../src/store/index.js'
import type { LateOps } from '../../../src/store/group-commit.js'
import { collect, countingStore, tempStore } from './helpers.js'

const put = (key: string, size = 1024): BatchOp => ({ type: 'put', namespace: 'messages', key: new TextEncoder().encode(key), value: new Uint8Array(size).fill(key.length) })

describe('store: GroupCommitWriter', () => {
  let store: LevelStore
  let cleanup: () => Promise<void>

  beforeEach(async () => { ({ store, cleanup } = await tempStore()) })
  afterEach(async () => { await cleanup() })

  it('writes one commit alone in one synced batch', async () => {
    const counting = countingStore(store)
    const writer = new GroupCommitWriter(counting)
    await writer.commit([put('a')])
    assert.equal(counting.batches.length, 1)
    assert.equal(counting.batches[0].sync, true)
    assert.deepEqual(writer.stats, { batches: 1, commits: 1, ops: 1 })
  })

  it('coalesces concurrent writers into few synced batches, each caller resolving after its batch is durable', async () => {
    const counting = countingStore(store)
    const writer = new GroupCommitWriter(counting)
    const N = 500
    const resolvedDurable: boolean[] = []
    // 50 writers, 10 sequential commits each: every commit waits for the previous.
    await Promise.all(Array.from({ length: 50 }, async (_, w) => {
      for (let i = 0; i < N / 50; i++) {
        const op = put(`w${w}-${i}`)
        await writer.commit([op])
        const batch = counting.batches.find(b => b.ops.includes(op))
        resolvedDurable.push(batch?.durable === true)
      }
    }))
    assert.equal(resolvedDurable.length, N)
    assert.ok(resolvedDurable.every(Boolean), 'a commit resolved before its batch was durable')
    assert.ok(counting.batches.every(b => b.sync))
    // 50 concurrent writers: each round of commits shares a batch, so far fewer batches than commits.
    assert.ok(counting.batches.length <= N / 10, `${counting.batches.length} batches for ${N} commits`)
    assert.equal(writer.stats.commits, N)
    assert.equal((await collect(store.iterate('messages'))).length, N)
  })

  it('writes unsynced commits without fsync, in call order with synced ones, and syncs a batch when any member asks', async () => {
    const counting = countingStore(store)
    const writer = new GroupCommitWriter(counting)
    await writer.commit([put('lazy')], { sync: false })
    assert.equal(counting.batches.at(-1)?.sync, false)
    const first = writer.commit([put('synced')])
    await Promise.resolve()
    await Promise.resolve()
    // Queued while the synced batch is in flight: one lazy and one synced commit share the next batch, which is synced.
    const key = new TextEncoder().encode('order')
    const a = writer.commit([{ type: 'put', namespace: 'messages', key, value: new Uint8Array([1]) }], { sync: false })
    const b = writer.commit([{ type: 'put', namespace: 'messages', key, value: new Uint8Array([2]) }])
    await Promise.all([first, a, b])
    assert.deepEqual(counting.batches.map(x => x.sync), [false, true, true])
    // The later commit's value wins: order is kept across synced and unsynced commits.
    assert.deepEqual(await store.get('messages', key), new Uint8Array([2]))
    assert.equal(writer.syncing, false)
    const inFlight = writer.commit([put('synced again')])
    assert.equal(writer.syncing, true, 'a synced commit is waiting')
    await inFlight
    assert.equal(writer.syncing, false)
    const lazy = writer.commit([put('lazy again')], { sync: false })
    assert.equal(writer.syncing, false, 'an unsynced commit waits for no fsync')
    await lazy
    // Alone, a lazy commit after a synced one is not synced.
    await writer.commit([put('lazy2')], { sync: false })
    assert.equal(counting.batches.at(-1)?.sync, false)
  })

  it('puts everything queued while a batch is in flight into the next single batch', async () => {
    const counting = countingStore(store)
    const writer = new GroupCommitWriter(counting)
    const first = writer.commit([put('first')])
    await Promise.resolve() // the first batch starts on the next microtask
    await Promise.resolve()
    const rest = Array.from({ length: 20 }, async (_, i) => { await writer.commit([put(`later${i}`), put(`later${i}b`)]) })
    await Promise.all([first, ...rest])
    assert.deepEqual(counting.batches.map(b => b.ops.length), [1, 40])
  })

  it('joins the writers of one tick into the first batch', async () => {
    const counting = countingStore(store)
    const writer = new GroupCommitWriter(counting)
    await Promise.all(Array.from({ length: 100 }, async (_, i) => { await writer.commit([put(`k${i}`)]) }))
    assert.equal(counting.batches.length, 1)
  })

  it('never splits a commit and caps batches at maxBatchOps', async () => {
    const counting = countingStore(store)
    const writer = new GroupCommitWriter(counting, { maxBatchOps: 5 })
    const sizes = [2, 2, 1, 4, 1, 7, 3]
    const commits = sizes.map((n, c) => Array.from({ length: n }, (_, i) => put(`c${c}-${i}`)))
    await Promise.all(commits.map(async ops => { await writer.commit(ops) }))
    // 2+2+1 fill one batch; 4+1 the next; 7 goes alone (a commit is never split); then 3.
    assert.deepEqual(counting.batches.map(b => b.ops.length), [5, 5, 7, 3])
    for (const ops of commits) {
      assert.equal(counting.batches.filter(b => b.ops.some(op => ops.includes(op))).length, 1)
    }
  })

  it('rejects every caller of a failed batch, writes none of it, and carries on', async () => {
    let failNext = true
    const counting = countingStore(store, () => {
      const f = failNext
      failNext = false
      return f
    })
    const writer = new GroupCommitWriter(counting)
    const doomed = [writer.commit([put('x1')]), writer.commit([put('x2')])]
    const results = await Promise.allSettled(doomed)
    assert.deepEqual(results.map(r => r.status), ['rejected', 'rejected'])
    await writer.commit([put('y')])
    assert.deepEqual((await collect(store.iterate('messages'))).map(([k]) => new TextDecoder().decode(k)), ['y'])
  })

  it('late operations are computed as their batch forms, after every earlier batch was told how it went, and each is told once', async () => {
    const log: string[] = []
    const keys = (ops: readonly BatchOp[]): string[] => ops.map(op => new TextDecoder().decode(op.key))
    let release!: () => void
    const held = new Promise<void>(resolve => { release = resolve })
    const slow: Pick<LevelStore, 'batch'> = {
      async batch (ops, options) {
        if (keys(ops).includes('a')) await held
        if (keys(ops).includes('fails')) throw new Error('injected failure')
        await store.batch(ops, options)
      }
    }
    const writer = new GroupCommitWriter(slow)
    const late = (name: string, key: string): LateOps => ({
      ops: () => { log.push(`${name} formed`); return [put(key)] },
      settled: (durable) => { log.push(`${name} ${durable ? 'durable' : 'failed'}`) }
    })
    const first = writer.commit([put('a')], { late: [late('A', 'a-late')] })
    await new Promise(resolve => setImmediate(resolve))
    // The first batch is in flight: the second forms only once the first is settled.
    const second = writer.commit([put('fails')], { late: [late('B', 'b-late')] }).then(() => 'durable', (err: Error) => err.message)
    assert.deepEqual(log, ['A formed'])
    release()
    await first
    assert.equal(await second, 'injected failure')
    await writer.commit([put('c')], { late: [late('C', 'c-late')] })
    assert.deepEqual(log, ['A formed', 'A durable', 'B formed', 'B failed', 'C formed', 'C durable'])
    assert.deepEqual((await collect(store.iterate('messages'))).map(([k]) => new TextDecoder().decode(k)).sort(), ['a', 'a-late', 'c', 'c-late'])
  })

  it('flush() waits for queued commits', async () => {
    const writer = new GroupCommitWriter(store, { sync: false })
    const done: string[] = []
    for (let i = 0; i < 5; i++) void writer.commit([put(`f${i}`)]).then(() => done.push(`f${i}`))
    await writer.flush()
    await Promise.resolve()
    assert.equal(done.length, 5)
    await writer.flush() // idle: returns at once
  })
})
