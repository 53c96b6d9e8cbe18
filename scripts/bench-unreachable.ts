/**
 * `npm run bench:unreachable`: what a sender's daemon costs while nothing it
 * sends can go anywhere. A relay and two daemons (alice, bob) as separate
 * processes on 127.0.0.1; alice and bob talk once, then bob stops and the
 * relay is killed; alice queues N messages to bob (1,000 by default) and
 * her daemon's CPU time (user + system, from /proc) is read over a window
 * (60 s by default) after a settling period, with the daemon's production
 * intervals. Prints one JSON object:
 * CPU as a share of one core, the outbox size before and after (nothing
 * may be given up), and the machine.
 *
 * Options: --messages N (1000) --settle S (30) --window S (60)
 */
import { readFile } from 'node:fs/promises'
import { cpus, totalmem } from 'node:os'
import { parseArgs } from 'node:util'
import { Network, Processes, eventually } from '../test/e2e/harness.js'

const { values } = parseArgs({
  options: {
    messages: { type: 'string', default: '1000' },
    settle: { type: 'string', default: '30' },
    window: { type: 'string', default: '60' }
  }
})
const messages = Number(values.messages)
const settleS = Number(values.settle)
const windowS = Number(values.window)
for (const [name, v] of [['messages', messages], ['settle', settleS], ['window', windowS]] as const) {
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`--${name} must be a positive number`)
    process.exit(2)
  }
}

/** CPU seconds (user + system) a process has used, from /proc/PID/stat. */
async function cpuSeconds (pid: number): Promise<number> {
  const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const ticks = Number(fields[11]) + Number(fields[12])
  return ticks / 100
}

const sleep = async (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))

const procs = new Processes()
const net = new Network(procs)
try {
  const relay = await net.startRelay()
  const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
  // Production intervals (not the tests' fast ones): what a user's daemon does.
  const aliceDaemon = await net.startDaemon(alice, [relay.addr], {})
  const bobDaemon = await net.startDaemon(bob, [relay.addr], {})
  const first = await net.call<{ id: string }>(alice, 'send', { handle: bob.handle, text: 'hello' })
  await eventually(async () => (await net.history(alice, bob)).find(m => m.id === first.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'first message delivered')
  await procs.stop(bobDaemon)
  await procs.stop(relay.relay, 'SIGKILL')

  for (let i = 0; i < messages; i++) await net.call(alice, 'send', { handle: bob.handle, text: `queued ${i}` })
  const outboxBefore = (await net.call<{ outbox: number }>(alice, 'status')).outbox
  const pid = aliceDaemon.proc.pid
  if (pid == null) throw new Error('no pid for alice\'s daemon')
  await sleep(settleS * 1000)
  const c0 = await cpuSeconds(pid)
  const t0 = performance.now()
  await sleep(windowS * 1000)
  const c1 = await cpuSeconds(pid)
  const t1 = performance.now()
  const outboxAfter = (await net.call<{ outbox: number }>(alice, 'status')).outbox
  console.log(JSON.stringify({
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
    messagesQueued: messages,
    settleSeconds: settleS,
    windowSeconds: Math.round((t1 - t0) / 100) / 10,
    senderCpuPercentOfOneCore: Math.round((c1 - c0) / ((t1 - t0) / 1000) * 1000) / 10,
    outboxBefore,
    outboxAfter
  }, null, 2))
} catch (err) {
  console.error(`bench failed: ${(err as Error).message}\n${net.describe()}`)
  process.exitCode = 1
} finally {
  await procs.stopAll()
}
