/**
 * Two runs side by side (`npm run simulate -- --compare RUN_A RUN_B`): a
 * table of their summaries' figures, and both latency CDFs on one chart
 * (written as `compare-latency-cdf.svg` in the current folder, or `--out`).
 */
import { readFile, writeFile } from 'node:fs/promises'
import { basename, join } from 'node:path'
import type { Summary } from './summary.js'
import { cdfPoints, latencyCdfSpec, renderSvg } from './plots.js'

/** The rows compared: a label and how to read the figure. */
const ROWS: Array<[string, (s: Summary) => string | number]> = [
  ['date', s => s.date],
  ['time', s => s.time],
  ['relays / users / workers', s => `${s.nodes.relays} / ${s.nodes.users} / ${s.nodes.workers}`],
  ['churning users', s => s.nodes.churning],
  ['messages queued', s => s.messages.queued],
  ['send failures', s => s.messages.sendFailed],
  ['delivery ratio (returning recipients)', s => s.messages.deliveryRatio.toFixed(4)],
  // Runs written before these figures existed show a dash.
  ['end to end (failed sends counted)', s => s.messages.endToEndRatio?.toFixed(4) ?? '-'],
  ['honest users: end to end', s => s.honest?.endToEndRatio.toFixed(4) ?? '-'],
  ['contacts added / not added at warm-up', s => s.contacts != null ? `${s.contacts.added} / ${s.contacts.failed}` : '-'],
  ['duplicates', s => s.messages.duplicates],
  ['via relay', s => s.messages.viaRelay],
  ['latency p50 / p90 / p99 ms', s => `${s.latencyMs.all.p50} / ${s.latencyMs.all.p90} / ${s.latencyMs.all.p99}`],
  ['latency, recipient online, p50 / p99 ms', s => `${s.latencyMs.recipientOnlineAtSend.p50} / ${s.latencyMs.recipientOnlineAtSend.p99}`],
  ['bytes per delivered message', s => s.bytes.perDeliveredMessage],
  ['resolution p50 / p99 ms (failed)', s => `${s.resolutionMs.p50} / ${s.resolutionMs.p99} (${s.resolutionMs.failed})`],
  ['CPU share of machine', s => s.resources.cpuShareOfMachine],
  ['RSS per node MiB', s => s.resources.rssPerNodeMiB],
  ['event-loop lag p99 max ms', s => s.resources.lagP99MaxMs],
  ['wall seconds', s => s.wallSeconds]
]

async function readRun (dir: string): Promise<{ summary: Summary, latencies: number[] }> {
  const summary = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Summary
  const latencies: number[] = []
  for (const line of (await readFile(join(dir, 'messages.jsonl'), 'utf8')).split('\n')) {
    if (line === '') continue
    const r = JSON.parse(line) as { receptions: Array<{ latencyMs: number | null }> }
    const ms = r.receptions[0]?.latencyMs
    if (ms != null) latencies.push(ms)
  }
  return { summary, latencies }
}

/** The table as text, and the chart written to `outDir`; resolves with the table. */
export async function compareRuns (a: string, b: string, outDir: string): Promise<{ table: string, svgPath: string }> {
  const [ra, rb] = [await readRun(a), await readRun(b)]
  const names = [basename(a), basename(b)]
  const rows = ROWS.map(([label, read]) => [label, String(read(ra.summary)), String(read(rb.summary))])
  const widths = [0, 1, 2].map(i => Math.max(...[['', ...names][i], ...rows.map(r => r[i])].map(s => s.length)))
  const fmt = (r: string[]): string => r.map((c, i) => c.padEnd(widths[i])).join('  ')
  const table = [fmt(['', ...names]), ...rows.map(fmt)].join('\n')
  const svg = await renderSvg(latencyCdfSpec([...cdfPoints(ra.latencies, names[0]), ...cdfPoints(rb.latencies, names[1])], `Latency CDF: ${names[0]} vs ${names[1]}`))
  const svgPath = join(outDir, 'compare-latency-cdf.svg')
  await writeFile(svgPath, svg)
  return { table, svgPath }
}
