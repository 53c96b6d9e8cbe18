/**
 * `npm run bench:relay`: the load one relay carries (issue 14, item 4). A
 * real relay process (`starling relay`, LevelDB, TCP on 127.0.0.1) and
 * several client processes (scripts/bench-relay-worker.ts) of lean users:
 *
 *   1. store: users put envelopes (each answered with a signed custody
 *      receipt after a synced write) as fast as the relay answers;
 *   2. fetch: each owner reads its mailboxes; 3. delete: owners delete them;
 *   4. memory and disk of the relay per 10,000 held envelopes;
 *   5. users held connected, each with a circuit relay reservation, in
 *      steps; at each step a probe of puts at a steady rate from held users
 *      drawn at random (`--probe-rate` a second over `--probe-seconds`; or,
 *      with `--puts-per-user N`, N per held user over 5 s, which
 *      grows with the users and so measures throughput as much as
 *      connections): where the p99 latency crosses 100 ms, with the relay's
 *      CPU, memory and descriptors at each step (what binds it);
 *   6. the floor in the same run (bench-relay-floor.ts) and the ratio.
 *
 * Prints one JSON object. Options: --envelopes 40000 --size 600 --workers 4
 * --users 64 --in-flight 8 --steps 250,500,1000,1500,2000,2500,3000 --probe-rate 100
 * --probe-seconds 10 [--puts-per-user N] [--profile DIR]
 * [--phases store,fetch,delete,connections] (the floor always runs) [--relay-debug NAMESPACES] [--relay-log FILE].
 *
 * Beside each rate it reports the CPU the relay and the clients used: they
 * share the machine's cores, so a rate that the clients bind says nothing
 * of the relay. `relayCpuMsPerEnvelope` is what load distorts least after
 * the ratio.
 */
import { fork, spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { directoryBytes } from '../node/relay-ops/metrics.js'
import { measureFloor } from './bench-relay-floor.js'
import type { Job, JobResult } from './bench-relay-worker.js'

function arg (name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i >= 0 && process.argv[i + 1] != null ? process.argv[i + 1] : fallback
}

const ENVELOPES = Number(arg('envelopes', '40000'))
const SIZE = Number(arg('size', '600'))
const WORKERS = Number(arg('workers', '4'))
const USERS = Number(arg('users', '64'))
const IN_FLIGHT = Number(arg('in-flight', '8'))
const STEPS = arg('steps', '250,500,1000,1500,2000,2500,3000').split(',').map(Number)
/** A directory for a CPU profile of the relay process (node --cpu-prof), to see where its time goes. */
const PROFILE = arg('profile', '')
/** `DEBUG` namespaces for the relay process alone (its stderr is the bench's), e.g. libp2p:connection-monitor:error. */
const RELAY_DEBUG = arg('relay-debug', '')
/** A file for the relay's own log (its JSON lines on stdout): why it stopped, when it does. */
const RELAY_LOG = arg('relay-log', '')
/** The connections probe: puts a second in all, from random held users, over this many seconds. */
const PROBE_RATE = Number(arg('probe-rate', '100'))
const PROBE_SECONDS = Number(arg('probe-seconds', '10'))
/** When given: this many puts per held user over 5 s instead (the probe's load then grows with the users). */
const PUTS_PER_USER = Number(arg('puts-per-user', '0'))
/** A step's probe starts once the relay and each client process use under this share of a core (or after SETTLE_MAX_MS). */
const SETTLED_CORES = 0.25
const SETTLE_MAX_MS = 60_000
const PHASES = new Set(arg('phases', 'store,fetch,delete,connections').split(','))
const LATENCY_TARGET_MS = 100
const ROOT = resolve(import.meta.dirname, '..')
const UNLIMITED = [
  '--rate-burst', '100000000', '--rate-per-second', '100000000', '--max-storage', '64GiB', '--max-storage-per-source', '64GiB',
  '--max-connections', '20000', '--max-connections-per-source', '20000', '--max-reservations', '20000', '--max-reservations-per-source', '20000'
]

function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] * 100) / 100
}

/** The relay process's CPU seconds, resident memory and open descriptors (Linux /proc). */
async function processStats (pid: number): Promise<{ cpuSeconds: number, rssBytes: number, fds: number }> {
  const stat = (await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1].split(' ')
  const status = await readFile(`/proc/${pid}/status`, 'utf8')
  return {
    cpuSeconds: (Number(stat[11]) + Number(stat[12])) / 100,
    rssBytes: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) * 1024,
    fds: (await readdir(`/proc/${pid}/fd`)).length
  }
}

