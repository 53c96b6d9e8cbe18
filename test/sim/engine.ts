/**
 * One worker's share of a run: it starts its relays and users (test/sim/nodes.ts),
 * then carries out the schedule for them: users going offline and coming
 * back, messages sent at their times, partitions, relay crashes; and reports
 * every send, every message stored by a recipient and its own resource use
 * to the coordinator. Simulated time t runs at wall time
 * `wallStart + t * timeDilation`.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks'
import type { ConnectionGater, PeerId } from '@libp2p/interface'
import { DEFAULT_DIRECT_TIMEOUT_MS, DEFAULT_FETCH_INTERVAL_MS, DEFAULT_RETRY_INTERVAL_MS, onMessengerEvent } from '../../src/messenger/index.js'
import { sendFiles } from '../../src/peer/index.js'
import { SYNC_INTERVAL_MS } from '../../src/relay/index.js'
import type { PeerMessengerOptions } from '../../src/peer/index.js'
import type { DhtMaintenance } from '../../src/net/dht-maintenance.js'
import { nodeCrypto } from '../../node/platform.js'
import { SimRelay, SimUser } from './nodes.js'
import { faultyTransport } from './faults.js'
import type { MessagingFaults } from './faults.js'
import { seededRandom } from './schedule.js'
import type { Schedule, ScheduledMessage } from './schedule.js'
import type { Scenario } from './scenario.js'
import type { FromWorker, RelayInfo, ToWorker, UserInfo } from './protocol.js'
import { countWireBytes, wireBytes } from './wire-bytes.js'
import { Adversity } from './adversity.js'
import { settleWithin, stopNodes } from './stop-nodes.js'
import { addContacts, contactsDeadlineMs } from './contacts.js'
import type { ContactPair } from './contacts.js'

/** libp2p's connection monitor pings every connection this often by default (stretched under time dilation). */
const LIBP2P_PING_INTERVAL_MS = 10_000
/** kad-dht's self-query interval (its constants.ts), stretched under time dilation. */
const KAD_SELF_QUERY_INTERVAL_MS = 5 * 60_000
/** Failed sends a worker logs as they happen (all are counted in the summary). */
const MAX_FAILURES_LOGGED = 20
/** How often a worker reports its resource use, wall ms. */
const STATS_INTERVAL_MS = 2_000
/** The longest a user waits for its records to be published at warm-up, wall ms. */
const PUBLISH_WAIT_MS = 180_000
/** The longest the steps under way, then each node, may take to stop when the run ends, wall ms. */
export const NODE_STOP_TIMEOUT_MS = 120_000

type Send = (msg: FromWorker) => void

/** A worker's settings beyond the scenario (tests shorten the bound). */
export interface WorkerEngineOptions {
  /** Wall ms the steps under way, then each node, may take to stop at the end (default {@link NODE_STOP_TIMEOUT_MS}). */
  nodeStopTimeoutMs?: number
}

/** A worker's part of a run. */
export class WorkerEngine {
  private readonly send: Send
  private scenario!: Scenario
  private schedule!: Schedule
  private worker = 0
  private readonly relays: SimRelay[] = []
  private readonly users = new Map<number, SimUser>()
  private readonly handles: UserInfo[] = []
  private readonly half = new Map<string, 0 | 1>()
  private readonly timers: Array<ReturnType<typeof setTimeout>> = []
  private readonly resolved = new Set<string>()
  private readonly pending = new Set<Promise<unknown>>()
  /** Each user's steps (going offline, coming back, sending) run one after another, as on one device. */
  private readonly userQueues = new Map<number, Promise<void>>()
  private faults!: MessagingFaults
  private partitioned = false
  private wallStart = 0
  private stopping = false
  private failuresLogged = 0
  private unhandled = 0
  private readonly lag = monitorEventLoopDelay({ resolution: 10 })
  private statsTimer?: ReturnType<typeof setInterval>
  private readonly cpuStart = process.cpuUsage()
  private readonly crypto = nodeCrypto()
  private adversity!: Adversity
  private readonly nodeStopTimeoutMs: number
  private stopFaultsLogged = 0

  constructor (send: Send, options: WorkerEngineOptions = {}) {
    this.send = send
    this.nodeStopTimeoutMs = options.nodeStopTimeoutMs ?? NODE_STOP_TIMEOUT_MS
  }

  /** A rejection nobody handled in this worker: counted (faults) and the first few logged with their stacks. */
  unhandledRejection (reason: unknown): void {
    const n = ++this.unhandled
    if (n <= MAX_FAILURES_LOGGED) this.log(`unhandled rejection ${n}: ${reason instanceof Error ? reason.stack ?? reason.message : String(reason)}`)
  }

