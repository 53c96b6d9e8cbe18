/**
 * One client process of `npm run bench:relay` (scripts/bench-relay.ts forks
 * several): lean users, each a bare libp2p node (TCP from its own 127.0.0.x
 * address, Noise, yamux; no Starling peer) speaking the store protocol to
 * one relay. Takes one job over IPC, answers with what it measured, and
 * waits for the next; `hold` keeps its users' connections (and circuit
 * relay reservations) open until the next job.
 */
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp } from '@libp2p/tcp'
import type { TCPSocketOptions } from '@libp2p/tcp'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { multiaddr } from '@multiformats/multiaddr'
import type { Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import type { Libp2p, PrivateKey } from '@libp2p/interface'
import { ENVELOPE_VERSION, parseEnvelopeHeader } from '../src/crypto/envelope.js'
import { createNodeCrypto } from '../node/crypto/node-provider.js'
import { StoreClient, envelopeRef, mailboxId } from '../src/protocols/store/index.js'
import type { EnvelopeRef } from '../src/protocols/store/index.js'

/** A job from the main process. */
export type Job =
  /** Makes the users and connects them (before the clock: the relay's and the clients' CPU of the store is the store's alone). */
  | { kind: 'connect', relay: string, users: number, perUser: number, hostBase: number }
  | { kind: 'store', perUser: number, inFlight: number, size: number }
  | { kind: 'fetch' }
  | { kind: 'delete' }
  | { kind: 'hold', relay: string, users: number, reserve: boolean, hostBase: number }
  /** `puts` envelopes, each from a held user drawn at random, at random moments over `spreadMs`. */
  | { kind: 'probe', puts: number, spreadMs: number, size: number }
  | { kind: 'release' }

/** What a job measured: operations done, failures, its wall time and each operation's latency (ms). */
export interface JobResult {
  ops: number
  failed: number
  ms: number
  latencies: number[]
  /** The first failure's message, when any. */
  error?: string
  /** Failures by error name and message. */
  errors?: Record<string, number>
}

/** Envelopes in one mailbox at most (a mailbox takes 2,500 from one source by default). */
const PER_MAILBOX = 2000
/** Mailboxes each user writes to at least: a sender's envelopes go to many recipients (a relay serialises writes per mailbox). */
const MIN_MAILBOXES = 16

interface User {
  node: Libp2p
  client: StoreClient
  mailboxes: Array<{ key: PrivateKey, mailbox: Uint8Array, refs: EnvelopeRef[] }>
}

/** Users connecting (and reserving) at once, per worker. */
const HOLD_CONCURRENCY = 16

let users: User[] = []
/** Receipts checked by node:crypto through the facade, as a Node client of a relay would. */
const nodeCrypto = createNodeCrypto()
const ed25519 = nodeCrypto.ed25519
const sha256 = nodeCrypto.hash.sha256

/** `fn` over 0..n-1, `limit` at a time. */
async function inBatches<T> (n: number, limit: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n)
  let next = 0
  await Promise.all(Array.from({ length: Math.min(limit, n) }, async () => {
    while (next < n) {
      const i = next++
      out[i] = await fn(i)
    }
  }))
  return out
}
let relayAddr: Multiaddr | undefined

function envelope (size: number): Uint8Array {
  const out = crypto.getRandomValues(new Uint8Array(size))
  out[0] = ENVELOPE_VERSION
  return out
}

/** A user dialling from 127.0.x.y: sources differ as they would on the internet. */
async function user (host: string, reserve: boolean): Promise<User> {
  const node = await createLibp2p({
    addresses: { listen: reserve && relayAddr != null ? [`${relayAddr.toString()}/p2p-circuit`] : [] },
    transports: [tcp({ dialOpts: { localAddress: host } as TCPSocketOptions }), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() },
    // Pings every 10 s as a user's node does (the relay sees that load), but one process holds hundreds of
    // users: its busy event loop, not the relay, made their pings late, and libp2p's adaptive timeout (≥ 5 s)
    // then dropped them. A real user's node has its loop to itself; here a ping fails after 30 s.
    connectionMonitor: { pingInterval: 10_000, pingTimeout: { minTimeout: 30_000, maxTimeout: 30_000 } }
  })
  return { node, client: new StoreClient(node, { timeoutMs: 60_000, ed25519, sha256 }), mailboxes: [] }
}

function hostOf (base: number, i: number): string {
  const n = base + i
  return `127.0.${Math.floor(n / 250) + 1}.${(n % 250) + 2}`
}

async function timed<T> (latencies: number[], op: () => Promise<T>): Promise<T> {
  const start = performance.now()
  const out = await op()
  latencies.push(performance.now() - start)
  return out
}

