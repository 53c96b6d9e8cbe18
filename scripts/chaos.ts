/**
 * `npm run chaos -- --minutes N [--seed S]`: the chaos test of
 * test/e2e/chaos.spec.ts run for longer (a kill every 3-7 s, daemons and
 * relays, both relays down at times), printing one JSON report: messages
 * sent, acknowledged, delivered, lost, duplicated, the time from the last
 * fault to convergence, and the kills made. Exits 1 if a check failed.
 */
import { parseArgs } from 'node:util'
import { runChaos } from '../test/e2e/chaos/chaos.js'
import { FAST_DAEMON_ENV } from '../test/e2e/harness.js'

const { values } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    seed: { type: 'string' },
    'messages-per-pair': { type: 'string' }
  }
})
const minutes = Number(values.minutes)
if (!Number.isFinite(minutes) || minutes <= 0) {
  console.error(`--minutes ${values.minutes} is not a positive number`)
  process.exit(2)
}
const seed = values.seed != null ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
// About one message per pair every 6 s: 150 per pair in 15 minutes.
const messagesPerPair = values['messages-per-pair'] != null ? Number(values['messages-per-pair']) : Math.max(10, Math.round(minutes * 10))
const started = new Date()
const report = await runChaos({
  seed,
  faultMs: minutes * 60_000,
  messagesPerPair,
  killEveryMs: [3_000, 7_000],
  restartAfterMs: [1_000, 5_000],
  bothRelaysEvery: 7,
  convergenceTimeoutMs: 300_000,
  daemonEnv: FAST_DAEMON_ENV,
  log: (line) => { console.error(line) }
})
console.log(JSON.stringify({ date: started.toISOString(), ...report }, null, 2))
const ok = report.lost === 0 && report.duplicated === 0 && report.unexpected === 0 && report.disagreeing === 0 && report.notShownDelivered === 0 && report.convergenceSeconds != null && report.crashed.length === 0
process.exit(ok ? 0 : 1)