  /** Handles one message from the coordinator. */
  async handle (msg: ToWorker): Promise<void> {
    switch (msg.type) {
      case 'init': await this.init(msg.scenario, msg.schedule, msg.worker, msg.runId, msg.relays); break
      case 'start-users': await this.startUsers(); break
      case 'add-contacts': await this.addContacts(msg.users); break
      case 'go': this.go(msg.wallStart, msg.users); break
      case 'stop': await this.stop(); break
    }
  }

  private log (line: string): void {
    this.send({ type: 'log', worker: this.worker, line })
  }

  private async init (scenario: Scenario, schedule: Schedule, worker: number, runId: string, relays: RelayInfo[]): Promise<void> {
    countWireBytes()
    this.lag.enable()
    this.scenario = scenario
    this.schedule = schedule
    this.worker = worker
    const random = seededRandom((scenario.seed ^ (worker * 0x9E3779B1)) >>> 0)
    const f = scenario.faults
    this.faults = { lossRate: f.lossRate, duplicateRate: f.duplicateRate, reorderRate: f.reorderRate, reorderMaxMs: f.reorderMaxMs, random, counts: { lost: 0, duplicated: 0, reordered: 0, cut: 0 } }
    const addr = (r: RelayInfo): string => `/ip4/127.0.0.1/tcp/${r.port}/p2p/${r.peerId}`
    for (const r of relays) this.half.set(r.peerId, (r.index % 2) as 0 | 1)
    this.adversity = new Adversity(scenario, schedule, relays, addr)
    for (const r of relays.filter(r => r.worker === worker)) {
      const relay = new SimRelay(r, {
        crypto: this.crypto,
        latencyMs: scenario.network.latencyMs,
        runId,
        peers: schedule.relayPeers[r.index].map(i => addr(relays[i])),
        keepAliveIntervalMs: LIBP2P_PING_INTERVAL_MS * scenario.timeDilation,
        syncIntervalMs: SYNC_INTERVAL_MS * scenario.timeDilation,
        ...this.adversity.relayInit(r.index),
        dhtMaintenance: simDhtMaintenance(scenario.timeDilation)
      })
      await relay.start()
      this.relays.push(relay)
    }
    for (const u of schedule.users.filter(u => u.worker === worker)) {
      const gater: ConnectionGater = {
        denyDialPeer: async (peer) => this.isCut(peer, u.half),
        denyInboundEncryptedConnection: async (peer) => this.isCut(peer, u.half)
      }
      // The counts are shared by the worker's users; the cut is each user's own.
      const faults: MessagingFaults = { ...this.faults, cut: (peer) => this.isCut(peer, u.half) }
      this.users.set(u.index, new SimUser({
        crypto: this.crypto,
        latencyMs: scenario.network.latencyMs,
        runId,
        index: u.index,
        ...this.adversity.userInit(u.index, u.name),
        bootstrap: u.relays.map(i => addr(relays[i])),
        gater,
        wrapTransport: (t) => faultyTransport(t, faults),
        now: () => this.simNow(),
        messenger: dilatedMessengerTimers(scenario.timeDilation),
        keepAliveIntervalMs: LIBP2P_PING_INTERVAL_MS * scenario.timeDilation,
        dhtMaintenance: simDhtMaintenance(scenario.timeDilation)
      }))
    }
    this.statsTimer = setInterval(() => { this.reportStats() }, STATS_INTERVAL_MS)
    this.send({ type: 'relays-up', worker })
  }

  /** Dilated time: the clock the peers see runs `timeDilation` times slower than the wall's from the start. */
  private simNow (): number {
    return dilatedNow(this.wallStart, this.scenario.timeDilation, Date.now())
  }

  /** True while a partition separates `peer` from a user on half `mine`. */
  private isCut (peer: PeerId, mine: 0 | 1): boolean {
    if (!this.partitioned) return false
    const theirs = this.half.get(peer.toString())
    return theirs != null && theirs !== mine
  }

