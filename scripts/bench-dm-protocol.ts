/**
 * Micro-benchmark of /starling/dm/1.0.0 between two libp2p nodes over TCP on
 * 127.0.0.1 (Noise, yamux), 1 KiB envelopes, onEnvelope a no-op; next to the
 * floor: a raw request/response of the same size on one kept-open stream
 * (a varint-framed 1 KiB request answered by a 16-byte reply).
 *
 *   node --import tsx scripts/bench-dm-protocol.ts [--count 10000] [--latency 1000]
 *
 * Prints JSON: envelopes/s (many in flight, the client's window) and
 * median/p99 acknowledgement latency (one envelope at a time), for dm and raw.
 * Then the same with durable storage in a temporary LevelDB: dm whose
 * onEnvelope waits for a synced group commit (src/store GroupCommitWriter),
 * next to raw request/response plus one synced put per request.
 */
import { createLibp2p } from 'libp2p'
import type { Libp2p, Stream } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import type { Uint8ArrayList } from 'uint8arraylist'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { DmClient, DmServer, DEFAULT_WINDOW } from '../src/protocols/dm/index.js'
import { GroupCommitWriter, LevelStore } from '../src/store/index.js'
import { ENVELOPE_ID_LENGTH } from '../src/crypto/envelope.js'
import { FrameDecoder, deferred, encodeFrame } from '../src/protocols/dm/dm.js'

const RAW_PROTOCOL = '/starling-bench/raw/1.0.0'
const RAW_SYNC_PROTOCOL = '/starling-bench/raw-sync/1.0.0'
const PAYLOAD = 1024

function arg (name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 ? Number(process.argv[i + 1]) : fallback
}

async function makeNode (): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()]
  })
}

let counter = 0
function envelope (): Uint8Array {
  const e = new Uint8Array(PAYLOAD).fill(0x5a)
  e[0] = 1
  new DataView(e.buffer).setUint32(1, counter++)
  new DataView(e.buffer).setUint32(5, Math.floor(Math.random() * 2 ** 32))
  return e
}

function stats (samples: number[]): { median: number, p99: number } {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => Number(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))].toFixed(3))
  return { median: at(0.5), p99: at(0.99) }
}

/** A raw request/response client on one kept-open stream: requests pipeline, replies come in order. */
function rawClient (stream: Stream): (request: Uint8Array) => Promise<void> {
  const waiting: Array<() => void> = []
  const decoder = new FrameDecoder(1 << 20)
  stream.addEventListener('message', (evt) => {
    for (const reply of decoder.decode(evt.data)) if (reply.byteLength > 0) waiting.shift()?.()
  })
  let blocked = false
  const queue: Uint8ArrayList[] = []
  stream.addEventListener('drain', () => {
    blocked = false
    while (!blocked && queue.length > 0) blocked = !stream.send(queue.shift() as Uint8ArrayList)
  })
  return async (request) => {
    const { promise, resolve } = deferred<void>()
    waiting.push(resolve)
    const frame = encodeFrame(request)
    if (blocked) queue.push(frame)
    else blocked = !stream.send(frame)
    await promise
  }
}

async function pipelined (count: number, window: number, send: () => Promise<void>): Promise<number> {
  let next = 0
  const t0 = performance.now()
  await Promise.all(Array.from({ length: window }, async () => {
    while (next++ < count) await send()
  }))
  return Math.round(count / ((performance.now() - t0) / 1000))
}

async function sequential (count: number, send: () => Promise<void>): Promise<number[]> {
  const samples: number[] = []
  for (let i = 0; i < count; i++) {
    const t0 = performance.now()
    await send()
    samples.push(performance.now() - t0)
  }
  return samples
}