/**
 * Waits (at most `maxMs`) until the relay and the clients have settled
 * after a step's users connected: their CPU over a 2 s window under
 * `cores` each. A step measures holding the users, not their arrival
 * (hundreds of handshakes and reservations in seconds, which no relay sees
 * in use); how long it took is reported.
 */
async function settle (relayPid: number, workers: ChildProcess[], cores: number, maxMs: number): Promise<number> {
  const started = performance.now()
  while (performance.now() - started < maxMs) {
    const r0 = (await processStats(relayPid)).cpuSeconds
    const c0 = await cpuOf(workers)
    await new Promise(resolve => setTimeout(resolve, 2000))
    const relayCores = ((await processStats(relayPid)).cpuSeconds - r0) / 2
    const clientCores = (await cpuOf(workers) - c0) / 2 / workers.length
    if (relayCores < cores && clientCores < cores) break
  }
  return Math.round(performance.now() - started)
}

/** CPU seconds the client processes used so far. */
async function cpuOf (workers: ChildProcess[]): Promise<number> {
  const stats = await Promise.all(workers.map(async w => await processStats(w.pid as number)))
  return stats.reduce((n, s) => n + s.cpuSeconds, 0)
}

async function metric (url: string, name: string): Promise<number> {
  const text = await (await fetch(url)).text()
  const line = text.split('\n').find(l => l.startsWith(`${name} `))
  return Number(line?.split(' ')[1] ?? NaN)
}

/** Runs one job on every worker at once; sums the counts, merges the latencies, the slowest worker's time. */
async function onAll (workers: ChildProcess[], job: (i: number) => Job): Promise<JobResult> {
  const results = await Promise.all(workers.map(async (w, i) => await new Promise<JobResult>(resolve => {
    w.once('message', (r: JobResult) => { resolve(r) })
    w.send(job(i))
  })))
  return {
    ops: results.reduce((n, r) => n + r.ops, 0),
    failed: results.reduce((n, r) => n + r.failed, 0),
    ms: Math.max(...results.map(r => r.ms)),
    latencies: results.flatMap(r => r.latencies),
    error: results.find(r => r.error != null)?.error,
    errors: results.reduce<Record<string, number>>((all, r) => {
      for (const [k, n] of Object.entries(r.errors ?? {})) all[k] = (all[k] ?? 0) + n
      return all
    }, {})
  }
}

function summary (r: JobResult): Record<string, unknown> {
  return { ops: r.ops, failed: r.failed, seconds: Math.round(r.ms) / 1000, perSecond: Math.round(r.ops / (r.ms / 1000)), p50Ms: percentile(r.latencies, 0.5), p99Ms: percentile(r.latencies, 0.99), ...(r.error != null ? { firstError: r.error, errors: r.errors } : {}) }
}

