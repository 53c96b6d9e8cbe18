/**
 * `npm run simulate -- SCENARIO.json [--out DIR]`: runs a simulation of real
 * Starling relays and users (scripts/sim/coordinator.ts) and writes its
 * folder (default `.data/sim/<name>-<time>`), then prints the summary.
 * `npm run simulate -- --compare RUN_A RUN_B [--out DIR]`: two runs side by side.
 * A scenario that does not match the schema is refused with the fields at fault.
 */
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { parseScenarioText } from '../test/sim/scenario.js'
import { compareRuns } from '../test/sim/compare.js'
import { runSimulation } from './sim/coordinator.js'

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' }, compare: { type: 'boolean' } } })
  if (values.compare === true) {
    if (positionals.length !== 2) throw new UsageError('--compare takes two run folders')
    const { table, svgPath } = await compareRuns(positionals[0], positionals[1], values.out ?? '.')
    console.log(table)
    console.log(`latency CDFs: ${svgPath}`)
    return 0
  }
  if (positionals.length !== 1) throw new UsageError('usage: npm run simulate -- SCENARIO.json [--out DIR] | --compare RUN_A RUN_B')
  const scenario = parseScenarioText(await readFile(positionals[0], 'utf8'))
  const outDir = values.out ?? join('.data', 'sim', `${scenario.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  const tty = process.stdout.isTTY
  const summary = await runSimulation(scenario, {
    outDir,
    log: (line) => { if (tty) process.stdout.write('\r\x1b[K'); console.log(line) },
    progress: tty ? (line) => { process.stdout.write(`\r\x1b[K${line}`) } : undefined
  })
  const m = summary.messages
  console.log(`delivery ratio ${(m.deliveryRatio * 100).toFixed(2)}% (${m.delivered}/${m.toReturningRecipients}), end to end ${(m.endToEndRatio * 100).toFixed(2)}% (${m.sendFailed} send calls failed)${summary.honest != null ? `, honest users end to end ${(summary.honest.endToEndRatio * 100).toFixed(2)}%` : ''}, duplicates ${m.duplicates}, latency p50/p90/p99 ${summary.latencyMs.all.p50}/${summary.latencyMs.all.p90}/${summary.latencyMs.all.p99} ms, ${summary.bytes.perDeliveredMessage} bytes per delivered message`)
  const unhandled = summary.faults.unhandledRejections ?? 0
  if (unhandled > 0) console.log(`${unhandled} rejections nobody handled (they would have ended a daemon or relay process): see the workers' log lines`)
  console.log(summary.limits)
  console.log(`run folder: ${outDir}`)
  return 0
}

class UsageError extends Error {
  override name = 'UsageError'
}

main().then(code => { process.exitCode = code }, (err: Error) => {
  console.error(`${err.name}: ${err.message}`)
  process.exitCode = err.name === 'ScenarioError' || err.name === 'UsageError' ? 2 : 1
})
