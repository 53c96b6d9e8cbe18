/**
 * `npm run bench:dm`: direct messages between two daemons through the whole
 * product: a relay and two daemons (alice, bob) as separate processes on
 * 127.0.0.1 (TCP, Noise, yamux), 1 KiB texts (1,024 ASCII code points) sent
 * through alice's local API and counted when bob's daemon reports them
 * stored (its /events stream). Prints one JSON object:
 *
 * - latency: sequential sends, from the send request reaching alice's API
 *   (the `starling-received-at` stamp of her API) to bob's daemon having
 *   stored the message (`storedAt` in its event). Both stamps are the
 *   daemons' performance.timeOrigin + now(); each daemon's offset from this
 *   process's clock is measured before and after and printed. The client's
 *   view (request leaving here to event arriving here) is printed beside it.
 * - throughput: N messages sent with C send requests in flight on one
 *   pipelined API connection (`/rpc/stream`; a request is answered once the
 *   message is in alice's outbox), timed until bob has stored all N; with
 *   the CPU time each process used per message.
 * - floor: two libp2p nodes in this process (TCP, Noise, yamux configured as
 *   Starling's nodes are: its yamux window updates, node:crypto Noise frames,
 *   coalesced socket writes), one kept-open stream, 1 KiB request answered
 *   with 16 bytes after one synced LevelDB put of the request on the
 *   receiver; ratio = our median / floor median. The same with the
 *   libraries' defaults is printed beside it.
 * - catch-up: bob stopped, M messages held by the relay, bob started: time
 *   from spawning bob's process to his daemon having stored all M (its own
 *   stamp of the last one, from its status), and from his ready line.
 *
 * A send request the daemon refuses (e.g. the handle did not resolve) is
 * counted by phase and error, reported, and sent again (at most 5 requests
 * per message); a latency sample starts at the request that was accepted.
 *
 * Options: --latency N (500) --throughput N (5000) --concurrency N (256)
 * --catchup N (1000) --profile DIR (run the daemons with --cpu-prof into DIR).
 */
import { spawn } from 'node:child_process'
import { request as httpRequest } from 'node:http'
import type { ClientRequest } from 'node:http'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { cpus, tmpdir, totalmem } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { parseArgs } from 'node:util'
import { createLibp2p } from 'libp2p'
import type { Libp2p } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { starlingYamux } from '../src/net/yamux.js'
import { coalesceSocketWrites, nodeNoiseCrypto } from '../node/platform.js'
import { lpStream } from '@libp2p/utils'
import { Level } from 'level'

const { values } = parseArgs({
  options: {
    latency: { type: 'string', default: '500' },
    throughput: { type: 'string', default: '5000' },
    concurrency: { type: 'string', default: '256' },
    catchup: { type: 'string', default: '1000' },
    profile: { type: 'string' }
  }
})
const LATENCY_SAMPLES = Number(values.latency)
const THROUGHPUT_MESSAGES = Number(values.throughput)
const CONCURRENCY = Number(values.concurrency)
const CATCHUP_MESSAGES = Number(values.catchup)
const TEXT_CODE_POINTS = 1024
const WARMUP = 50
/** Requests per message before it is abandoned (refusals are counted and reported). */
const SEND_ATTEMPTS = 5
/** Bound on any single wait (a message to be stored, a process to start). */
const WAIT_MS = 120_000
const BIN = resolve(import.meta.dirname, '../node/bin/starling.js')
const RAW_PROTOCOL = '/starling-bench/raw-synced/1.0.0'

const now = (): number => performance.timeOrigin + performance.now()

function text (i: number): string {
  return `${i} `.padEnd(TEXT_CODE_POINTS, 'x')
}

/** Progress goes to stderr; stdout carries only the result. */
function progress (line: string): void {
  process.stderr.write(`bench:dm ${new Date().toISOString().slice(11, 19)} ${line}\n`)
}