async function run (job: Job): Promise<JobResult> {
  const started = performance.now()
  const latencies: number[] = []
  let ops = 0
  let failed = 0
  let error: string | undefined
  const errors: Record<string, number> = {}
  const fail = (err: unknown): void => {
    failed++
    error ??= (err as Error).message
    const key = `${(err as Error).name}: ${(err as Error).message}`.slice(0, 160)
    errors[key] = (errors[key] ?? 0) + 1
  }
  switch (job.kind) {
    case 'connect': {
      relayAddr = multiaddr(job.relay)
      users = await Promise.all(Array.from({ length: job.users }, async (_, i) => await user(hostOf(job.hostBase, i), false)))
      for (const u of users) {
        for (let m = 0; m < Math.max(MIN_MAILBOXES, Math.ceil(job.perUser / PER_MAILBOX)); m++) {
          const key = await generateKeyPair('Ed25519')
          u.mailboxes.push({ key, mailbox: mailboxId(peerIdFromPrivateKey(key)), refs: [] })
        }
        await u.node.dial(relayAddr)
      }
      return { ops: users.length, failed: 0, ms: performance.now() - started, latencies: [] }
    }
    case 'store': {
      const t0 = performance.now()
      await Promise.all(users.map(async u => {
        let next = 0
        // `inFlight` puts at once on the user's one kept-open stream (the client pipelines them, up to MAX_PIPELINED_REQUESTS, and sends those waiting for their turn together in one batch).
        await Promise.all(Array.from({ length: job.inFlight }, async () => {
          while (next < job.perUser) {
            const n = next++
            const box = u.mailboxes[n % u.mailboxes.length]
            const bytes = envelope(job.size)
            try {
              await timed(latencies, async () => await u.client.put(relayAddr as Multiaddr, box.mailbox, bytes))
              box.refs.push(envelopeRef(parseEnvelopeHeader(bytes).id, bytes))
              ops++
            } catch (err) { fail(err) }
          }
        }))
      }))
      return { ops, failed, ms: performance.now() - t0, latencies, error, errors }
    }
    case 'fetch':
      await Promise.all(users.map(async u => {
        for (const box of u.mailboxes) {
          let after: Uint8Array | undefined
          for (let page = 0; page < 10_000; page++) {
            try {
              const result = await timed(latencies, async () => await u.client.fetch(relayAddr as Multiaddr, box.key, { after, limit: 500 }))
              ops += result.envelopes.length
              after = result.cursor
              if (!result.more) break
            } catch (err) {
              fail(err)
              break
            }
          }
        }
      }))
      return { ops, failed, ms: performance.now() - started, latencies, error, errors }
    case 'delete':
      await Promise.all(users.map(async u => {
        for (const box of u.mailboxes) {
          for (let i = 0; i < box.refs.length; i += 500) {
            try {
              // Not `ops += await ...`: that reads `ops` before the await and loses the other users' counts.
              const removed = await timed(latencies, async () => await u.client.delete(relayAddr as Multiaddr, box.key, box.refs.slice(i, i + 500)))
              ops += removed
            } catch (err) { fail(err) }
          }
        }
      }))
      return { ops, failed, ms: performance.now() - started, latencies, error, errors }
    case 'hold': {
      relayAddr = multiaddr(job.relay)
      // A few at a time: hundreds of reservations asked at once on a busy machine time out on the client's side.
      const added = await inBatches(job.users, HOLD_CONCURRENCY, async (i) => {
        try {
          const u = await user(hostOf(job.hostBase, i), job.reserve)
          if (!job.reserve) await u.node.dial(relayAddr as Multiaddr)
          const key = await generateKeyPair('Ed25519')
          u.mailboxes.push({ key, mailbox: mailboxId(peerIdFromPrivateKey(key)), refs: [] })
          ops++
          return u
        } catch (err) {
          fail(err)
          return undefined
        }
      })
      users.push(...added.filter(u => u != null))
      return { ops, failed, ms: performance.now() - started, latencies, error, errors }
    }
    case 'probe':
      // Random users at random moments over the spread: a steady load, not a burst.
      await Promise.all(Array.from({ length: users.length === 0 ? 0 : job.puts }, async () => {
        const u = users[Math.floor(Math.random() * users.length)]
        await new Promise(resolve => setTimeout(resolve, Math.random() * job.spreadMs))
        try {
          await timed(latencies, async () => await u.client.put(relayAddr as Multiaddr, u.mailboxes[0].mailbox, envelope(job.size)))
          ops++
        } catch (err) { fail(err) }
      }))
      return { ops, failed, ms: performance.now() - started, latencies, error, errors }
    case 'release':
      await Promise.all(users.map(async u => {
        await u.client.close()
        await u.node.stop()
      }))
      users = []
      return { ops, failed, ms: performance.now() - started, latencies, error, errors }
  }
}

process.on('message', (job: Job) => {
  run(job).then(result => { process.send?.(result) }, (err: Error) => {
    process.send?.({ ops: 0, failed: 1, ms: 0, latencies: [], error: err.message } satisfies JobResult)
  })
})
// The bench disconnects its workers when it is done: exiting (rather than
// being killed) lets `--cpu-prof` write a worker's profile.
process.on('disconnect', () => { process.exit(0) })
