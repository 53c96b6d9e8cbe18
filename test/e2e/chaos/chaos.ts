/**
 * Delivery under chaos, with real processes on loopback: two relays linked
 * with `--peer` (each lists the other), three users spread over them, every
 * user sending numbered messages to each of the others while a seeded
 * schedule kills a random daemon or relay with SIGKILL every few seconds (at
 * times both relays together) and restarts it a few seconds later. Once the
 * faults end and everything is back up, it waits (bounded) for the network
 * to converge and then checks the promise: every acknowledged message is
 * delivered exactly once, both sides of every conversation show the same
 * order, no message appears that was not sent, and every sender shows its
 * acknowledged messages as delivered.
 *
 * Used by test/e2e/chaos.spec.ts (a short run in the suite) and by
 * `npm run chaos -- --minutes N` (scripts/chaos.ts, the long run whose
 * figures the README gives).
 */
import { freePort } from '../../../node/free-port.js'
import { seededRandom } from '../../../node/seeded-random.js'
import { ApiClient } from '../../../node/api/client.js'
import { keptRunning, Processes, sharedView } from '../harness.js'
import type { HistoryMessage, Running } from '../harness.js'

/** How a chaos run goes. */
export interface ChaosOptions {
  seed: number
  /** How long processes are killed and restarted, in ms. */
  faultMs: number
  /** Messages each user sends to each other user during the faults. */
  messagesPerPair: number
  /** A kill every this many ms (uniform between the two). */
  killEveryMs: [number, number]
  /** A killed process comes back after this many ms (uniform between the two). */
  restartAfterMs: [number, number]
  /** Every how many kills both relays go down together (the 3rd kill, then every this many: at times both are down, in every run). */
  bothRelaysEvery: number
  /** The longest wait for convergence after the last fault, in ms. */
  convergenceTimeoutMs: number
  /** Environment for the daemons (e.g. fast test intervals). */
  daemonEnv: Record<string, string>
  /** Progress lines. */
  log(line: string): void
}

/** What a run measured. */
export interface ChaosReport {
  seed: number
  faultSeconds: number
  kills: { daemons: number, relays: number, bothRelaysDown: number }
  /** Send requests made. */
  sent: number
  /** Send requests the daemon answered with an id: stored in its outbox. */
  acknowledged: number
  /** Acknowledged messages stored by their recipient. */
  delivered: number
  /** Acknowledged messages the recipient never stored. */
  lost: number
  /** Messages stored more than once by a recipient. */
  duplicated: number
  /** Messages in a history that no send request asked for. */
  unexpected: number
  /** Conversations whose two sides disagree (order or content). */
  disagreeing: number
  /** Acknowledged messages whose sender does not show them delivered. */
  notShownDelivered: number
  /** From the last fault (the last restart done), or the last send if later, to convergence; null if it did not converge in time. */
  convergenceSeconds: number | null
  /** The last restart after the fault window closed, in seconds. */
  restartsAfterWindowSeconds: number
  /** The last send after the last fault (0 if none was made after it), in seconds. */
  sendsAfterLastFaultSeconds: number
  /** Processes that exited on their own (not killed by the schedule). */
  crashed: string[]
}



const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

/** One relay or daemon the schedule may kill. */
interface Member {
  name: string
  kind: 'relay' | 'daemon'
  args: string[]
  env: Record<string, string>
  running?: Running
  /** Set while the schedule has it down (killed, restart pending). */
  down: boolean
  /** Kills by the schedule, so an exit we caused is not a crash. */
  expectedExits: number
  exits: number
  crashes: string[]
}

interface Party { name: string, dir: string, handle: string }

/** The text of message `n` from `from` to `to`: unique, so histories can be checked by text as well as by id. */
function chaosText (seed: number, from: string, to: string, n: number): string {
  return `chaos ${seed} ${from}->${to} #${n}`
}

