/**
 * Storage benchmark: durable (synced) writes of 1 KiB values into LevelDB,
 * one synced put at a time versus group commit with concurrent writers.
 * Prints one JSON object. Run: `node --import tsx scripts/bench-store.ts`
 * (options: --ops N, --writers N,M,...).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GroupCommitWriter, LevelStore } from '../src/store/index.js'

const VALUE_BYTES = 1024

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] != null ? process.argv[i + 1] : fallback
}

const OPS = Number(arg('ops', '5000'))
const WRITERS = arg('writers', '1,10,100,1000').split(',').map(Number)

function key (run: string, i: number): Uint8Array {
  return new TextEncoder().encode(`${run}-${String(i).padStart(9, '0')}`)
}

async function withStore<T> (fn: (store: LevelStore) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'starling-bench-store-'))
  const store = new LevelStore(join(dir, 'db'))
  await store.open()
  try {
    return await fn(store)
  } finally {
    await store.close()
    await rm(dir, { recursive: true, force: true })
  }
}

async function oneAtATime (sync: boolean): Promise<{ ops: number, seconds: number, perSecond: number }> {
  return await withStore(async store => {
    const value = new Uint8Array(VALUE_BYTES).fill(7)
    const start = performance.now()
    for (let i = 0; i < OPS; i++) await store.put('messages', key('single', i), value, { sync })
    const seconds = (performance.now() - start) / 1000
    return { ops: OPS, seconds: round(seconds), perSecond: Math.round(OPS / seconds) }
  })
}

async function groupCommit (writers: number): Promise<Record<string, number>> {
  return await withStore(async store => {
    const writer = new GroupCommitWriter(store, { sync: true })
    const value = new Uint8Array(VALUE_BYTES).fill(9)
    let next = 0
    const start = performance.now()
    // Each writer commits one message at a time, as a receiving stream would.
    await Promise.all(Array.from({ length: writers }, async () => {
      while (next < OPS) {
        const i = next++
        await writer.commit([{ type: 'put', namespace: 'messages', key: key('group', i), value }])
      }
    }))
    const seconds = (performance.now() - start) / 1000
    return {
      writers,
      ops: OPS,
      seconds: round(seconds),
      perSecond: Math.round(OPS / seconds),
      syncedBatches: writer.stats.batches,
      meanBatch: round(writer.stats.ops / writer.stats.batches)
    }
  })
}

function round (x: number): number {
  return Math.round(x * 1000) / 1000
}

const result = {
  node: process.version,
  valueBytes: VALUE_BYTES,
  syncedPutsOneAtATime: await oneAtATime(true),
  unsyncedPutsOneAtATime: await oneAtATime(false),
  groupCommitSynced: [] as Array<Record<string, number>>
}
for (const w of WRITERS) result.groupCommitSynced.push(await groupCommit(w))
process.stdout.write(JSON.stringify(result, null, 2) + '\n')