async function startRelay (dir: string): Promise<{ proc: ChildProcess, addr: string, metrics: string, health: string }> {
  const profile = PROFILE !== '' ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE)}`] : []
  const proc = spawn(process.execPath, [...profile, join(ROOT, 'node/bin/starling.js'), 'relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', dir, '--metrics', '127.0.0.1:0', '--health', '127.0.0.1:0', ...UNLIMITED, '--json'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...(RELAY_DEBUG !== '' ? { DEBUG: RELAY_DEBUG } : {}) } })
  const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
    const log = RELAY_LOG !== '' ? createWriteStream(RELAY_LOG) : undefined
    createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on('line', line => {
      log?.write(`${line}\n`)
      const event = line.startsWith('{') ? JSON.parse(line) as Record<string, unknown> : undefined
      if (event?.event === 'ready') resolve(event)
    })
    proc.once('exit', code => { reject(new Error(`the relay exited with ${code}`)) })
  })
  return { proc, addr: (ready.multiaddrs as string[])[0], metrics: String(ready.metrics), health: String(ready.health) }
}

async function main (): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'starling-bench-relay-'))
  const relay = await startRelay(join(dir, 'relay'))
  const pid = relay.proc.pid as number
  const workers = Array.from({ length: WORKERS }, () => fork(join(ROOT, 'scripts/bench-relay-worker.ts'), [], { env: { ...process.env, DEBUG_COLORS: process.env.DEBUG_COLORS ?? 'false' }, execArgv: ['--import', 'tsx', ...(PROFILE !== '' ? ['--cpu-prof', `--cpu-prof-dir=${resolve(PROFILE)}`] : [])] }))
  const out: Record<string, unknown> = { machine: { cores: (await readFile('/proc/cpuinfo', 'utf8')).split('\n').filter(l => l.startsWith('processor')).length, loadAverageAtStart: loadavg().map(l => Math.round(l * 100) / 100) }, envelopeBytes: SIZE }
  try {
    await new Promise(resolve => setTimeout(resolve, 2000))
    const before = { ...await processStats(pid), disk: await directoryBytes(join(dir, 'relay')) }
    const batchesBefore = await metric(relay.metrics, 'starling_relay_store_batches_total')
    const commitsBefore = await metric(relay.metrics, 'starling_relay_store_commits_total')
    const putBatchesBefore = await metric(relay.metrics, 'starling_relay_store_put_batches_total')
    const batchedPutsBefore = await metric(relay.metrics, 'starling_relay_store_batched_puts_total')
    const perUser = Math.ceil(ENVELOPES / (WORKERS * USERS))
    // The users connect first: the CPU below is the store's alone (it included their set-up: keys, dials, handshakes).
    await onAll(workers, i => ({ kind: 'connect', relay: relay.addr, users: USERS, perUser, hostBase: i * 1000 }))
    const cpuBefore = (await processStats(pid)).cpuSeconds
    const clientCpuBefore = await cpuOf(workers)
    const stored = await onAll(workers, () => ({ kind: 'store', perUser, inFlight: IN_FLIGHT, size: SIZE }))
    const cpuStore = (await processStats(pid)).cpuSeconds - cpuBefore
    const clientCpu = await cpuOf(workers) - clientCpuBefore
    const loadDuringStore = Math.round(loadavg()[0] * 100) / 100
    const batches = await metric(relay.metrics, 'starling_relay_store_batches_total') - batchesBefore
    const commits = await metric(relay.metrics, 'starling_relay_store_commits_total') - commitsBefore
    const batch = Math.max(1, Math.round(commits / batches))
    // Store requests that carried several puts (the client batches puts waiting for their turn); absent from a relay without batches.
    const putBatches = await metric(relay.metrics, 'starling_relay_store_put_batches_total') - putBatchesBefore
    const batchedPuts = await metric(relay.metrics, 'starling_relay_store_batched_puts_total') - batchedPutsBefore
    const requests = Number.isNaN(putBatches) ? stored.ops + stored.failed : stored.ops + stored.failed - batchedPuts + putBatches
    out.store = { ...summary(stored), users: WORKERS * USERS, inFlightPerUser: IN_FLIGHT, synced: true, receiptSigned: true, groupCommit: { batches, envelopesPerBatch: batch },
      putRequests: { requests, batches: Number.isNaN(putBatches) ? 0 : putBatches, putsPerRequest: Math.round((stored.ops + stored.failed) / requests * 100) / 100 },
      // What the relay and the client processes each used of the machine's cores while storing (they share them).
      relayCpuSecondsPerSecond: Math.round(cpuStore / (stored.ms / 1000) * 100) / 100,
      clientsCpuSecondsPerSecond: Math.round(clientCpu / (stored.ms / 1000) * 100) / 100,
      relayCpuMsPerEnvelope: Math.round(cpuStore * 1000 / stored.ops * 1000) / 1000,
      clientsCpuMsPerEnvelope: Math.round(clientCpu * 1000 / stored.ops * 1000) / 1000,
      loadAverage: loadDuringStore
    }
    await new Promise(resolve => setTimeout(resolve, 2000))
    const held = await metric(relay.metrics, 'starling_relay_envelopes_held')
    const after = { ...await processStats(pid), disk: await directoryBytes(join(dir, 'relay')) }
    out.per10000Held = { held, rssBytes: Math.round((after.rssBytes - before.rssBytes) / held * 10_000), diskBytes: Math.round((after.disk - before.disk) / held * 10_000) }
    if (PHASES.has('fetch')) out.fetch = { ...summary(await onAll(workers, () => ({ kind: 'fetch' }))), loadAverage: Math.round(loadavg()[0] * 100) / 100 }
    if (PHASES.has('delete')) out.delete = { ...summary(await onAll(workers, () => ({ kind: 'delete' }))), loadAverage: Math.round(loadavg()[0] * 100) / 100 }
    await onAll(workers, () => ({ kind: 'release' }))

    // Users held connected with a reservation each, in steps, and a probe of puts at each step.
    const steps: Array<Record<string, unknown>> = []
    let held2 = 0
    for (const target of PHASES.has('connections') ? STEPS : []) {
      const add = Math.ceil((target - held2) / WORKERS)
      const hold = await onAll(workers, i => ({ kind: 'hold', relay: relay.addr, users: add, reserve: true, hostBase: i * 5000 + held2 / WORKERS }))
      held2 += add * WORKERS
      const settledMs = await settle(pid, workers, SETTLED_CORES, SETTLE_MAX_MS)
      const health = await (await fetch(relay.health)).json() as { connections: number, reservations: number }
      const cpu0 = (await processStats(pid)).cpuSeconds
      const clientCpu0 = await cpuOf(workers)
      const t0 = performance.now()
      const probe = await onAll(workers, () => PUTS_PER_USER > 0
        ? { kind: 'probe', puts: PUTS_PER_USER * Math.ceil(held2 / WORKERS), spreadMs: 5000, size: SIZE }
        : { kind: 'probe', puts: Math.ceil(PROBE_RATE * PROBE_SECONDS / WORKERS), spreadMs: PROBE_SECONDS * 1000, size: SIZE })
      const stats = await processStats(pid)
      const clients = await Promise.all(workers.map(async w => await processStats(w.pid as number)))
      const seconds = (performance.now() - t0) / 1000
      const step = {
        users: held2,
        holdFailed: hold.failed,
        settledMs,
        ...(hold.error != null ? { holdError: hold.error } : {}),
        connections: health.connections,
        reservations: health.reservations,
        puts: probe.ops,
        failed: probe.failed,
        p50Ms: percentile(probe.latencies, 0.5),
        p99Ms: percentile(probe.latencies, 0.99),
        relayCpu: Math.round((stats.cpuSeconds - cpu0) / seconds * 100) / 100,
        relayRssMiB: Math.round(stats.rssBytes / 1024 / 1024),
        relayFds: stats.fds,
        clientsCpu: Math.round((clients.reduce((n, c) => n + c.cpuSeconds, 0) - clientCpu0) / seconds * 100) / 100,
        clientsRssMiB: Math.round(clients.reduce((n, c) => n + c.rssBytes, 0) / 1024 / 1024),
        loadAverage: Math.round(loadavg()[0] * 100) / 100
      }
      steps.push(step)
      process.stderr.write(`bench:relay ${JSON.stringify(step)}\n`)
      // On past the crossing: how many it holds at all matters too. Not once half the new users failed to connect.
      if (hold.failed > add * WORKERS / 2) break
    }
    const under = steps.filter(s => (s.p99Ms as number) <= LATENCY_TARGET_MS)
    const crossed = steps.find(s => (s.p99Ms as number) > LATENCY_TARGET_MS)
    if (PHASES.has('connections')) out.connections = {
      probe: PUTS_PER_USER > 0 ? `${PUTS_PER_USER} puts per held user (from users drawn at random) over 5 s` : `${PROBE_RATE} puts a second from held users drawn at random, over ${PROBE_SECONDS} s`,
      steps,
      heldWithP99Under100Ms: under.at(-1)?.users ?? 0,
      reservationsWithP99Under100Ms: under.at(-1)?.reservations ?? 0,
      p99Crosses100MsAt: crossed?.users ?? null,
      // A Node relay is one thread: at a core's worth of CPU, requests queue behind each other.
      bindingResource: crossed == null ? null : (crossed.relayCpu as number) >= 0.85 ? 'CPU (the relay\'s one thread)' : (crossed.relayFds as number) > 18_000 ? 'file descriptors' : 'not CPU-bound in the relay: the machine (load average) or the clients'
    }
    await onAll(workers, () => ({ kind: 'release' }))
  } finally {
    await Promise.all(workers.map(async w => {
      const exited = new Promise(resolve => w.once('exit', resolve))
      w.disconnect()
      await Promise.race([exited, new Promise(resolve => setTimeout(resolve, 5_000).unref())])
      w.kill()
    }))
    relay.proc.kill('SIGTERM')
    await new Promise(resolve => relay.proc.once('exit', resolve))
  }
  const envelopesPerBatch = (out.store as { groupCommit: { envelopesPerBatch: number } }).groupCommit.envelopesPerBatch
  const floor = await measureFloor(join(dir, 'floor'), Math.min(ENVELOPES, 40_000), envelopesPerBatch, SIZE)
  out.floor = floor
  out.ratio = Math.round(floor.perSecond / ((out.store as { perSecond: number }).perSecond) * 100) / 100
  out.machine = { ...(out.machine as object), loadAverageAtEnd: loadavg().map(l => Math.round(l * 100) / 100) }
  await rm(dir, { recursive: true, force: true })
  process.stdout.write(JSON.stringify(out, null, 2) + '\n')
}

main().catch(err => {
  process.stderr.write(`bench:relay failed: ${(err as Error).stack ?? String(err)}\n`)
  process.exit(1)
})
