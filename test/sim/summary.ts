/**
 * A run's figures from its log (test/sim/run-log.ts): delivery ratio to the
 * users that came back online after the send, duplicates, latency
 * percentiles, wire bytes per delivered message, handle resolution times,
 * CPU, memory and event-loop lag per worker and per node, and which of them
 * limits going further.
 */
import { cpus, totalmem } from 'node:os'
import type { RunLog } from './run-log.js'
import { adversaryFigures, faultCounts } from './adversaries-summary.js'
import type { AdversarySummary, HonestFigures } from './adversaries-summary.js'

export interface Percentiles { count: number, p50: number, p90: number, p99: number, max: number }

export interface Summary {
  name: string
  seed: number
  date: string
  /** `loadAverage`: the 1-minute load average when the workload started (other processes on the machine count too). */
  machine: { cores: number, cpu: string, memoryGiB: number, node: string, loadAverage: number }
  /** "real" or "dilated Nx": how simulated time relates to the wall's. */
  time: string
  timeDilation: number
  wallSeconds: number
  nodes: { relays: number, users: number, workers: number, churning: number }
  /** Starting relays and users until their records were published; users still unpublished then. */
  warmup: { seconds: number, unpublishedUsers: number }
  messages: {
    scheduled: number
    /** Stored in the sender's outbox (send resolved). */
    queued: number
    /** Send calls that failed (e.g. the handle did not resolve): never queued. */
    sendFailed: number
    /** Queued messages whose recipient was online at some point after the send. */
    toReturningRecipients: number
    delivered: number
    deliveryRatio: number
    /**
     * Delivered of every message meant for a recipient who came back,
     * counting the send calls that failed before queueing (which
     * deliveryRatio does not see).
     */
    endToEndRatio: number
    /** Receptions beyond the first, over all messages. */
    duplicates: number
    /** Receptions naming a message meant for someone else. */
    misdirected: number
    viaRelay: number
    undelivered: number[]
    sendErrors: Record<string, number>
  }
  /** Simulated ms from the send call to the recipient storing it. */
  latencyMs: { all: Percentiles, recipientOnlineAtSend: Percentiles }
  bytes: { total: number, perDeliveredMessage: number }
  /** Tries that resolved (simulated ms), and tries that failed. */
  resolutionMs: Percentiles & { failed: number }
  /**
   * With known contacts: contacts added at warm-up, not added (out of tries,
   * or cut off by the deadline), of those the ones cut off, and how long it
   * took (wall seconds).
   */
  contacts?: { added: number, failed: number, cutOff: number, seconds: number }
  resources: {
    workers: Array<{ worker: number, nodes: number, cpuSeconds: number, cpuShare: number, peakRssMiB: number, rssPerNodeMiB: number, lagP99MaxMs: number, lagMaxMs: number }>
    cpuShareOfMachine: number
    peakRssMiB: number
    rssPerNodeMiB: number
    cpuMsPerNodePerSecond: number
    lagP99MaxMs: number
  }
  faults: Record<string, number>
  /** With adversaries (test/sim/adversaries.ts): delivery between honest users, and what the adversaries did. */
  honest?: HonestFigures
  adversaries?: AdversarySummary
  /** What limits going further, in words, from the figures above. */
  limits: string
}

/** Nearest-rank percentiles of `values`. */
export function percentiles (values: number[]): Percentiles {
  const sorted = [...values].sort((a, b) => a - b)
  const at = (p: number): number => sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]
  const round = (n: number): number => Math.round(n * 10) / 10
  return { count: sorted.length, p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(sorted.at(-1) ?? 0) }
}

/** The latency, in simulated ms, of each message's first reception. */
export function latencies (run: RunLog): Array<{ seq: number, ms: number, recipientOnline: boolean }> {
  const out: Array<{ seq: number, ms: number, recipientOnline: boolean }> = []
  for (const [seq, sent] of run.sent) {
    const first = run.receptions.get(seq)?.[0]
    if (first == null) continue
    const m = run.schedule.messages[seq]
    const recipient = run.schedule.users[m.to]
    const recipientOnline = recipient.sessions.some(([a, b]) => m.at >= a && m.at < b)
    out.push({ seq, ms: Math.max(0, (first.wall - sent.wall) / run.scenario.timeDilation), recipientOnline })
  }
  return out
}

