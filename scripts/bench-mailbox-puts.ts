/**
 * Micro-benchmark of the relay's envelope store on a real, synced LevelDB:
 * rounds of puts that arrive together (a batch of puts as the store server
 * hands them over), one round at a time, either all into ONE mailbox or
 * each into its own. Puts of one mailbox that arrive together share one
 * synced write (src/relay/put-group.ts); before, each waited for the one
 * before it behind the mailbox's lock. Prints one JSON object: per layout,
 * synced batches per round and the round's time (median, p90, p99) and
 * envelopes a second.
 *
 *   node --import tsx scripts/bench-mailbox-puts.ts [--rounds 300] [--batch 8] [--size 600]
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EnvelopeStore } from '../src/relay/index.js'
import { LevelStore } from '../src/store/index.js'
import { ENVELOPE_ID_LENGTH } from '../src/crypto/envelope.js'

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] != null ? process.argv[i + 1] : fallback
}

const ROUNDS = Number(arg('rounds', '300'))
const BATCH = Number(arg('batch', '8'))
const SIZE = Number(arg('size', '600'))

/** Bytes that parse as an envelope: version 1, a random id, random rest. */
function envelope (): Uint8Array {
  const bytes = crypto.getRandomValues(new Uint8Array(SIZE))
  bytes[0] = 1
  return bytes
}

function idOf (bytes: Uint8Array): Uint8Array {
  return bytes.slice(1, 1 + ENVELOPE_ID_LENGTH)
}

function percentile (sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]
}

async function run (layout: 'one mailbox' | 'own mailboxes'): Promise<Record<string, number | string>> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-mailbox-puts-'))
  const level = new LevelStore(join(dir, 'db'))
  await level.open()
  try {
    const store = new EnvelopeStore(level, { maxEnvelopesPerMailbox: 1_000_000, maxEnvelopesPerMailboxPerSource: 1_000_000 })
    await store.held()
    const times: number[] = []
    const before = store.commitStats.batches
    const start = performance.now()
    for (let round = 0; round < ROUNDS; round++) {
      const mailboxes = Array.from({ length: BATCH }, (_, i) => {
        const mailbox = new Uint8Array(32)
        new DataView(mailbox.buffer).setUint32(0, layout === 'one mailbox' ? round : round * BATCH + i)
        return mailbox
      })
      const envelopes = Array.from({ length: BATCH }, envelope)
      const t0 = performance.now()
      await Promise.all(envelopes.map(async (e, i) => await store.put(mailboxes[i], idOf(e), e, { source: `ip4:10.0.${i}.1` })))
      times.push(performance.now() - t0)
    }
    const total = performance.now() - start
    times.sort((a, b) => a - b)
    return {
      layout,
      syncedBatchesPerRound: (store.commitStats.batches - before) / ROUNDS,
      roundMedianMs: Number(percentile(times, 0.5).toFixed(2)),
      roundP90Ms: Number(percentile(times, 0.9).toFixed(2)),
      roundP99Ms: Number(percentile(times, 0.99).toFixed(2)),
      envelopesPerSecond: Math.round(ROUNDS * BATCH / (total / 1000))
    }
  } finally {
    await level.close()
    await rm(dir, { recursive: true, force: true })
  }
}

const results = []
for (const layout of ['one mailbox', 'own mailboxes'] as const) results.push(await run(layout))
process.stdout.write(JSON.stringify({ rounds: ROUNDS, batch: BATCH, size: SIZE, results }, null, 2) + '\n')
