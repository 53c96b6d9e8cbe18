/**
 * What the coordinator hears from its workers during a run, kept in order:
 * sends, receptions, resolutions, users and relays going down and up,
 * resource samples and fault counts. The summary, the records and the plots
 * are computed from it afterwards (test/sim/summary.ts, test/sim/output.ts).
 */
import type { Scenario } from './scenario.js'
import type { Schedule } from './schedule.js'
import type { FromWorker, UserInfo, WorkerStats } from './protocol.js'

/** One reception of a message by its recipient. */
export interface Reception {
  user: number
  wall: number
  via: 'direct' | 'relay'
}

export class RunLog {
  readonly scenario: Scenario
  readonly schedule: Schedule
  readonly workers: number
  wallStart = 0
  readonly sent = new Map<number, { wall: number, id: string }>()
  readonly failed = new Map<number, string>()
  readonly receptions = new Map<number, Reception[]>()
  readonly resolutions: Array<{ ms: number, ok: boolean, attempt?: number }> = []
  /** Known contacts: added at warm-up, not added (out of tries or cut off), of those cut off by the deadline, and the wall seconds it took. */
  contacts = { added: 0, failed: 0, cutOff: 0, seconds: 0 }
  readonly online: Array<{ user: number, on: boolean, wall: number }> = []
  readonly relayEvents: Array<{ relay: number, up: boolean, wall: number }> = []
  readonly stats: WorkerStats[] = []
  readonly faults = new Map<string, number>()
  readonly logs: string[] = []
  private readonly userInfo: Array<UserInfo | undefined> = []
  /** Receptions that name a message of another recipient (should never happen). */
  misdirected = 0
  /** Users whose records were not published when warm-up ended. */
  unpublished = 0
  /** Wall ms the warm-up took (relays and users started, records published). */
  warmupMs = 0
  /** The machine's 1-minute load average when the workload started (other processes share the cores). */
  loadAverage = 0

  constructor (scenario: Scenario, schedule: Schedule, workers: number) {
    this.scenario = scenario
    this.schedule = schedule
    this.workers = workers
  }

  start (wallStart: number, warmupMs: number, loadAverage: number): void {
    this.wallStart = wallStart
    this.warmupMs = warmupMs
    this.loadAverage = loadAverage
  }

  record (msg: FromWorker): void {
    switch (msg.type) {
      case 'users-up':
        for (const u of msg.users) {
          this.userInfo[u.index] = { handle: u.handle, peerId: u.peerId }
          if (!u.published) this.unpublished++
        }
        break
      case 'sent': this.sent.set(msg.seq, { wall: msg.wall, id: msg.id }); break
      case 'send-failed': this.failed.set(msg.seq, msg.error); break
      case 'received': {
        if (this.schedule.messages[msg.seq]?.to !== msg.user) {
          this.misdirected++
          break
        }
        const list = this.receptions.get(msg.seq) ?? []
        list.push({ user: msg.user, wall: msg.wall, via: msg.via })
        this.receptions.set(msg.seq, list)
        break
      }
      case 'resolved': this.resolutions.push({ ms: msg.ms, ok: msg.ok, attempt: msg.attempt }); break
      case 'contacts-added':
        this.contacts.added += msg.added
        this.contacts.failed += msg.failed
        this.contacts.cutOff += msg.cutOff
        break
      case 'online': this.online.push({ user: msg.user, on: msg.on, wall: msg.wall }); break
      case 'relay': this.relayEvents.push({ relay: msg.relay, up: msg.up, wall: msg.wall }); break
      case 'stats': this.stats.push(msg.stats); break
      case 'faults': for (const [k, v] of Object.entries(msg.counts)) this.faults.set(k, (this.faults.get(k) ?? 0) + v); break
      case 'log': this.logs.push(`worker ${msg.worker}: ${msg.line}`); break
      case 'relays-up':
      case 'stopped':
        break
    }
  }

  /** Every user's handle and peer id, by index. */
  users (): UserInfo[] {
    return this.schedule.users.map(u => {
      const info = this.userInfo[u.index]
      if (info == null) throw new Error(`user ${u.index} never reported its handle`)
      return info
    })
  }

  /** Simulated ms of a wall time. */
  sim (wall: number): number {
    return (wall - this.wallStart) / this.scenario.timeDilation
  }

  /** Every queued message has reached its recipient. */
  allDelivered (): boolean {
    // A send still under way (resolving its contact) is neither sent nor failed yet: the run is not over.
    if (this.sent.size + this.failed.size < this.schedule.messages.length) return false
    for (const seq of this.sent.keys()) if (!this.receptions.has(seq)) return false
    return true
  }

  /** Latest resource sample of each worker. */
  latestStats (): WorkerStats[] {
    const latest = new Map<number, WorkerStats>()
    for (const s of this.stats) latest.set(s.worker, s)
    return [...latest.values()]
  }

  /** One line of progress: a bar over the workload and settle time, and what happened so far. */
  progressLine (now: number): string {
    const total = (this.schedule.durationMs + this.scenario.settleSeconds * 1000) * this.scenario.timeDilation
    const done = Math.max(0, Math.min(1, (now - this.wallStart) / total))
    const width = 24
    const filled = Math.round(done * width)
    const latest = this.latestStats()
    const online = latest.reduce((a, s) => a + s.usersOnline, 0)
    const lag = Math.max(0, ...latest.map(s => s.lagP99))
    const delivered = [...this.sent.keys()].filter(seq => this.receptions.has(seq)).length
    const t = Math.max(0, this.sim(now) / 1000)
    return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(done * 100).toFixed(0).padStart(3)}% t=${t.toFixed(0)}s online ${online}/${this.scenario.users} sent ${this.sent.size} delivered ${delivered} failed ${this.failed.size} lag p99 ${lag.toFixed(0)} ms`
  }
}
