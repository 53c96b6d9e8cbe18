/**
 * The run's plots, as Vega-Lite specifications rendered to SVG headless
 * (vega-lite compiles, vega renders with no DOM): the latency CDF, delivery
 * over time with churn and faults marked, and bandwidth over time. The
 * compare view draws two runs' CDFs on one chart.
 */
import { compile } from 'vega-lite'
import type { TopLevelSpec } from 'vega-lite'
import type { UnitSpec } from 'vega-lite/types_unstable/spec/unit.js'
import { View, parse } from 'vega'

/** Renders a Vega-Lite spec to an SVG document. */
export async function renderSvg (spec: TopLevelSpec): Promise<string> {
  const { spec: vg } = compile(spec)
  const view = new View(parse(vg), { renderer: 'none' })
  try {
    return await view.toSVG()
  } finally {
    view.finalize()
  }
}

/** Points of an empirical CDF (at most ~500 of them). */
export function cdfPoints (values: number[], run?: string): Array<{ latencyMs: number, fraction: number, run?: string }> {
  const sorted = [...values].sort((a, b) => a - b)
  const step = Math.max(1, Math.floor(sorted.length / 500))
  const out: Array<{ latencyMs: number, fraction: number, run?: string }> = []
  for (let i = 0; i < sorted.length; i += step) out.push({ latencyMs: Math.max(1, sorted[i]), fraction: (i + 1) / sorted.length, run })
  if (sorted.length > 0) out.push({ latencyMs: Math.max(1, sorted[sorted.length - 1]), fraction: 1, run })
  return out
}

/** Latency CDF of one or more runs (points carry a `run` name when several). */
export function latencyCdfSpec (points: Array<{ latencyMs: number, fraction: number, run?: string }>, title: string): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    width: 480,
    height: 300,
    data: { values: points },
    mark: { type: 'line', interpolate: 'step-after' },
    encoding: {
      x: { field: 'latencyMs', type: 'quantitative', scale: { type: 'log' }, title: 'latency, simulated ms (log)' },
      y: { field: 'fraction', type: 'quantitative', title: 'share of delivered messages', scale: { domain: [0, 1] } },
      ...(points.some(p => p.run != null) ? { color: { field: 'run', type: 'nominal' } } : {})
    }
  }
}

/** A marked moment: a partition, a relay crash. */
export interface Mark { t: number, label: string }

/**
 * Sent and delivered messages per time bin (top) and users online (bottom),
 * with faults as vertical rules on both.
 */
export function deliverySpec (bins: Array<{ t: number, series: string, count: number }>, online: Array<{ t: number, online: number }>, marks: Mark[]): TopLevelSpec {
  const rules: UnitSpec<string> = { data: { values: marks }, mark: { type: 'rule', color: 'firebrick', strokeDash: [4, 3] }, encoding: { x: { field: 't', type: 'quantitative' } } }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Delivery over time (red: partitions and relay crashes)',
    vconcat: [
      {
        width: 480,
        height: 200,
        layer: [
          { data: { values: bins }, mark: 'line', encoding: { x: { field: 't', type: 'quantitative', title: 'simulated s' }, y: { field: 'count', type: 'quantitative', title: 'messages per bin' }, color: { field: 'series', type: 'nominal' } } },
          rules
        ]
      },
      {
        width: 480,
        height: 120,
        layer: [
          { data: { values: online }, mark: { type: 'line', interpolate: 'step-after' }, encoding: { x: { field: 't', type: 'quantitative', title: 'simulated s' }, y: { field: 'online', type: 'quantitative', title: 'users online (churn)' } } },
          rules
        ]
      }
    ]
  }
}

/** Bytes per simulated second on all connections of all workers. */
export function bandwidthSpec (points: Array<{ t: number, kibPerSecond: number }>, marks: Mark[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: 'Bandwidth over time (all connections, wire bytes)',
    width: 480,
    height: 240,
    layer: [
      { data: { values: points }, mark: 'area', encoding: { x: { field: 't', type: 'quantitative', title: 'simulated s' }, y: { field: 'kibPerSecond', type: 'quantitative', title: 'KiB per wall second' } } },
      { data: { values: marks }, mark: { type: 'rule', color: 'firebrick', strokeDash: [4, 3] }, encoding: { x: { field: 't', type: 'quantitative' } } }
    ]
  }
}