  /**
   * Starts the users by admission: `startConcurrency` at a time, the next
   * once one of them has published its records (or given up after
   * PUBLISH_WAIT_MS), so that every start sees a quiet event loop and its
   * DHT writes finish inside their timeouts. Who starts offline in the
   * schedule must be resolvable when the first message to it is sent, so
   * every user publishes once before the workload.
   */
  private async startUsers (): Promise<void> {
    const all = [...this.users.entries()]
    let next = 0
    let done = 0
    const started = Date.now()
    const slot = async (): Promise<void> => {
      while (next < all.length) {
        const [index, user] = all[next++]
        await user.create()
        await user.start()
        this.listen(index, user)
        const deadline = Date.now() + PUBLISH_WAIT_MS
        while (user.peer?.directory.lastPublished == null && Date.now() < deadline) await sleep(100)
        this.adversity.started(index, user)
        if (user.peer?.directory.lastPublished == null) this.log(`user ${index} did not publish its records within ${PUBLISH_WAIT_MS} ms: ${user.peer?.directory.lastError ?? 'no error yet'}`)
        if (++done % 20 === 0) this.log(`${done}/${all.length} users up after ${((Date.now() - started) / 1000).toFixed(0)} s`)
      }
    }
    await Promise.all(Array.from({ length: Math.min(this.scenario.startConcurrency, all.length) }, slot))
    this.send({ type: 'users-up', worker: this.worker, users: all.map(([index, u]) => ({ index, handle: u.handle, peerId: u.peerId?.toString() ?? '', published: u.peer?.directory.lastPublished != null })) })
  }

  /**
   * Known contacts (test/sim/contacts.ts): every user resolves and pins each
   * of its contacts before the workload, within the scenario's deadline.
   * Every try is reported, so the summary's resolution figures show the
   * failures too.
   */
  private async addContacts (users: UserInfo[]): Promise<void> {
    const work: ContactPair[] = []
    for (const u of this.schedule.users) {
      if (this.users.has(u.index)) for (const c of u.contacts) work.push([u.index, c])
    }
    const started = Date.now()
    const deadlineMs = contactsDeadlineMs(this.scenario, work.length)
    const result = await addContacts({
      work,
      deadlineMs,
      tryAdd: async ([from, to], attempt) => {
        const peer = this.users.get(from)?.peer
        if (peer == null) return false
        const t = performance.now()
        const ok = await peer.messenger.recipient(users[to].handle).then(() => true, (err: Error) => {
          if (++this.failuresLogged <= MAX_FAILURES_LOGGED) this.log(`user ${from} adding contact ${to} (try ${attempt}) failed: ${err.name}: ${err.message}`)
          return false
        })
        this.send({ type: 'resolved', user: from, contact: to, ms: (performance.now() - t) / this.scenario.timeDilation, ok, attempt })
        return ok
      },
      onProgress: (done, total) => {
        if (done % 500 === 0) this.log(`${done}/${total} contacts added after ${((Date.now() - started) / 1000).toFixed(0)} s`)
      }
    })
    for (const [from, to] of result.added) this.resolved.add(`${from}>${to}`)
    if (result.cutOff > 0) this.log(`${result.cutOff} of ${work.length} contacts not added by the ${(deadlineMs / 1000).toFixed(0)} s deadline; going on`)
    // Tries still under way end on their own (each within its resolution limit); the end of the run waits for them.
    this.pending.add(result.late)
    void result.late.finally(() => this.pending.delete(result.late))
    this.send({ type: 'contacts-added', worker: this.worker, added: result.added.length, failed: result.failed, cutOff: result.cutOff })
  }

  /** Reports every message a user stores. */
  private listen (index: number, user: SimUser): void {
    const peer = user.peer
    if (peer == null) return
    onMessengerEvent(peer.messenger, 'message', (e) => {
      if (e.direction !== 'in') return
      const seq = /sim:(\d+):/.exec(e.text ?? JSON.stringify(e.body))?.[1]
      if (seq != null) this.send({ type: 'received', seq: Number(seq), user: index, wall: Date.now(), via: e.via })
    })
  }

  /** Runs `fn` at simulated time `simMs`, after whatever `user` is still doing. */
  private at (simMs: number, fn: () => Promise<void>, user?: number): void {
    const delay = Math.max(0, this.wallStart + simMs * this.scenario.timeDilation - Date.now())
    this.timers.push(setTimeout(() => {
      if (this.stopping) return
      const run = async (): Promise<void> => { if (!this.stopping) await fn() }
      const queued = user == null ? run() : (this.userQueues.get(user) ?? Promise.resolve()).then(run)
      if (user != null) this.userQueues.set(user, queued.catch(() => {}))
      const p = queued.catch((err: Error) => { this.log(`${err.name}: ${err.message}`) })
      this.pending.add(p)
      void p.finally(() => this.pending.delete(p))
    }, delay))
  }

