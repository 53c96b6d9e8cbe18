/**
 * What encryption at rest costs (issue 9, item 7): the message store with
 * and without EncryptedStore (1 KiB values: puts one at a time without
 * fsync, synced batches of 100, point reads, a full scan), and the file blob
 * store with and without its key (chunks of 64 KiB written with fsync, a
 * whole 8 MiB file read back). Each case runs in alternation with its
 * counterpart, `--rounds` times; medians are printed, as wall time and as
 * this process's CPU time per operation (CPU time is what a loaded machine
 * distorts least). Prints one JSON object.
 * Run: `node --import tsx scripts/bench-at-rest.ts [--ops N] [--rounds N]`
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { EncryptedStore, LevelStore, deriveAtRestKey } from '../src/store/index.js'
import type { Store } from '../src/store/index.js'
import { FileBlobStore } from '../node/blob-store.js'
import { nodeCrypto } from '../node/platform.js'

const { values } = parseArgs({ options: { ops: { type: 'string', default: '5000' }, rounds: { type: 'string', default: '5' } } })
const OPS = Number(values.ops)
const ROUNDS = Number(values.rounds)
const VALUE_BYTES = 1024
const CHUNK_BYTES = 64 * 1024
const FILE_BYTES = 8 * 1024 * 1024
const crypto = nodeCrypto()

interface Sample { wallUs: number, cpuUs: number }

/** Runs `fn`, which does `ops` operations; returns wall and CPU microseconds per operation. */
async function measure (ops: number, fn: () => Promise<void>): Promise<Sample> {
  const cpu = process.cpuUsage()
  const start = performance.now()
  await fn()
  const wall = performance.now() - start
  const used = process.cpuUsage(cpu)
  return { wallUs: (wall * 1000) / ops, cpuUs: (used.user + used.system) / ops }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return Math.round(s[s.length >> 1] * 10) / 10
}

const key = (i: number): Uint8Array => new TextEncoder().encode(`conversation/${String(i).padStart(9, '0')}`)

async function withDir<T> (fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'starling-bench-at-rest-'))
  try {
    return await fn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/** One round of the store cases, plain or encrypted. */
async function storeRound (encrypted: boolean): Promise<Record<string, Sample>> {
  return await withDir(async dir => {
    const level = new LevelStore(join(dir, 'db'))
    const store: Store = encrypted ? new EncryptedStore(level, { crypto, key: deriveAtRestKey(crypto, crypto.randomBytes(32), 'store') }) : level
    await store.open()
    const value = crypto.randomBytes(VALUE_BYTES)
    try {
      return {
        put: await measure(OPS, async () => { for (let i = 0; i < OPS; i++) await store.put('messages', key(i), value) }),
        syncedBatch100: await measure(OPS, async () => {
          for (let i = 0; i < OPS; i += 100) {
            await store.batch(Array.from({ length: 100 }, (_, j) => ({ type: 'put' as const, namespace: 'dedup' as const, key: key(i + j), value })), { sync: true })
          }
        }),
        get: await measure(OPS, async () => { for (let i = 0; i < OPS; i++) await store.get('messages', key((i * 7919) % OPS)) }),
        scan: await measure(OPS, async () => { for await (const entry of store.iterate('messages')) void entry })
      }
    } finally {
      await store.close()
    }
  })
}

/** One round of the blob cases, plain or encrypted. */
async function blobRound (encrypted: boolean): Promise<Record<string, Sample>> {
  return await withDir(async dir => {
    const blobs = await new FileBlobStore(dir, encrypted ? { encryptionKey: crypto.randomBytes(32) } : {}).open()
    const id = crypto.randomBytes(16)
    const file = crypto.randomBytes(FILE_BYTES)
    const chunks = FILE_BYTES / CHUNK_BYTES
    const putChunk = await measure(chunks, async () => {
      for (let i = 0; i < chunks; i++) await blobs.putChunk(id, i, file.subarray(i * CHUNK_BYTES, (i + 1) * CHUNK_BYTES))
    })
    await blobs.markComplete(id, { size: FILE_BYTES, chunkSize: CHUNK_BYTES, sha256: crypto.hash.sha256(file) })
    const readMiB = await measure(FILE_BYTES / (1024 * 1024), async () => { for await (const piece of blobs.read(id)) void piece })
    return { putChunk64KiB: putChunk, readPerMiB: readMiB }
  })
}

async function compare (round: (encrypted: boolean) => Promise<Record<string, Sample>>): Promise<Record<string, unknown>> {
  const runs: Record<'plain' | 'encrypted', Array<Record<string, Sample>>> = { plain: [], encrypted: [] }
  for (let r = 0; r < ROUNDS; r++) {
    runs.plain.push(await round(false))
    runs.encrypted.push(await round(true))
  }
  const out: Record<string, unknown> = {}
  for (const name of Object.keys(runs.plain[0])) {
    const pick = (which: 'plain' | 'encrypted', f: 'wallUs' | 'cpuUs'): number => median(runs[which].map(x => x[name][f]))
    out[name] = {
      plain: { wallUs: pick('plain', 'wallUs'), cpuUs: pick('plain', 'cpuUs') },
      encrypted: { wallUs: pick('encrypted', 'wallUs'), cpuUs: pick('encrypted', 'cpuUs') }
    }
  }
  return out
}

console.log(JSON.stringify({
  node: process.version,
  ops: OPS,
  rounds: ROUNDS,
  valueBytes: VALUE_BYTES,
  store: await compare(storeRound),
  blobs: await compare(blobRound)
}, null, 2))