export function summarise (run: RunLog, wallSeconds: number): Summary {
  const { scenario, schedule } = run
  // Meant for a recipient online at some point after the send.
  const toReturning = (seq: number): boolean => {
    const m = schedule.messages[seq]
    return schedule.users[m.to].sessions.some(([, b]) => b > m.at)
  }
  const returning = [...run.sent.keys()].filter(toReturning)
  const delivered = returning.filter(seq => run.receptions.has(seq))
  const failedToReturning = [...run.failed.keys()].filter(toReturning)
  const attempted = returning.length + failedToReturning.length
  let duplicates = 0
  let viaRelay = 0
  for (const list of run.receptions.values()) {
    duplicates += list.length - 1
    if (list[0].via === 'relay') viaRelay++
  }
  const lat = latencies(run)
  const sendErrors: Record<string, number> = {}
  for (const e of run.failed.values()) {
    const key = e.split(':')[0]
    sendErrors[key] = (sendErrors[key] ?? 0) + 1
  }
  const latest = run.latestStats()
  const totalBytes = latest.reduce((a, s) => a + s.bytes, 0)
  const workers = latest.map(s => {
    const all = run.stats.filter(x => x.worker === s.worker)
    // Lag is judged from the workload on: the warm-up starts every user at once.
    const mine = all.filter(x => x.t >= run.wallStart).length > 0 ? all.filter(x => x.t >= run.wallStart) : all
    const peakRss = Math.max(...all.map(x => x.rssBytes)) / 2 ** 20
    return {
      worker: s.worker,
      nodes: s.nodes,
      cpuSeconds: round(s.cpuMs / 1000),
      cpuShare: round(s.cpuMs / 1000 / wallSeconds),
      peakRssMiB: round(peakRss),
      rssPerNodeMiB: round(peakRss / Math.max(1, s.nodes)),
      lagP99MaxMs: round(Math.max(...mine.map(x => x.lagP99))),
      lagMaxMs: round(Math.max(...mine.map(x => x.lagMax)))
    }
  })
  const cores = cpus().length
  const cpuSeconds = workers.reduce((a, w) => a + w.cpuSeconds, 0)
  const nodes = scenario.relays + scenario.users
  const peakRssMiB = round(workers.reduce((a, w) => a + w.peakRssMiB, 0))
  const resources = {
    workers,
    cpuShareOfMachine: round(cpuSeconds / wallSeconds / cores),
    peakRssMiB,
    rssPerNodeMiB: round(peakRssMiB / nodes),
    cpuMsPerNodePerSecond: round(cpuSeconds * 1000 / wallSeconds / nodes),
    lagP99MaxMs: Math.max(0, ...workers.map(w => w.lagP99MaxMs))
  }
  const memoryGiB = round(totalmem() / 2 ** 30)
  const summary: Summary = {
    name: scenario.name,
    seed: scenario.seed,
    date: new Date().toISOString(),
    machine: { cores, cpu: cpus()[0]?.model ?? 'unknown', memoryGiB, node: process.version, loadAverage: round(run.loadAverage) },
    time: scenario.timeDilation === 1 ? 'real' : `dilated ${scenario.timeDilation}x`,
    timeDilation: scenario.timeDilation,
    wallSeconds: round(wallSeconds),
    nodes: { relays: scenario.relays, users: scenario.users, workers: run.workers, churning: schedule.users.filter(u => u.churns).length },
    warmup: { seconds: round(run.warmupMs / 1000), unpublishedUsers: run.unpublished },
    messages: {
      scheduled: schedule.messages.length,
      queued: run.sent.size,
      sendFailed: run.failed.size,
      toReturningRecipients: returning.length,
      delivered: delivered.length,
      deliveryRatio: returning.length === 0 ? 1 : delivered.length / returning.length,
      endToEndRatio: attempted === 0 ? 1 : delivered.length / attempted,
      duplicates,
      misdirected: run.misdirected,
      viaRelay,
      undelivered: returning.filter(seq => !run.receptions.has(seq)).slice(0, 50),
      sendErrors
    },
    latencyMs: { all: percentiles(lat.map(l => l.ms)), recipientOnlineAtSend: percentiles(lat.filter(l => l.recipientOnline).map(l => l.ms)) },
    bytes: { total: totalBytes, perDeliveredMessage: delivered.length === 0 ? 0 : Math.round(totalBytes / delivered.length) },
    resolutionMs: { ...percentiles(run.resolutions.filter(r => r.ok).map(r => r.ms)), failed: run.resolutions.filter(r => !r.ok).length },
    ...(scenario.workload.knownContacts ? { contacts: { ...run.contacts, seconds: round(run.contacts.seconds) } } : {}),
    resources,
    faults: faultCounts(run.faults),
    ...adversaryFigures(run),
    limits: ''
  }
  summary.limits = limits(summary, memoryGiB)
  return summary
}

/** Which resource is nearest its end, in words. */
function limits (s: Summary, memoryGiB: number): string {
  const r = s.resources
  const parts = [
    `CPU: the workers used ${(r.cpuShareOfMachine * 100).toFixed(0)}% of ${s.machine.cores} cores (${r.cpuMsPerNodePerSecond} ms of CPU per node per second)`,
    `memory: ${r.peakRssMiB} MiB at peak of ${memoryGiB} GiB (${r.rssPerNodeMiB} MiB per node)`,
    `event-loop lag: p99 up to ${r.lagP99MaxMs} ms`,
    `machine load average ${s.machine.loadAverage} on ${s.machine.cores} cores when the workload started`
  ]
  const memShare = r.peakRssMiB / (memoryGiB * 1024)
  const shared = s.machine.loadAverage >= s.machine.cores * 2
  const first = shared
    ? `CPU limits going further: the machine was shared (load average ${s.machine.loadAverage} on ${s.machine.cores} cores), so the workers got only part of it`
    : r.cpuShareOfMachine >= 0.8 || r.lagP99MaxMs >= 200
    ? 'CPU and event-loop lag limit going further'
    : memShare >= 0.7 ? 'memory limits going further' : 'no resource was near its limit'
  return `${first}. ${parts.join('; ')}.`
}

function round (n: number): number {
  return Math.round(n * 100) / 100
}
