/**
 * What happens in a run, drawn once from the scenario's seed before any node
 * starts: which worker runs each relay and user, each user's contacts, when
 * each churning user is online, every message (when, from, to, size,
 * attachment), and the faults. The same seed gives the same schedule
 * (checked by test/sim/scenario.spec.ts); workers only carry it out.
 * Times are simulated milliseconds from the start of the workload.
 */
import type { Scenario } from './scenario.js'
import { seededRandom } from '../../node/seeded-random.js'

export { seededRandom }


/** An exponential draw with the given mean. */
function exponential (random: () => number, mean: number): number {
  return -Math.log(1 - random()) * mean
}

/** One user in the schedule. */
export interface ScheduledUser {
  index: number
  /** The handle's name part (`n0042`); the tag comes from its key at run time. */
  name: string
  worker: number
  /** Half 0 or 1 during a partition. */
  half: 0 | 1
  contacts: number[]
  /** Relay indexes it bootstraps from. */
  relays: number[]
  /** Online intervals [from, to) in simulated ms; the last one runs to the end of the settle phase. */
  sessions: Array<[number, number]>
  churns: boolean
}

/** One message in the schedule. */
export interface ScheduledMessage {
  seq: number
  at: number
  from: number
  to: number
  bytes: number
  attachment: number
}

/** The whole run, as drawn from the seed. */
export interface Schedule {
  workers: number
  relayWorker: number[]
  /** The relays each relay is linked with (symmetric: each operator lists the other). */
  relayPeers: number[][]
  users: ScheduledUser[]
  messages: ScheduledMessage[]
  durationMs: number
}

/** True when the user is online at simulated time `t`. */
export function onlineAt (user: ScheduledUser, t: number): boolean {
  return user.sessions.some(([a, b]) => t >= a && t < b)
}

/** Draws the schedule of `scenario` for `workers` worker processes. */
export function buildSchedule (scenario: Scenario, workers: number): Schedule {
  const random = seededRandom(scenario.seed)
  const durationMs = scenario.durationSeconds * 1000
  const end = durationMs + scenario.settleSeconds * 1000 + 1
  const relayWorker = Array.from({ length: scenario.relays }, (_, i) => i % workers)
  const churning = new Set<number>()
  const churnCount = Math.round(scenario.users * scenario.churn.share)
  const order = Array.from({ length: scenario.users }, (_, i) => i)
  shuffle(order, random)
  for (const i of order.slice(0, churnCount)) churning.add(i)

  const users: ScheduledUser[] = []
  for (let i = 0; i < scenario.users; i++) {
    const contacts = new Set<number>()
    while (contacts.size < scenario.workload.contacts) {
      const c = Math.floor(random() * scenario.users)
      if (c !== i) contacts.add(c)
    }
    // One relay in the user's own worker when there is one (memory transport), the rest anywhere.
    const worker = i % workers
    const local = relayWorker.map((w, r) => w === worker ? r : -1).filter(r => r >= 0)
    const relays = new Set<number>()
    if (local.length > 0) relays.add(local[Math.floor(random() * local.length)])
    while (relays.size < scenario.relaysPerUser) relays.add(Math.floor(random() * scenario.relays))
    users.push({
      index: i,
      name: `n${String(i).padStart(5, '0')}`,
      worker,
      half: (i % 2) as 0 | 1,
      contacts: [...contacts],
      relays: [...relays],
      sessions: churning.has(i) ? sessions(random, scenario, durationMs, end) : [[0, end]],
      churns: churning.has(i)
    })
  }

  const messages: ScheduledMessage[] = []
  const perMs = scenario.workload.messagesPerNodePerMinute / 60_000
  for (const user of users) {
    if (perMs === 0) break
    for (let t = exponential(random, 1 / perMs); t < durationMs; t += exponential(random, 1 / perMs)) {
      const to = user.contacts[Math.floor(random() * user.contacts.length)]
      const bytes = scenario.workload.minBytes + Math.floor(random() * (scenario.workload.maxBytes - scenario.workload.minBytes + 1))
      const attachment = random() < scenario.workload.attachmentShare ? scenario.workload.attachmentBytes : 0
      // A user sends only while online: what it would have sent offline is not drawn again.
      if (onlineAt(user, t)) messages.push({ seq: 0, at: Math.round(t), from: user.index, to, bytes, attachment })
    }
  }
  messages.sort((a, b) => a.at - b.at || a.from - b.from)
  for (const [i, m] of messages.entries()) m.seq = i
  return { workers, relayWorker, relayPeers: relayLinks(scenario.relays, scenario.relayLinks), users, messages, durationMs }
}

/**
 * Which relays each of `n` relays is linked with when each should have
 * about `degree` links (0 or n - 1 and above: all): a circulant graph, relay
 * i linked with i ± 1 (a ring, so the pattern is connected) and i ± k for
 * chords spread over the ring (k = j·n/degree), which keeps the diameter
 * small. Symmetric, as linking is (each operator lists the other).
 */
export function relayLinks (n: number, degree: number): number[][] {
  if (degree === 0 || degree >= n - 1) return Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => j).filter(j => j !== i))
  const offsets = new Set<number>([1])
  for (let j = 1; offsets.size * 2 < degree; j++) {
    const k = Math.floor(j * n / degree)
    if (k >= n) break
    offsets.add(k)
  }
  return Array.from({ length: n }, (_, i) => {
    const peers = new Set<number>()
    for (const k of offsets) {
      peers.add((i + k) % n)
      peers.add((i - k + n) % n)
    }
    peers.delete(i)
    return [...peers].sort((a, b) => a - b)
  })
}

/** Alternating online and offline periods; back online for good when the workload ends. */
function sessions (random: () => number, scenario: Scenario, durationMs: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = []
  const meanOn = scenario.churn.meanOnlineSeconds * 1000
  const meanOff = scenario.churn.meanOfflineSeconds * 1000
  // Start online or offline in proportion to the time spent in each.
  let online = random() < meanOn / (meanOn + meanOff)
  let t = 0
  while (t < durationMs) {
    const length = Math.max(1_000, exponential(random, online ? meanOn : meanOff))
    const next = Math.min(durationMs, t + length)
    if (online) out.push([Math.round(t), Math.round(next)])
    t = next
    online = !online
  }
  const last = out.at(-1)
  if (last != null && last[1] >= durationMs) last[1] = end
  else out.push([durationMs, end])
  return out
}

function shuffle<T> (items: T[], random: () => number): void {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[items[i], items[j]] = [items[j], items[i]]
  }
}