function stats (ms: number[]): { median: number, p99: number, mean: number } {
  const s = [...ms].sort((a, b) => a - b)
  const at = (q: number): number => s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)]
  const round = (x: number): number => Math.round(x * 1000) / 1000
  return { median: round(at(0.5)), p99: round(at(0.99)), mean: round(s.reduce((a, b) => a + b, 0) / s.length) }
}

function withTimeout<T> (p: Promise<T>, what: string, ms = WAIT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms) })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}

// ---- processes --------------------------------------------------------------

interface Proc { proc: ChildProcess, ready: Record<string, unknown>, spawnedAt: number, readyAt: number }
const procs = new Set<ChildProcess>()

function profileEnv (name: string): NodeJS.ProcessEnv {
  if (values.profile == null) return process.env
  return { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --cpu-prof --cpu-prof-dir=${resolve(values.profile)} --cpu-prof-name=${name}-${Date.now()}.cpuprofile` }
}

async function cli (args: string[]): Promise<Array<Record<string, unknown>>> {
  const proc = spawn(process.execPath, [BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  proc.stdout.on('data', (d: Buffer) => { out += d.toString() })
  proc.stderr.on('data', (d: Buffer) => { err += d.toString() })
  const code = await withTimeout(new Promise<number | null>(resolve => proc.on('close', resolve)), `starling ${args[0]}`)
  if (code !== 0) throw new Error(`starling ${args.join(' ')} exited ${code}: ${err}`)
  return out.split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l))
}

async function start (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Proc> {
  const spawnedAt = now()
  const proc = spawn(process.execPath, [BIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'], env })
  procs.add(proc)
  proc.on('exit', () => procs.delete(proc))
  const stderr: string[] = []
  createInterface({ input: proc.stderr }).on('line', l => stderr.push(l))
  return withTimeout(new Promise<Proc>((resolve, reject) => {
    createInterface({ input: proc.stdout }).on('line', line => {
      if (!line.startsWith('{')) return
      const event = JSON.parse(line) as Record<string, unknown>
      if (event.event === 'ready') resolve({ proc, ready: event, spawnedAt, readyAt: now() })
    })
    proc.on('exit', code => reject(new Error(`${args[0]} exited ${code}: ${stderr.join(' | ')}`)))
  }), `${args[0]} ready`)
}

async function stop (proc: ChildProcess): Promise<void> {
  if (proc.exitCode != null || proc.signalCode != null) return
  const exited = new Promise<void>(resolve => proc.once('exit', () => resolve()))
  proc.kill('SIGTERM')
  const timer = setTimeout(() => proc.kill('SIGKILL'), 15_000)
  await exited
  clearTimeout(timer)
}

/** CPU time (user + system, ms) a process has used so far, from /proc (Linux); undefined elsewhere. */
async function cpuMs (pid: number | undefined): Promise<number | undefined> {
  if (pid == null) return undefined
  try {
    const fields = (await readFile(`/proc/${pid}/stat`, 'utf8')).replace(/^.*\) /, '').split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10 // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return undefined
  }
}

// ---- the daemons' API ---------------------------------------------------------

/** A daemon's local API: calls, and its event stream with the arrival time of each event here. */
class Api {
  private nextId = 1
  private readonly controller = new AbortController()
  listeners = new Set<(e: Record<string, unknown>, at: number) => void>()
  private constructor (readonly url: string, readonly token: string) {}

  static async open (dataDir: string): Promise<Api> {
    const info = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8')) as { url: string, token: string }
    return new Api(info.url, info.token)
  }

  async call<T = Record<string, unknown>> (method: string, params: Record<string, unknown> = {}): Promise<T> {
    return (await this.timedCall<T>(method, params)).result
  }

  /** A call, with when the daemon's API received it (its `starling-received-at`). */
  async timedCall<T = Record<string, unknown>> (method: string, params: Record<string, unknown> = {}): Promise<{ result: T, receivedAt: number }> {
    const res = await fetch(`${this.url}/rpc`, {
      method: 'POST',
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: this.nextId++, method, params })
    })
    const receivedAt = Number(res.headers.get('starling-received-at'))
    const reply = await res.json() as { result?: T, error?: { message: string } }
    if (reply.error != null) throw new Error(`${method}: ${reply.error.message}`)
    return { result: reply.result as T, receivedAt }
  }

  /**
   * The daemon's clock against ours: from no-op calls, the offset of its
   * received-at stamp from the midpoint of the call here (median), and half
   * the median call time as the uncertainty.
   */
  async clockOffset (samples = 50): Promise<{ offsetMs: number, uncertaintyMs: number }> {
    const offsets: number[] = []
    const halves: number[] = []
    for (let i = 0; i < samples; i++) {
      const t0 = now()
      const { receivedAt } = await this.timedCall('outbox')
      const t1 = now()
      offsets.push(receivedAt - (t0 + t1) / 2)
      halves.push((t1 - t0) / 2)
    }
    return { offsetMs: stats(offsets).median, uncertaintyMs: stats(halves).median }
  }

  /** One `/rpc/stream` connection: many calls in flight, answers matched by id. */
  openStream (): RpcStream {
    return new RpcStream(new URL(`${this.url}/rpc/stream`), this.token)
  }

  /** Resolves once the daemon has registered the stream (headers received); events flow to `listeners`. */
  async follow (): Promise<void> {
    const res = await fetch(`${this.url}/events`, { headers: { authorization: `Bearer ${this.token}` }, signal: this.controller.signal })
    if (res.body == null) throw new Error('no event stream')
    const body = res.body
    const pump = async (): Promise<void> => {
      const decoder = new TextDecoder()
      let buffered = ''
      for await (const chunk of body) {
        const at = now()
        buffered += decoder.decode(chunk as Uint8Array, { stream: true })
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl)
          buffered = buffered.slice(nl + 1)
          if (line.trim() === '') continue
          const event = JSON.parse(line) as Record<string, unknown>
          for (const l of this.listeners) l(event, at)
        }
      }
    }
    pump().catch(() => {})
  }

  close (): void {
    this.controller.abort()
  }
}

/** Pipelined JSON-RPC over one HTTP request (the daemon's `/rpc/stream`). */
class RpcStream {
  private nextId = 1
  private readonly waiting = new Map<number, { resolve: (r: unknown) => void, reject: (e: Error) => void }>()
  private readonly req: ClientRequest
  constructor (url: URL, token: string) {
    this.req = httpRequest(url, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-ndjson' } })
    this.req.on('response', res => {
      res.setEncoding('utf8')
      let buffered = ''
      res.on('data', (chunk: string) => {
        buffered += chunk
        let nl: number
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const reply = JSON.parse(buffered.slice(0, nl)) as { id: number, result?: unknown, error?: { message: string } }
          buffered = buffered.slice(nl + 1)
          const w = this.waiting.get(reply.id)
          this.waiting.delete(reply.id)
          if (reply.error != null) w?.reject(new Error(reply.error.message))
          else w?.resolve(reply.result)
        }
      })
    })
    this.req.on('error', err => { for (const w of this.waiting.values()) w.reject(err) })
    this.req.flushHeaders()
  }

  async call<T> (method: string, params: Record<string, unknown>): Promise<T> {
    const id = this.nextId++
    const reply = new Promise<T>((resolve, reject) => { this.waiting.set(id, { resolve: resolve as (r: unknown) => void, reject }) })
    this.req.write(JSON.stringify({ jsonrpc: '2.0', id, method, params }) + '\n')
    return reply
  }

  close (): void {
    this.req.end()
  }
}

/** Stored-message times at the recipient, by message id; `wait(id)` resolves with the time it was stored. */
class Arrivals {
  readonly at = new Map<string, { at: number, storedAt?: number }>()
  private readonly waiters = new Map<string, (t: { at: number, storedAt?: number }) => void>()
  usedStoredAt = false

  attach (api: Api): void {
    api.listeners.add((e, at) => {
      if (e.type !== 'message' || e.direction !== 'in') return
      const id = String(e.id)
      const t = { at, storedAt: typeof e.storedAt === 'number' ? e.storedAt : undefined }
      if (!this.at.has(id)) this.at.set(id, t)
      this.waiters.get(id)?.(t)
      this.waiters.delete(id)
    })
  }

  async wait (id: string): Promise<{ at: number, storedAt?: number }> {
    const seen = this.at.get(id)
    if (seen != null) return seen
    return withTimeout(new Promise(resolve => this.waiters.set(id, resolve)), `message ${id} stored`)
  }
}

// ---- the floor: raw libp2p request/response + one synced LevelDB put ----------

/**
 * `stack`: 'defaults' (the libraries as they come) or 'starling' (as
 * Starling's nodes configure them). Run 'defaults' first: 'starling'
 * coalesces socket writes for the rest of this process.
 */
async function floor (samples: number, dir: string, stack: 'defaults' | 'starling'): Promise<{ latencyMs: ReturnType<typeof stats>, withoutPutMs: ReturnType<typeof stats> }> {
  if (stack === 'starling') coalesceSocketWrites()
  const make = async (): Promise<Libp2p> => createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [stack === 'starling' ? noise({ crypto: nodeNoiseCrypto() }) : noise()],
    streamMuxers: [stack === 'starling' ? starlingYamux() : yamux()]
  })
  const [client, server] = [await make(), await make()]
  const db = new Level<Uint8Array, Uint8Array>(join(dir, `floor-db-${stack}`), { keyEncoding: 'view', valueEncoding: 'view' })
  await db.open()
  let synced = true
  try {
    let n = 0
    const reply = new Uint8Array(16)
    await server.handle(RAW_PROTOCOL, async (stream) => {
      const lp = lpStream(stream, { maxDataLength: 64 * 1024 })
      try {
        for (;;) {
          const request = (await lp.read()).subarray()
          const key = new Uint8Array(8)
          new DataView(key.buffer).setUint32(4, n++)
          if (synced) await db.put(key, request, { sync: true })
          await lp.write(reply)
        }
      } catch {
        stream.abort(new Error('closed'))
      }
    })
    const stream = await client.dialProtocol(server.getMultiaddrs(), RAW_PROTOCOL)
    const lp = lpStream(stream)
    const request = new TextEncoder().encode(text(0))
    const run = async (count: number): Promise<number[]> => {
      const out: number[] = []
      for (let i = 0; i < count; i++) {
        const t0 = performance.now()
        await lp.write(request)
        await lp.read()
        out.push(performance.now() - t0)
      }
      return out
    }
    await run(WARMUP)
    const latencyMs = stats(await run(samples))
    synced = false
    const withoutPutMs = stats(await run(samples))
    await stream.close()
    return { latencyMs, withoutPutMs }
  } finally {
    await client.stop()
    await server.stop()
    await db.close()
  }
}

// ---- the run ------------------------------------------------------------------

const dir = await mkdtemp(join(tmpdir(), 'starling-bench-dm-'))
const apis: Api[] = []
try {
  const aliceDir = join(dir, 'alice')
  const bobDir = join(dir, 'bob')
  await cli(['init', '--handle', 'alice', '--data', aliceDir])
  await cli(['init', '--handle', 'bob', '--data', bobDir])
  const relay = await start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', join(dir, 'relay')], profileEnv('relay'))
  const relayAddr = (relay.ready.multiaddrs as string[])[0]
  const daemonArgs = (d: string): string[] => ['daemon', '--data', d, '--bootstrap', relayAddr, '--listen', '/ip4/127.0.0.1/tcp/0']
  const aliceProc = await start(daemonArgs(aliceDir), profileEnv('alice'))
  let bob = await start(daemonArgs(bobDir), profileEnv('bob'))
  const alice = await Api.open(aliceDir)
  let bobApi = await Api.open(bobDir)
  apis.push(alice, bobApi)
  for (const api of [alice, bobApi]) {
    const deadline = Date.now() + WAIT_MS
    while ((await api.call('status')).published == null) {
      if (Date.now() > deadline) throw new Error('records not published')
      await new Promise(resolve => setTimeout(resolve, 200))
    }
  }
  const arrivals = new Arrivals()
  arrivals.attach(bobApi)
  await bobApi.follow()
  const bobHandle = String(bob.ready.handle)
  // Bob knows alice (a contact, not a message request: requests keep at most 50 messages until accepted).
  await bobApi.call('open', { handle: 'alice', confirm: true })
  type Sender = (i: number) => Promise<{ id: string, receivedAt?: number }>
  const sendOne: Sender = async (i) => {
    const { result, receivedAt } = await alice.timedCall<{ id: string }>('send', { handle: bobHandle, text: text(i) })
    return { id: result.id, receivedAt }
  }
  // Requests the daemon refused, by phase and error: counted, reported, and tried again.
  const refusals: Record<string, Record<string, number>> = {}
  const refused = (phase: string, err: unknown): void => {
    const message = (err as Error).message.replace(/bob~\w+/, 'bob')
    refusals[phase] ??= {}
    refusals[phase][message] = (refusals[phase][message] ?? 0) + 1
  }
  /** Sends message i (up to SEND_ATTEMPTS requests); the id, when the accepted request left here and when it reached the daemon, or undefined. */
  const trySend = async (i: number, phase: string, send: Sender = sendOne): Promise<{ id: string, startedAt: number, receivedAt?: number } | undefined> => {
    for (let attempt = 1; attempt <= SEND_ATTEMPTS; attempt++) {
      const startedAt = now()
      try {
        return { ...await send(i), startedAt }
      } catch (err) {
        refused(phase, err)
      }
    }
    return undefined
  }

  // Warm-up: session set-up, connections, JIT.
  for (let i = 0; i < WARMUP; i++) {
    const sent = await trySend(i, 'warmup')
    if (sent != null) await arrivals.wait(sent.id)
  }

  // A no-op API round trip, for scale.
  const rtt: number[] = []
  for (let i = 0; i < 200; i++) {
    const t0 = performance.now()
    await bobApi.call('outbox')
    rtt.push(performance.now() - t0)
  }

  // Where a send's time goes: a handle resolution alone (the send method resolves the handle too).
  const resolveMs: number[] = []
  for (let i = 0; i < 100; i++) {
    const t0 = performance.now()
    try {
      await alice.call('resolve', { handle: bobHandle })
      resolveMs.push(performance.now() - t0)
    } catch (err) {
      refused('resolve', err)
    }
  }

  // Latency: one message at a time, from the send request reaching alice's
  // API to bob's daemon having stored the message. Both stamps are the
  // daemons' own clocks (performance.timeOrigin + now()); their offsets from
  // this process's clock are measured before and after and reported.
  const clocksBefore = { alice: await alice.clockOffset(), bob: await bobApi.clockOffset() }
  const latencyCpuBefore = { alice: await cpuMs(aliceProc.proc.pid), bob: await cpuMs(bob.proc.pid) }
  const latency: number[] = []
  const clientView: number[] = []
  const replyMs: number[] = []
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const sent = await trySend(i, 'latency')
    if (sent == null) continue
    replyMs.push(now() - sent.startedAt)
    const t = await arrivals.wait(sent.id)
    if (t.storedAt == null || sent.receivedAt == null) throw new Error('the daemons did not stamp the request or the stored message')
    latency.push(t.storedAt - sent.receivedAt)
    clientView.push(t.at - sent.startedAt)
  }
  const latencyCpuAfter = { alice: await cpuMs(aliceProc.proc.pid), bob: await cpuMs(bob.proc.pid) }
  const clocksAfter = { alice: await alice.clockOffset(), bob: await bobApi.clockOffset() }
  // CPU time per message of each daemon while messages go one at a time (ms; the clock checks are outside).
  const latencyCpuPerMessageMs = Object.fromEntries((['alice', 'bob'] as const).map(k => {
    const before = latencyCpuBefore[k]
    const after = latencyCpuAfter[k]
    return [k, before != null && after != null && latency.length > 0 ? Math.round((after - before) / latency.length * 1000) / 1000 : null]
  }))
  progress(`latency: median ${stats(latency).median} ms, p99 ${stats(latency).p99} ms; clocks ${JSON.stringify({ clocksBefore, clocksAfter })}`)

  // Throughput: many requests in flight, counted until all are stored at bob.
  let next = 0
  const cpuPids = { relay: relay.proc.pid, alice: aliceProc.proc.pid, bob: bob.proc.pid }
  const cpuBefore = Object.fromEntries(await Promise.all(Object.entries(cpuPids).map(async ([k, pid]) => [k, await cpuMs(pid)] as const)))
  const benchCpuBefore = process.cpuUsage()
  const tp0 = now()
  let lastStored = 0
  let abandoned = 0
  let storedCount = 0
  const stream = alice.openStream()
  const streamSend: Sender = async (i) => ({ id: (await stream.call<{ id: string }>('send', { handle: bobHandle, text: text(i) })).id })
  // Each of the C workers sends its next message once alice has accepted the
  // previous one (it is in her outbox); every message is then awaited until
  // bob has stored it, and the clock stops at the last.
  const accepted: string[] = []
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (next < THROUGHPUT_MESSAGES) {
      const sent = await trySend(next++, 'throughput', streamSend)
      if (sent == null) abandoned++
      else accepted.push(sent.id)
    }
  }))
  for (const id of accepted) {
    lastStored = Math.max(lastStored, (await arrivals.wait(id)).at)
    storedCount++
  }
  const throughput = Math.round(storedCount / ((lastStored - tp0) / 1000))
  stream.close()
  // CPU time per message of each process during the throughput phase (ms).
  const benchCpu = process.cpuUsage(benchCpuBefore)
  const cpuPerMessageMs: Record<string, number | null> = { bench: Math.round((benchCpu.user + benchCpu.system) / storedCount) / 1000 }
  for (const [k, pid] of Object.entries(cpuPids)) {
    const after = await cpuMs(pid)
    const before = cpuBefore[k]
    cpuPerMessageMs[k] = after != null && before != null ? Math.round((after - before) / storedCount * 1000) / 1000 : null
  }

  progress(`throughput: ${throughput} messages/s, CPU ms per message ${JSON.stringify(cpuPerMessageMs)} (${abandoned} abandoned, refusals: ${JSON.stringify(refusals.throughput ?? {})})`)
  const defaultsFloor = await floor(LATENCY_SAMPLES, dir, 'defaults')
  const floorResult = await floor(LATENCY_SAMPLES, dir, 'starling')
  progress(`floor: median ${floorResult.latencyMs.median} ms (library defaults: ${defaultsFloor.latencyMs.median} ms)`)

  // Catch-up: bob offline, messages held by the relay, bob back.
  await stop(bob.proc)
  bobApi.close()
  const held = new Set<string>()
  let allHeld: () => void = () => {}
  const heldDone = new Promise<void>(resolve => { allHeld = resolve })
  const pending = new Set<string>()
  const early = new Map<string, number>()
  alice.listeners.add(e => {
    if (e.type !== 'status' || e.state !== 'relayed') return
    const id = String(e.id)
    if (!pending.has(id)) { early.set(id, 1); return }
    held.add(id)
    if (held.size === CATCHUP_MESSAGES) allHeld()
  })
  await alice.follow()
  const queuedAt = now()
  for (let i = 0; i < CATCHUP_MESSAGES; i++) {
    const sent = await trySend(i, 'catchUp')
    if (sent == null) throw new Error(`catch-up message ${i} refused ${SEND_ATTEMPTS} times: ${JSON.stringify(refusals.catchUp)}`)
    pending.add(sent.id)
    if (early.has(sent.id)) held.add(sent.id)
  }
  if (held.size === CATCHUP_MESSAGES) allHeld()
  await withTimeout(heldDone, `${CATCHUP_MESSAGES} messages held by the relay`)
  const heldAfterMs = now() - queuedAt
  bob = await start(daemonArgs(bobDir), profileEnv('bob-restarted'))
  bobApi = await Api.open(bobDir)
  apis.push(bobApi)
  // The daemon counts the messages it stored since start and stamps the last
  // one (its clock); poll until all are in, then check each arrived once.
  type Received = { messages: number, lastStoredAt: number }
  let received: Received = { messages: 0, lastStoredAt: 0 }
  const caughtUpBy = Date.now() + WAIT_MS
  while ((received = (await bobApi.call<{ received: Received }>('status')).received).messages < CATCHUP_MESSAGES) {
    if (Date.now() > caughtUpBy) throw new Error(`catch-up: ${received.messages} of ${CATCHUP_MESSAGES} stored after ${WAIT_MS} ms`)
    await new Promise(resolve => setTimeout(resolve, 20))
  }
  const bobClock = await bobApi.clockOffset(20)
  const history = (await bobApi.call<{ messages: Array<{ id: string }> }>('history', { handle: 'alice', limit: CATCHUP_MESSAGES * 100 })).messages.map(m => m.id)
  const missing = [...pending].filter(id => !history.includes(id)).length
  const twice = history.length - new Set(history).size
  if (missing > 0 || twice > 0) throw new Error(`catch-up: ${missing} messages missing, ${twice} stored twice`)
  const allStoredAt = received.lastStoredAt - bobClock.offsetMs

  const floorMedian = floorResult.latencyMs.median
  const ours = stats(latency)
  console.log(JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform },
    setup: 'relay + 2 daemons as processes, TCP 127.0.0.1, Noise, yamux; text of 1,024 ASCII code points; sent through the sender daemon API, counted when the recipient daemon reports it stored',
    latency: {
      what: 'from the send request reaching the sender daemon API (its starling-received-at) to the message stored on the recipient (its storedAt); both daemon clocks',
      samples: latency.length,
      ms: ours,
      clockOffsetsMs: { before: clocksBefore, after: clocksAfter },
      clientViewMs: stats(clientView),
      cpuPerMessageMs: latencyCpuPerMessageMs,
      breakdown: {
        sendRequestAnsweredMs: stats(replyMs),
        resolveRequestMs: stats(resolveMs),
        noopRequestMs: stats(rtt)
      }
    },
    floor: {
      what: 'libp2p TCP+Noise+yamux as Starling configures them, one kept-open stream, 1 KiB request, 16-byte reply after one synced LevelDB put (level, sync: true) of the request',
      ms: floorResult.latencyMs,
      withoutPutMs: floorResult.withoutPutMs,
      libraryDefaults: { ms: defaultsFloor.latencyMs, withoutPutMs: defaultsFloor.withoutPutMs }
    },
    ratio: Math.round(ours.median / floorMedian * 100) / 100,
    throughput: { cpuPerMessageMs, messages: THROUGHPUT_MESSAGES, concurrency: CONCURRENCY, messagesPerSecond: throughput, stored: storedCount, abandonedAfterAttempts: { attempts: SEND_ATTEMPTS, messages: abandoned } },
    catchUp: {
      what: 'bob stopped, messages held by the relay, bob started: from spawning its process to its daemon having stored all (its own stamp of the last one, corrected by its clock offset)',
      messages: CATCHUP_MESSAGES,
      storedInAll: received.messages,
      heldByRelayAfterMs: Math.round(heldAfterMs),
      recipientStartToReadyMs: Math.round(bob.readyAt - bob.spawnedAt),
      msFromStartToAllStored: Math.round(allStoredAt - bob.spawnedAt),
      msFromReadyToAllStored: Math.round(allStoredAt - bob.readyAt),
      recipientClockOffsetMs: bobClock
    },
    refusedRequests: refusals,
    targets: { ratioAtMost: 2, messagesPerSecondAtLeast: 2000, catchUpMsBelow: 2000 }
  }, null, 2))
} finally {
  for (const api of apis) api.close()
  await Promise.all([...procs].map(stop))
  await rm(dir, { recursive: true, force: true })
}