  private go (wallStart: number, users: UserInfo[]): void {
    this.wallStart = wallStart
    // Lag during warm-up (every user starting at once) is not the workload's.
    this.lag.reset()
    this.handles.push(...users)
    for (const [i, u] of users.entries()) this.half.set(u.peerId, this.schedule.users[i].half)
    for (const u of this.schedule.users.filter(u => u.worker === this.worker)) {
      // Warm-up started everyone (to publish records); who starts offline goes now.
      if (u.sessions[0][0] > 0) this.at(0, async () => { await this.setOnline(u.index, false) }, u.index)
      for (const [i, [from, to]] of u.sessions.entries()) {
        if (from > 0) this.at(from, async () => { await this.setOnline(u.index, true) }, u.index)
        if (i < u.sessions.length - 1) this.at(to, async () => { await this.setOnline(u.index, false) }, u.index)
      }
    }
    for (const m of this.schedule.messages) {
      if (this.users.has(m.from)) this.at(m.at, async () => { await this.sendMessage(m) }, m.from)
    }
    for (const sybil of this.adversity.flood(this.users, users)) {
      this.at(0, async () => { sybil.start() })
      this.at(this.schedule.durationMs, async () => { sybil.stop() })
    }
    for (const p of this.scenario.faults.partitions) {
      this.at(p.atSeconds * 1000, async () => { await this.partition(true) })
      this.at((p.atSeconds + p.durationSeconds) * 1000, async () => { await this.partition(false) })
    }
    for (const c of this.scenario.faults.relayCrashes) {
      const relay = this.relays.find(r => r.info.index === c.relay)
      if (relay == null) continue
      this.at(c.atSeconds * 1000, async () => { await relay.stop(); this.send({ type: 'relay', relay: c.relay, up: false, wall: Date.now() }) })
      this.at((c.atSeconds + c.downSeconds) * 1000, async () => { await relay.start(); this.send({ type: 'relay', relay: c.relay, up: true, wall: Date.now() }) })
    }
  }

  private async setOnline (index: number, on: boolean): Promise<void> {
    const user = this.users.get(index)
    if (user == null || (user.peer != null) === on) return
    if (on) {
      await user.start()
      this.listen(index, user)
    } else {
      await user.stop()
    }
    this.send({ type: 'online', user: index, on, wall: Date.now() })
  }

  /** A partition cuts every connection between the halves; healing lets them dial again. */
  private async partition (on: boolean): Promise<void> {
    this.partitioned = on
    if (!on) return
    for (const [index, user] of this.users) {
      const mine = this.schedule.users[index].half
      for (const c of user.peer?.node.getConnections() ?? []) {
        const theirs = this.half.get(c.remotePeer.toString())
        if (theirs != null && theirs !== mine) c.abort(new Error('simulated partition'))
      }
    }
  }

  private async sendMessage (m: ScheduledMessage): Promise<void> {
    const peer = this.users.get(m.from)?.peer
    if (peer == null) {
      // Its start failed: the message was never sent, and is counted so.
      this.send({ type: 'send-failed', seq: m.seq, wall: Date.now(), error: 'SenderDownError: the sending user is not running' })
      return
    }
    const to = this.handles[m.to].handle
    const key = `${m.from}>${m.to}`
    if (!this.resolved.has(key)) {
      this.resolved.add(key)
      const started = performance.now()
      const ok = await peer.resolve(to).then(() => true, () => false)
      this.send({ type: 'resolved', user: m.from, contact: m.to, ms: (performance.now() - started) / this.scenario.timeDilation, ok })
    }
    const text = `sim:${m.seq}:` + 'x'.repeat(Math.max(0, m.bytes - `sim:${m.seq}:`.length))
    const wall = Date.now()
    try {
      const result = m.attachment > 0
        ? await sendFiles(peer.messenger, to, [{ input: new Uint8Array(m.attachment).fill(m.seq & 0xff), fileName: `sim-${m.seq}.bin`, mimeType: 'application/octet-stream', kind: 'file' }], text)
        : await peer.messenger.send(to, { kind: 'text', text })
      this.send({ type: 'sent', seq: m.seq, wall, id: result.id })
    } catch (err) {
      const error = `${(err as Error).name}: ${(err as Error).message}`
      if (++this.failuresLogged <= MAX_FAILURES_LOGGED) this.log(`send ${m.seq} (user ${m.from} to ${m.to}) failed: ${error}`)
      this.send({ type: 'send-failed', seq: m.seq, wall: Date.now(), error })
    }
  }

