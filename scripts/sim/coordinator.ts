/**
 * Runs a scenario: draws its schedule (test/sim/schedule.ts), forks one
 * worker process per core (scripts/sim/worker.ts), hands out the relays'
 * keys and ports, walks the workers through the phases (relays up, users up
 * and published, go), shows a progress bar, waits for the last deliveries
 * after the workload ends, stops the workers and writes the run's folder
 * (test/sim/output.ts).
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { freePort } from '../../node/free-port.js'
import { availableParallelism, loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { buildSchedule } from '../../test/sim/schedule.js'
import type { Scenario } from '../../test/sim/scenario.js'
import type { FromWorker, RelayInfo, ToWorker, UserInfo, WorkerStats } from '../../test/sim/protocol.js'
import { RunLog } from '../../test/sim/run-log.js'
import { writeRun } from '../../test/sim/output.js'
import type { Summary } from '../../test/sim/summary.js'
import { contactsDeadlineMs } from '../../test/sim/contacts.js'

/** Wall ms between the go message and the workload's start: every worker has its timers set by then. */
const GO_LEAD_MS = 3_000
/** How often the settle phase checks whether everything arrived, wall ms. */
const SETTLE_CHECK_MS = 1_000
/** The longest a worker may take for one phase (start, stop), wall ms. */
const PHASE_TIMEOUT_MS = 30 * 60_000
/** Adding contacts reports at its deadline (test/sim/contacts.ts): the coordinator waits that long and this much more. */
const CONTACTS_REPORT_GRACE_MS = 5 * 60_000

export interface RunOptions {
  outDir: string
  /** Progress and log lines. */
  log: (line: string) => void
  /** Overwrites the progress line in place (a terminal), or undefined to print lines. */
  progress?: (line: string) => void
}


