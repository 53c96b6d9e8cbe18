/**
 * A whole simulation, end to end (issue 15, item 7): three relays and 20
 * real Starling users (src/peer) in two worker processes, 30% of them
 * coming and going, a partition between two halves that heals, then every
 * user back online. Every message queued for a user that came back must be
 * delivered exactly once, to that user; the run's folder must hold every
 * file, each parsing (JSON lines, summary, well-formed SVG).
 *
 * The settle phase (up to 180 s after the workload) is the one wall-clock
 * bound, and it only ends the wait: a run on a loaded machine delivers
 * later, not less.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseScenario } from './scenario.js'
import { RUN_FILES } from './output.js'
import { compareRuns } from './compare.js'
import type { Summary } from './summary.js'
import { runSimulation } from '../../scripts/sim/coordinator.js'

/** Open and close tags balance, and the root is an SVG element. */
function assertWellFormedSvg (svg: string, file: string): void {
  assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www\.w3\.org\/2000\/svg"/, `${file} is not an SVG document`)
  assert.ok(svg.trimEnd().endsWith('</svg>'), `${file} does not end its root`)
  const stack: string[] = []
  for (const tag of svg.matchAll(/<(\/?)([a-zA-Z][\w:-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = tag
    if (selfClosing === '/') continue
    if (closing === '/') assert.equal(stack.pop(), name, `${file}: </${name}> closes the wrong element`)
    else stack.push(name)
  }
  assert.deepEqual(stack, [], `${file}: unclosed elements`)
}

describe('simulation: a small scenario end to end', function () {
  this.timeout(15 * 60_000)
  let dir = ''
  after(async () => { if (dir !== '') await rm(dir, { recursive: true, force: true }) })

  it('20 users, 30% churn and a partition that heals: every message to a returning user delivered exactly once; outputs present and parse', async () => {
    dir = await mkdtemp(join(tmpdir(), 'starling-sim-'))
    const scenario = parseScenario({
      name: 'ci-small',
      seed: 1515,
      relays: 3,
      users: 20,
      workers: 2,
      durationSeconds: 45,
      settleSeconds: 180,
      network: { latencyMs: 5 },
      churn: { share: 0.3, meanOnlineSeconds: 15, meanOfflineSeconds: 10 },
      workload: { messagesPerNodePerMinute: 2, contacts: 4, minBytes: 20, maxBytes: 300 },
      faults: { partitions: [{ atSeconds: 15, durationSeconds: 12 }] }
    })
    const lines: string[] = []
    const summary = await runSimulation(scenario, { outDir: dir, log: (l) => { lines.push(l) } })

    const m = summary.messages
    assert.ok(m.queued >= 20, `only ${m.queued} messages queued`)
    assert.equal(m.sendFailed, 0, JSON.stringify(m.sendErrors))
    assert.equal(m.toReturningRecipients, m.queued)
    assert.equal(m.deliveryRatio, 1, `undelivered: ${JSON.stringify(m.undelivered)}\n${lines.join('\n')}`)
    assert.equal(m.duplicates, 0)
    assert.equal(m.misdirected, 0)
    assert.ok(summary.nodes.churning === 6)
    assert.ok(summary.faults.cut > 0, 'the partition cut no send')
    assert.ok(summary.bytes.perDeliveredMessage > 0, 'no wire bytes counted')
    assert.equal(summary.time, 'real')

    for (const f of RUN_FILES) {
      const text = await readFile(join(dir, f), 'utf8')
      if (f.endsWith('.jsonl')) for (const line of text.trim().split('\n')) JSON.parse(line)
      else if (f.endsWith('.json')) JSON.parse(text)
      else assertWellFormedSvg(text, f)
    }
    const stored = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8')) as Summary
    assert.equal(stored.messages.delivered, m.delivered)
    const records = (await readFile(join(dir, 'messages.jsonl'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as { delivered: boolean, duplicates: number, id: string | null })
    assert.equal(records.length, m.scheduled)
    assert.ok(records.every(r => r.id == null || (r.delivered && r.duplicates === 0)))
    const events = (await readFile(join(dir, 'events.jsonl'), 'utf8')).trim().split('\n').map(l => JSON.parse(l) as Record<string, unknown>)
    assert.ok(events.some(e => e.online === false), 'no churn happened')
    assert.ok(events.some(e => e.partition === true) && events.some(e => e.partition === false))

    // --compare: the two runs' figures side by side (here the run with itself), and both CDFs on one chart.
    const { table, svgPath } = await compareRuns(dir, dir, dir)
    assert.match(table, /delivery ratio \(returning recipients\)\s+1\.0000\s+1\.0000/)
    assertWellFormedSvg(await readFile(svgPath, 'utf8'), 'compare-latency-cdf.svg')
  })
})