/** Runs one chaos scenario and reports; never throws for a failed check (the caller asserts). */
export async function runChaos (options: ChaosOptions): Promise<ChaosReport> {
  // One generator for the faults and one for the workload, so that neither depends on how the other interleaves.
  const random = seededRandom(options.seed)
  const workload = seededRandom(options.seed ^ 0x5bd1e995)
  const between = ([lo, hi]: [number, number]): number => lo + random() * (hi - lo)
  const procs = new Processes()
  const members: Member[] = []
  const start = async (m: Member): Promise<void> => {
    const running = await procs.start(m.args, m.env)
    m.running = running
    running.proc.on('exit', (code, signal) => {
      m.exits++
      if (m.exits > m.expectedExits) m.crashes.push(`${m.name} exited by itself (code ${String(code)}, signal ${String(signal)}): ${running.stderr.slice(-5).join(' | ')}`)
      // Killed on schedule or not, a rejection it outlived would have ended it without node/unhandled.ts.
      m.crashes.push(...keptRunning(m.name, running.stderr))
    })
  }
  try {
    // Relays on fixed ports, so that a restart keeps the address users and the other relay know.
    const relayDirs = [await procs.tempDir('starling-chaos-relay-a-'), await procs.tempDir('starling-chaos-relay-b-')]
    const ports = [await freePort(), await freePort()]
    const relayAddrs: string[] = []
    for (const [i, dir] of relayDirs.entries()) {
      // A first start makes the relay's key, so each can name the other with --peer.
      const first = await procs.start(['relay', '--listen', `/ip4/127.0.0.1/tcp/${ports[i]}`, '--data', dir])
      relayAddrs.push((first.ready.multiaddrs as string[])[0])
      await procs.stop(first)
    }
    for (const [i, dir] of relayDirs.entries()) {
      members.push({ name: `relay ${'ab'[i]}`, kind: 'relay', args: ['relay', '--listen', `/ip4/127.0.0.1/tcp/${ports[i]}`, '--data', dir, '--peer', relayAddrs[1 - i]], env: {}, down: false, expectedExits: 0, exits: 0, crashes: [] })
    }
    await Promise.all(members.map(start))

    // Three users: one on each relay, one on both.
    const bootstraps = [[relayAddrs[0]], [relayAddrs[1]], relayAddrs]
    const parties: Party[] = []
    for (const [i, name] of ['ann', 'ben', 'cat'].entries()) {
      const dir = await procs.tempDir(`starling-chaos-${name}-`)
      const r = await procs.cli(['init', '--handle', name, '--data', dir, '--json'])
      if (r.code !== 0) throw new Error(`init ${name}: ${r.stderr}`)
      parties.push({ name, dir, handle: r.json[0].handle as string })
      members.push({ name: `daemon of ${name}`, kind: 'daemon', args: ['daemon', '--data', dir, '--listen', '/ip4/127.0.0.1/tcp/0', ...bootstraps[i].flatMap(b => ['--bootstrap', b])], env: options.daemonEnv, down: false, expectedExits: 0, exits: 0, crashes: [] })
    }
    await Promise.all(members.filter(m => m.kind === 'daemon').map(start))
    const daemonOf = (p: Party): Member => members.find(m => m.name === `daemon of ${p.name}`) as Member
    const call = async <T>(p: Party, method: string, params: Record<string, unknown> = {}): Promise<T> =>
      (await ApiClient.connect(p.dir)).call<T>(method, params, AbortSignal.timeout(15_000))
    // Each daemon resolves the others once before the faults, as people first find each other.
    for (const p of parties) {
      for (const q of parties) {
        if (p === q) continue
        await waitFor(async () => { await call(p, 'resolve', { handle: q.handle }); return true }, 60_000, `${p.name} resolves ${q.name}`)
        // Contacts, not message requests (those keep at most 50 messages until accepted).
        await call(p, 'open', { handle: q.name, confirm: true })
      }
    }

    // The workload: every ordered pair gets messagesPerPair numbered messages, spread over the faults.
    const acknowledged = new Map<string, { from: Party, to: Party, text: string }>()
    /** Send requests made per text: a request cut off after the daemon stored the message, then made again, rightly gives two messages with one text. */
    const attempted = new Map<string, number>()
    let sent = 0
    const faultEnd = Date.now() + options.faultMs
    const perUser = options.messagesPerPair * (parties.length - 1)
    const gap = options.faultMs / perUser
    const senders = parties.map(async (from, fi) => {
      const order: Array<{ to: Party, n: number }> = []
      for (let n = 1; n <= options.messagesPerPair; n++) for (const to of parties) if (to !== from) order.push({ to, n })
      // Each message has its time in the fault window (jittered): a send
      // that waited for its daemon does not push the later ones past the
      // faults, so convergence is measured from the faults' end, not from
      // sends still trickling in minutes later.
      const start = Date.now() + fi * gap / parties.length
      for (const [k, { to, n }] of order.entries()) {
        await sleep(Math.max(0, start + (k + workload()) * gap - Date.now()))
        const text = chaosText(options.seed, from.name, to.name, n)
        // A send goes to a daemon that is up; one killed in the middle of it leaves the message unacknowledged.
        const deadline = Date.now() + Math.max(gap * 4, 20_000)
        for (;;) {
          if (!daemonOf(from).down) {
            sent++
            attempted.set(text, (attempted.get(text) ?? 0) + 1)
            try {
              const r = await call<{ id: string }>(from, 'send', { handle: to.handle, text })
              acknowledged.set(r.id, { from, to, text })
              break
            } catch {
              // Refused or cut off: tried again under the same text (the text is what the checks match).
            }
          }
          if (Date.now() > deadline) break
          await sleep(200)
        }
      }
    })

    // The faults.
    const kills = { daemons: 0, relays: 0, bothRelaysDown: 0 }
    const restarts: Array<Promise<void>> = []
    const kill = (m: Member): void => {
      m.down = true
      m.expectedExits++
      m.running?.proc.kill('SIGKILL')
      if (m.kind === 'relay') kills.relays++
      else kills.daemons++
      const after = between(options.restartAfterMs)
      restarts.push((async () => {
        await sleep(after)
        await waitFor(async () => { await start(m); return true }, 60_000, `restart of ${m.name}`)
        m.down = false
      })())
    }
    // Both relays go down at the 3rd kill and every `bothRelaysEvery` after; if one is down then, at the next kill that finds both up.
    let bothDue = false
    for (let n = 0; Date.now() < faultEnd; n++) {
      await sleep(between(options.killEveryMs))
      if (Date.now() >= faultEnd) break
      const relays = members.filter(m => m.kind === 'relay')
      if (n % options.bothRelaysEvery === 2) bothDue = true
      if (bothDue && relays.every(r => !r.down)) {
        bothDue = false
        options.log(`kill both relays at ${new Date().toISOString()}`)
        kills.bothRelaysDown++
        for (const r of relays) kill(r)
        continue
      }
      const up = members.filter(m => !m.down)
      const victim = up[Math.floor(random() * up.length)]
      if (victim == null) continue
      options.log(`kill ${victim.name} at ${new Date().toISOString()}`)
      kill(victim)
    }
    const faultsOver = Date.now()
    await Promise.all(restarts)
    const lastFault = Date.now()
    await Promise.all(senders)
    const sendsOver = Date.now()
    options.log(`faults over: ${kills.daemons} daemon and ${kills.relays} relay kills; ${acknowledged.size} of ${sent} sends acknowledged; waiting for convergence`)

    // Convergence: every acknowledged message stored by its recipient and shown delivered by its sender.
    const histories = async (): Promise<Map<string, HistoryMessage[]>> => {
      const out = new Map<string, HistoryMessage[]>()
      for (const p of parties) {
        for (const q of parties) {
          if (p === q) continue
          out.set(`${p.name}/${q.name}`, (await call<{ messages: HistoryMessage[] }>(p, 'history', { handle: q.handle, limit: 100_000 })).messages)
        }
      }
      return out
    }
    const settled = (h: Map<string, HistoryMessage[]>): boolean => {
      for (const [id, m] of acknowledged) {
        if (!(h.get(`${m.to.name}/${m.from.name}`) ?? []).some(x => x.id === id)) return false
        if ((h.get(`${m.from.name}/${m.to.name}`) ?? []).find(x => x.id === id)?.sendState !== 'delivered') return false
      }
      return true
    }
    let convergenceSeconds: number | null = null
    let last = new Map<string, HistoryMessage[]>()
    // From the last fault, or from the last send if one was still being made then.
    const settleFrom = Math.max(lastFault, sendsOver)
    const until = settleFrom + options.convergenceTimeoutMs
    while (Date.now() < until) {
      try {
        last = await histories()
        if (settled(last)) {
          convergenceSeconds = (Date.now() - settleFrom) / 1000
          break
        }
      } catch {
        // A daemon busy catching up may time out one call: ask again.
      }
      await sleep(1000)
    }
    if (convergenceSeconds == null) last = await histories()

    // The checks.
    let delivered = 0
    let lost = 0
    let notShownDelivered = 0
    for (const [id, m] of acknowledged) {
      if ((last.get(`${m.to.name}/${m.from.name}`) ?? []).some(x => x.id === id)) delivered++
      else {
        lost++
        options.log(`lost: ${m.text} (${id})`)
      }
      const state = (last.get(`${m.from.name}/${m.to.name}`) ?? []).find(x => x.id === id)?.sendState
      if (state !== 'delivered') {
        notShownDelivered++
        options.log(`shown ${String(state)} by its sender: ${m.text} (${id})`)
      }
    }
    let duplicated = 0
    let unexpected = 0
    let disagreeing = 0
    for (const [key, history] of last) {
      const ids = new Set<string>()
      const texts = new Map<string, number>()
      for (const x of history) {
        const seen = x.text != null ? (texts.get(x.text) ?? 0) + 1 : 0
        // The same message twice, or a text more often than it was sent.
        if (ids.has(x.id) || (x.text != null && seen > (attempted.get(x.text) ?? 0))) {
          duplicated++
          options.log(`duplicate in ${key}: ${String(x.text)} (${x.id}; ids with this text: ${history.filter(y => y.text === x.text).map(y => y.id).join(', ')}; send requests for it: ${attempted.get(x.text ?? '') ?? 0})`)
        }
        ids.add(x.id)
        if (x.text != null) texts.set(x.text, seen)
        if (x.text == null || !attempted.has(x.text)) {
          unexpected++
          options.log(`unexpected in ${key}: ${String(x.text)} (${x.id})`)
        }
      }
      const [p, q] = key.split('/')
      if (p < q && JSON.stringify(sharedView(history)) !== JSON.stringify(sharedView(last.get(`${q}/${p}`) ?? []))) {
        disagreeing++
        options.log(`${p} and ${q} see their conversation differently`)
      }
    }
    return {
      seed: options.seed,
      faultSeconds: options.faultMs / 1000,
      kills,
      sent,
      acknowledged: acknowledged.size,
      delivered,
      lost,
      duplicated,
      unexpected,
      disagreeing,
      notShownDelivered,
      convergenceSeconds,
      restartsAfterWindowSeconds: (lastFault - faultsOver) / 1000,
      sendsAfterLastFaultSeconds: Math.max(0, sendsOver - lastFault) / 1000,
      crashed: members.flatMap(m => [...m.crashes, ...(m.running != null && m.running.proc.exitCode == null && m.running.proc.signalCode == null ? keptRunning(m.name, m.running.stderr) : [])])
    }
  } finally {
    await procs.stopAll()
  }
}

/** Polls `fn` until it returns true; throws after `timeoutMs`. */
async function waitFor (fn: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  while (Date.now() < deadline) {
    try {
      if (await fn()) return
    } catch (err) {
      lastError = err
    }
    await sleep(500)
  }
  throw new Error(`timed out waiting for ${what}: ${String((lastError as Error | undefined)?.message)}`)
}