/** Runs `scenario` and writes its folder; resolves with the summary. */
export async function runSimulation (scenario: Scenario, options: RunOptions): Promise<Summary> {
  const workers = Math.max(1, Math.min(scenario.workers > 0 ? scenario.workers : availableParallelism(), scenario.relays))
  const schedule = buildSchedule(scenario, workers)
  const runId = `${process.pid}-${Date.now().toString(36)}`
  const relays: RelayInfo[] = []
  for (let i = 0; i < scenario.relays; i++) {
    const key = await generateKeyPair('Ed25519')
    relays.push({ index: i, key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), peerId: peerIdFromPrivateKey(key).toString(), port: await freePort(), worker: schedule.relayWorker[i] })
  }
  const run = new RunLog(scenario, schedule, workers)
  const started = Date.now()
  if (scenario.faults.namespaces) options.log('faults.namespaces: network namespaces per worker are not built yet; the run goes on in one namespace')
  options.log(`simulate ${scenario.name}: ${scenario.relays} relays, ${scenario.users} users, ${workers} workers, ${schedule.messages.length} messages over ${scenario.durationSeconds} s (time dilation ${scenario.timeDilation}x)`)

  const children: ChildProcess[] = []
  const waiting = new Map<string, { count: number, resolve: () => void }>()
  /** The last "worker failed" line a worker sent: the run's error names it. */
  let lastFailure: string | undefined
  const expect = async (type: FromWorker['type'], timeoutMs = PHASE_TIMEOUT_MS): Promise<void> => {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error(`workers did not report ${type} within ${timeoutMs} ms`)) }, timeoutMs)
      waiting.set(type, { count: workers, resolve: () => { clearTimeout(timer); resolve() } })
    })
  }
  const onMessage = (msg: FromWorker): void => {
    run.record(msg)
    if (msg.type === 'log') options.log(`worker ${msg.worker}: ${msg.line}`)
    if (msg.type === 'log' && msg.line.startsWith('worker failed:')) lastFailure = msg.line
    const w = waiting.get(msg.type)
    if (w != null && --w.count === 0) {
      waiting.delete(msg.type)
      w.resolve()
    }
  }
  const broadcast = (msg: ToWorker): void => { for (const c of children) c.send(msg) }
  let failed: Error | undefined
  const workerPath = fileURLToPath(new URL('./worker.ts', import.meta.url))
  for (let w = 0; w < workers; w++) {
    // SIM_CPU_PROF=DIR: worker 0 writes a CPU profile there (node --cpu-prof) when it exits.
    const prof = process.env.SIM_CPU_PROF != null && process.env.SIM_CPU_PROF !== '' && w === 0 ? ['--cpu-prof', `--cpu-prof-dir=${process.env.SIM_CPU_PROF}`] : []
    // DEBUG_COLORS set: the logger (weald) otherwise asks isatty() for every logger it creates, one per query, stream and connection (~1% of a worker's CPU).
    const env = { ...process.env, DEBUG_COLORS: process.env.DEBUG_COLORS ?? '0' }
    const child = fork(workerPath, [], { execArgv: ['--import', 'tsx', ...prof], env, serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    child.on('message', onMessage)
    child.on('exit', (code) => {
      if (code !== 0 && code != null && failed == null) {
        failed = new Error(`worker ${w} exited with code ${code}${lastFailure != null ? ` (${lastFailure})` : ''}`)
        for (const pending of waiting.values()) pending.resolve()
      }
    })
    children.push(child)
  }
  const check = (): void => { if (failed != null) throw failed }
  try {
    const relaysUp = expect('relays-up')
    for (const [w, c] of children.entries()) c.send({ type: 'init', scenario, schedule, worker: w, runId, relays } satisfies ToWorker)
    await relaysUp
    check()
    options.log(`relays up after ${((Date.now() - started) / 1000).toFixed(1)} s; starting users`)
    const usersUp = expect('users-up')
    broadcast({ type: 'start-users' })
    await usersUp
    check()
    const users: UserInfo[] = run.users()
    if (scenario.workload.knownContacts) {
      options.log(`users up after ${((Date.now() - started) / 1000).toFixed(1)} s; adding contacts`)
      const contactsStarted = Date.now()
      const perWorker = Array.from({ length: workers }, (_, w) => schedule.users.filter(u => u.worker === w).reduce((n, u) => n + u.contacts.length, 0))
      const deadlineMs = Math.max(...perWorker.map(n => contactsDeadlineMs(scenario, n)))
      const added = expect('contacts-added', Math.max(PHASE_TIMEOUT_MS, deadlineMs + CONTACTS_REPORT_GRACE_MS))
      broadcast({ type: 'add-contacts', users })
      await added
      check()
      run.contacts.seconds = (Date.now() - contactsStarted) / 1000
      options.log(`${run.contacts.added} contacts added in ${run.contacts.seconds.toFixed(1)} s, ${run.contacts.failed} not added (${run.contacts.cutOff} of them cut off by the deadline, ${(deadlineMs / 1000).toFixed(0)} s at most per worker)`)
    }
    const wallStart = Date.now() + GO_LEAD_MS
    run.start(wallStart, Date.now() - started, loadavg()[0])
    options.log(`warm-up done after ${((Date.now() - started) / 1000).toFixed(1)} s (${run.unpublished} users without published records); workload starts`)
    broadcast({ type: 'go', wallStart, users })

    const workloadEnd = wallStart + schedule.durationMs * scenario.timeDilation
    const settleEnd = workloadEnd + scenario.settleSeconds * 1000 * scenario.timeDilation
    let lastLine = 0
    for (;;) {
      await new Promise(resolve => setTimeout(resolve, SETTLE_CHECK_MS))
      check()
      const now = Date.now()
      const line = run.progressLine(now)
      if (options.progress != null) options.progress(line)
      else if (now - lastLine >= 15_000) { options.log(line); lastLine = now }
      if (now >= settleEnd) break
      if (now >= workloadEnd && run.allDelivered()) break
    }
    options.log(run.progressLine(Date.now()))
    const stopped = expect('stopped')
    broadcast({ type: 'stop' })
    await stopped
    check()
  } finally {
    for (const c of children) if (c.exitCode == null && c.connected) c.disconnect()
    await Promise.all(children.map(async c => {
      if (c.exitCode != null) return
      const exited = new Promise(resolve => c.once('exit', resolve))
      const timer = setTimeout(() => c.kill('SIGKILL'), 15_000)
      await exited
      clearTimeout(timer)
    }))
  }
  const summary = await writeRun(options.outDir, run, { wallSeconds: (Date.now() - started) / 1000 })
  return summary
}

export type { WorkerStats }