const count = arg('count', 10_000)
const latencyCount = arg('latency', 1000)
const alice = await makeNode()
const bob = await makeNode()
const carol = await makeNode()
const dir = await mkdtemp(join(tmpdir(), 'starling-bench-dm-'))
const store = new LevelStore(join(dir, 'db'))
await store.open()
try {
  const server = new DmServer(bob, { onEnvelope: async () => {} })
  await server.start()
  const writer = new GroupCommitWriter(store)
  const storedServer = new DmServer(carol, {
    onEnvelope: async (envelope) => {
      await writer.commit([{ type: 'put', namespace: 'relay', key: envelope.subarray(1, 1 + ENVELOPE_ID_LENGTH), value: envelope }])
    }
  })
  await storedServer.start()
  await bob.handle(RAW_PROTOCOL, (stream) => {
    const decoder = new FrameDecoder(1 << 20)
    const reply = encodeFrame(new Uint8Array(ENVELOPE_ID_LENGTH))
    stream.addEventListener('message', (evt) => {
      for (const request of decoder.decode(evt.data)) if (request.byteLength > 0) stream.send(reply)
    })
  })
  // one request at a time: store it with a synced put, then reply
  let n = 0
  await carol.handle(RAW_SYNC_PROTOCOL, (stream) => {
    const decoder = new FrameDecoder(1 << 20)
    const reply = encodeFrame(new Uint8Array(ENVELOPE_ID_LENGTH))
    stream.addEventListener('message', (evt) => {
      for (const request of decoder.decode(evt.data)) {
        const key = new Uint8Array(8)
        new DataView(key.buffer).setUint32(0, n++)
        store.put('dedup', key, request.subarray(), { sync: true }).then(() => stream.send(reply), (err: unknown) => { stream.abort(err as Error) })
      }
    })
  })
  await alice.peerStore.merge(bob.peerId, { multiaddrs: bob.getMultiaddrs() })
  await alice.peerStore.merge(carol.peerId, { multiaddrs: carol.getMultiaddrs() })
  const dm = new DmClient(alice)
  dm.start()
  const dmSend = async (): Promise<void> => { await dm.send(bob.peerId, envelope()) }
  const dmStoredSend = async (): Promise<void> => { await dm.send(carol.peerId, envelope()) }
  const raw = rawClient(await alice.dialProtocol(bob.peerId, RAW_PROTOCOL))
  const rawSync = rawClient(await alice.dialProtocol(carol.peerId, RAW_SYNC_PROTOCOL))
  const payload = new Uint8Array(PAYLOAD)
  const rawSend = async (): Promise<void> => { await raw(payload) }
  const rawSyncSend = async (): Promise<void> => { await rawSync(payload) }

  await pipelined(3000, DEFAULT_WINDOW, dmSend)
  await pipelined(3000, DEFAULT_WINDOW, rawSend)
  await pipelined(1000, DEFAULT_WINDOW, dmStoredSend)
  const result = {
    payloadBytes: PAYLOAD,
    transport: 'tcp 127.0.0.1, noise, yamux',
    window: DEFAULT_WINDOW,
    dm: {
      envelopesPerSecond: await pipelined(count, DEFAULT_WINDOW, dmSend),
      latencyMs: stats(await sequential(latencyCount, dmSend))
    },
    raw: {
      requestsPerSecond: await pipelined(count, DEFAULT_WINDOW, rawSend),
      latencyMs: stats(await sequential(latencyCount, rawSend))
    },
    dmSyncedGroupCommit: {
      envelopesPerSecond: await pipelined(count, DEFAULT_WINDOW, dmStoredSend),
      latencyMs: stats(await sequential(latencyCount, dmStoredSend)),
      batches: writer.stats.batches
    },
    rawPlusSyncedPut: {
      latencyMs: stats(await sequential(latencyCount, rawSyncSend))
    }
  }
  console.log(JSON.stringify(result, null, 2))
  dm.stop()
  await server.stop()
  await storedServer.stop()
} finally {
  await alice.stop()
  await bob.stop()
  await carol.stop()
  await store.close()
  await rm(dir, { recursive: true, force: true })
}
