/**
 * `npm run bench:web`: the web app's figures, as JSON.
 * - ready: from navigation to "ready" (identity loaded from IndexedDB,
 *   connected to the relay, reservation held, able to send), on reloads of
 *   a tab whose identity exists (median of RUNS), on loopback;
 * - round trip: the first message between two tabs (first contact:
 *   resolution, PQXDH, the end-to-end acknowledgement back) and a second one;
 * - bundle: what is loaded before ready (HTML, CSS, the entry script and
 *   its static imports), minified and gzip, and what is loaded later apart
 *   (the emoji picker's chunk and its data file, fetched when a picker opens).
 * Targets (issue 11): ready under 1 s on loopback, bundle under 600 KB gzip.
 */
import { gzipSync } from 'node:zlib'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { EMOJI_DATA_FILE, buildWeb, WEB_DIST } from './build-web.js'
import { Browser, WebStack, createIdentity, openApp, waitReady } from '../test/browser/browser.js'

const RUNS = 5

interface FileSize { file: string, minified: number, gzip: number }

async function size (file: string): Promise<FileSize> {
  const bytes = await readFile(join(WEB_DIST, file))
  return { file, minified: bytes.length, gzip: gzipSync(bytes, { level: 9 }).length }
}

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

const metafile = await buildWeb()
const outputs = metafile.outputs
const rel = (path: string): string => path.slice(path.indexOf('web/dist/') + 'web/dist/'.length)
const entry = Object.keys(outputs).find(f => outputs[f].entryPoint != null && f.endsWith('.js'))
if (entry == null) throw new Error('no entry script in the build')
// Everything the entry imports statically is loaded before the app runs; dynamic imports come later.
const eager = new Set<string>()
const visit = (f: string): void => {
  if (eager.has(f)) return
  eager.add(f)
  for (const i of outputs[f].imports) if (i.kind === 'import-statement') visit(i.path)
}
visit(entry)
const lazy = Object.keys(outputs).filter(f => f.endsWith('.js') && !eager.has(f))
const before = await Promise.all(['index.html', 'style.css', ...[...eager].map(rel)].map(size))
const later = await Promise.all([...lazy.map(rel), EMOJI_DATA_FILE].map(size))

const stack = new WebStack()
await stack.start()
const browser = await Browser.launch()
try {
  const alice = await openApp(await browser.profile(), stack.url)
  const bob = await openApp(await browser.profile(), stack.url)
  await createIdentity(alice, 'bench_alice')
  const bobHandle = await createIdentity(bob, 'bench_bob')

  const ready: number[] = []
  const stages: Array<Record<string, number>> = []
  for (let i = 0; i < RUNS; i++) {
    await alice.reload()
    await waitReady(alice)
    ready.push(await alice.evaluate(() => performance.getEntriesByName('starling-ready')[0]?.startTime ?? NaN))
    // Where the time went: the app's marks (web/src/app), ms since navigation.
    stages.push(await alice.evaluate(() => Object.fromEntries(performance.getEntriesByType('mark').map(m => [m.name.replace('starling-', ''), Math.round(m.startTime)]))))
  }

  const roundTrip = async (text: string): Promise<number> => await alice.evaluate(async ({ handle, text }) => {
    const messenger = window.starling?.running?.peer.messenger
    if (messenger == null) throw new Error('not running')
    // No named function literals in here: tsx would wrap them in a helper the page does not have.
    const t0 = performance.now()
    const listening: Array<() => void> = []
    const delivered = new Promise<void>(resolve => {
      listening.push(messenger.on('status', (e) => { if (e.state === 'delivered' || e.state === 'read') resolve() }))
    })
    await messenger.send(handle, { kind: 'text', text })
    await delivered
    for (const stop of listening) stop()
    return performance.now() - t0
  }, { handle: bobHandle, text })
  const first = await roundTrip('first message')
  const second = await roundTrip('second message')

  const sum = (xs: FileSize[], k: 'minified' | 'gzip'): number => xs.reduce((n, x) => n + x[k], 0)
  console.log(JSON.stringify({
    date: new Date().toISOString().slice(0, 10),
    readyMs: { median: Math.round(median(ready)), runs: ready.map(Math.round), targetMs: 1000, stagesOfLastRun: stages.at(-1) },
    roundTripMs: { first: Math.round(first), second: Math.round(second) },
    bundle: {
      beforeReady: { minifiedBytes: sum(before, 'minified'), gzipBytes: sum(before, 'gzip'), files: before, targetGzipBytes: 600 * 1000 },
      lazy: { minifiedBytes: sum(later, 'minified'), gzipBytes: sum(later, 'gzip'), files: later }
    },
    leftLoopback: browser.outside.length
  }, null, 2))
} finally {
  await browser.close()
  await stack.stop()
}