  private reportStats (): void {
    const cpu = process.cpuUsage(this.cpuStart)
    const mem = process.memoryUsage()
    this.send({
      type: 'stats',
      stats: {
        worker: this.worker,
        t: Date.now(),
        bytes: wireBytes(),
        rssBytes: mem.rss,
        heapBytes: mem.heapUsed,
        cpuMs: (cpu.user + cpu.system) / 1000,
        lagP50: this.lag.percentile(50) / 1e6,
        lagP99: this.lag.percentile(99) / 1e6,
        lagMax: this.lag.max / 1e6,
        usersOnline: [...this.users.values()].filter(u => u.peer != null).length,
        relaysUp: this.relays.filter(r => r.relay != null).length,
        nodes: this.users.size + this.relays.length
      }
    })
    this.lag.reset()
  }

  /**
   * Ends the run: the steps under way, then the users, then the relays, each
   * within the bound, and only then the fault counts, so that what goes
   * wrong while nodes stop (a failed or hung stop, a rejection nobody
   * handled) is counted too.
   */
  private async stop (): Promise<void> {
    this.stopping = true
    for (const t of this.timers) clearTimeout(t)
    const stepsUnfinished = await settleWithin([...this.pending], this.nodeStopTimeoutMs)
    if (stepsUnfinished > 0) this.log(`${stepsUnfinished} scheduled steps still under way after ${this.nodeStopTimeoutMs} ms; stopping anyway`)
    this.reportStats()
    clearInterval(this.statsTimer)
    this.adversity.stop()
    // Read while the users still run (a sybil's published claim is seen in its directory).
    const adversaries = this.adversity.report(this.users)
    const onFault = (name: string, error: Error | 'timed out'): void => {
      if (++this.stopFaultsLogged > MAX_FAILURES_LOGGED) return
      this.log(`stopping ${name}: ${error === 'timed out' ? `not stopped within ${this.nodeStopTimeoutMs} ms` : `${error.name}: ${error.message}`}`)
    }
    const users = await stopNodes([...this.users].map(([i, u]) => ({ name: `user ${i}`, stop: async () => { await u.stop() } })), this.nodeStopTimeoutMs, onFault)
    const relays = await stopNodes(this.relays.map(r => ({ name: `relay ${r.info.index}`, stop: async () => { await r.stop() } })), this.nodeStopTimeoutMs, onFault)
    // A rejection raised as the last node stopped reaches the process's handler (unhandledRejection) once this turn of the event loop is over.
    await new Promise(resolve => setImmediate(resolve))
    this.send({
      type: 'faults',
      worker: this.worker,
      counts: {
        ...this.faults.counts,
        ...adversaries,
        unhandledRejections: this.unhandled,
        nodeStopErrors: users.nodeStopErrors + relays.nodeStopErrors,
        nodeStopsTimedOut: users.nodeStopsTimedOut + relays.nodeStopsTimedOut,
        stepsUnfinished
      }
    })
    this.send({ type: 'stopped', worker: this.worker })
  }
}

/**
 * The messenger's timers under time dilation: the mailbox reading interval,
 * the retry interval and the direct attempt's timeout stretched by the
 * factor, so that they keep their meaning in simulated time (a 30 s read
 * interval stays one every 30 simulated seconds) and cost no more CPU per
 * simulated second than in real time.
 */
export function dilatedMessengerTimers (factor: number): PeerMessengerOptions {
  if (factor === 1) return {}
  return {
    fetchIntervalMs: DEFAULT_FETCH_INTERVAL_MS * factor,
    retryIntervalMs: DEFAULT_RETRY_INTERVAL_MS * factor,
    directTimeoutMs: DEFAULT_DIRECT_TIMEOUT_MS * factor
  }
}

/**
 * kad-dht's background lookups in a simulation (src/net/dht-maintenance.ts):
 * the self query at kad-dht's 5 minutes stretched by the dilation, as the
 * other per-node timers are (500 users' self queries at 5 wall minutes are
 * ~33 lookups a second, each reaching every relay).
 */
export function simDhtMaintenance (factor: number): DhtMaintenance {
  return { querySelfIntervalMs: KAD_SELF_QUERY_INTERVAL_MS * factor }
}

/**
 * The clock a peer sees under time dilation: from `wallStart` on, `factor`
 * times slower than the wall's, in whole milliseconds as Date.now gives
 * (message timestamps must be integers).
 */
export function dilatedNow (wallStart: number, factor: number, wallNow: number): number {
  if (wallStart === 0 || factor === 1 || wallNow <= wallStart) return wallNow
  return wallStart + Math.floor((wallNow - wallStart) / factor)
}

async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
