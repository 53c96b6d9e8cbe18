/**
 * A run's folder: `scenario.json`, `messages.jsonl` (one record per
 * scheduled message: when, from, to, size, its id, each reception with
 * latency and path), `events.jsonl` (users and relays going down and up,
 * partitions), `stats.jsonl` (each worker's resource samples),
 * `summary.json` (test/sim/summary.ts) and three SVG plots.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { RunLog } from './run-log.js'
import { latencies, summarise } from './summary.js'
import type { Summary } from './summary.js'
import { bandwidthSpec, cdfPoints, deliverySpec, latencyCdfSpec, renderSvg } from './plots.js'
import type { Mark } from './plots.js'

/** The files a run folder holds. */
export const RUN_FILES = ['scenario.json', 'messages.jsonl', 'events.jsonl', 'stats.jsonl', 'summary.json', 'latency-cdf.svg', 'delivery.svg', 'bandwidth.svg'] as const

const jsonl = (rows: unknown[]): string => rows.map(r => JSON.stringify(r)).join('\n') + (rows.length > 0 ? '\n' : '')

/** Writes the folder; resolves with the summary. */
export async function writeRun (dir: string, run: RunLog, extra: { wallSeconds: number }): Promise<Summary> {
  await mkdir(dir, { recursive: true })
  const summary = summarise(run, extra.wallSeconds)
  const sim = (wall: number): number => Math.round(run.sim(wall))
  const records = run.schedule.messages.map(m => {
    const sent = run.sent.get(m.seq)
    const got = run.receptions.get(m.seq) ?? []
    return {
      seq: m.seq,
      atMs: m.at,
      from: m.from,
      to: m.to,
      bytes: m.bytes,
      attachmentBytes: m.attachment,
      id: sent?.id ?? null,
      sentAtMs: sent != null ? sim(sent.wall) : null,
      error: run.failed.get(m.seq) ?? null,
      receptions: got.map(r => ({ atMs: sim(r.wall), via: r.via, latencyMs: sent != null ? Math.round((r.wall - sent.wall) / run.scenario.timeDilation) : null })),
      delivered: got.length > 0,
      duplicates: Math.max(0, got.length - 1)
    }
  })
  const marks: Mark[] = [
    ...run.scenario.faults.partitions.flatMap(p => [{ t: p.atSeconds, label: 'partition' }, { t: p.atSeconds + p.durationSeconds, label: 'healed' }]),
    ...run.relayEvents.map(e => ({ t: sim(e.wall) / 1000, label: `relay ${e.relay} ${e.up ? 'up' : 'down'}` }))
  ]
  const events = [
    ...run.online.map(e => ({ atMs: sim(e.wall), user: e.user, online: e.on })),
    ...run.relayEvents.map(e => ({ atMs: sim(e.wall), relay: e.relay, up: e.up })),
    ...marks.filter(m => m.label === 'partition' || m.label === 'healed').map(m => ({ atMs: m.t * 1000, partition: m.label === 'partition' }))
  ].sort((a, b) => a.atMs - b.atMs)

  await writeFile(join(dir, 'scenario.json'), JSON.stringify(run.scenario, null, 2) + '\n')
  await writeFile(join(dir, 'messages.jsonl'), jsonl(records))
  await writeFile(join(dir, 'events.jsonl'), jsonl(events))
  await writeFile(join(dir, 'stats.jsonl'), jsonl(run.stats.map(s => ({ ...s, atMs: sim(s.t) }))))
  await writeFile(join(dir, 'summary.json'), JSON.stringify(summary, null, 2) + '\n')

  const lat = latencies(run)
  await writeFile(join(dir, 'latency-cdf.svg'), await renderSvg(latencyCdfSpec(cdfPoints(lat.map(l => l.ms)), `Latency CDF: ${run.scenario.name}`)))
  await writeFile(join(dir, 'delivery.svg'), await renderSvg(deliverySpec(deliveryBins(run), onlineSeries(run), marks)))
  await writeFile(join(dir, 'bandwidth.svg'), await renderSvg(bandwidthSpec(bandwidthSeries(run), marks)))
  return summary
}

/** Messages sent and first receptions per bin of simulated time (about 60 bins). */
function deliveryBins (run: RunLog): Array<{ t: number, series: string, count: number }> {
  const lastMs = Math.max(run.schedule.durationMs, ...[...run.receptions.values()].map(l => run.sim(l[0].wall)))
  const bin = Math.max(1_000, Math.ceil(lastMs / 60 / 1_000) * 1_000)
  const sent = new Map<number, number>()
  const delivered = new Map<number, number>()
  for (const s of run.sent.values()) { const b = Math.floor(run.sim(s.wall) / bin); sent.set(b, (sent.get(b) ?? 0) + 1) }
  for (const l of run.receptions.values()) { const b = Math.floor(run.sim(l[0].wall) / bin); delivered.set(b, (delivered.get(b) ?? 0) + 1) }
  const out: Array<{ t: number, series: string, count: number }> = []
  for (let b = 0; b <= Math.floor(lastMs / bin); b++) {
    out.push({ t: b * bin / 1000, series: 'sent', count: sent.get(b) ?? 0 })
    out.push({ t: b * bin / 1000, series: 'delivered', count: delivered.get(b) ?? 0 })
  }
  return out
}

/** Users online over simulated time, from the workers' samples (summed per sampling round). */
function onlineSeries (run: RunLog): Array<{ t: number, online: number }> {
  const byRound = new Map<number, Map<number, number>>()
  for (const s of run.stats) {
    const t = Math.round(run.sim(s.t) / 2_000) * 2
    const round = byRound.get(t) ?? new Map<number, number>()
    round.set(s.worker, s.usersOnline)
    byRound.set(t, round)
  }
  return [...byRound.entries()].filter(([t]) => t >= 0).sort((a, b) => a[0] - b[0]).map(([t, m]) => ({ t, online: [...m.values()].reduce((a, b) => a + b, 0) }))
}

/** KiB per wall second written by all workers, from the differences between samples. */
function bandwidthSeries (run: RunLog): Array<{ t: number, kibPerSecond: number }> {
  const perWorker = new Map<number, Array<{ t: number, bytes: number }>>()
  for (const s of run.stats) {
    const list = perWorker.get(s.worker) ?? []
    list.push({ t: s.t, bytes: s.bytes })
    perWorker.set(s.worker, list)
  }
  const sums = new Map<number, number>()
  for (const list of perWorker.values()) {
    for (let i = 1; i < list.length; i++) {
      const t = Math.round(run.sim(list[i].t) / 2_000) * 2
      const rate = (list[i].bytes - list[i - 1].bytes) / 1024 / Math.max(0.001, (list[i].t - list[i - 1].t) / 1000)
      sums.set(t, (sums.get(t) ?? 0) + rate)
    }
  }
  return [...sums.entries()].sort((a, b) => a[0] - b[0]).map(([t, kib]) => ({ t, kibPerSecond: Math.round(kib * 10) / 10 }))
}
