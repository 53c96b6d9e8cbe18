/**
 * `node --import tsx scripts/bench-hop-browser.ts`: round trips of one small
 * message between two tabs (each its own headless Chromium, the app's
 * peers, contacts) over their libp2p connections, as JSON: through the
 * relay (a circuit over WebSockets) and direct (WebRTC), on a stream kept
 * open and on a fresh stream per message (ms, medians of 15 and 8).
 * `HOP_ROUTE=proxy` routes every WebSocket of the pages through Playwright,
 * as the harness did before 2026-12-07 (test/browser/calls-hop.spec.ts
 * says why that was the relayed hop's cost).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Browser, WebStack, createIdentity, openApp } from '../test/browser/browser.js'
import { befriend, callArgs } from '../test/browser/calls.js'
import type { Party } from '../test/browser/calls.js'
import { encodeWav, tone } from '../node/calls/wav.js'

const ECHO = '/starling-bench/echo/1.0.0'
const proxy = process.env.HOP_ROUTE === 'proxy'

async function party (stack: WebStack, dir: string, name: string): Promise<Party> {
  const wav = join(dir, `${name}.wav`)
  await writeFile(wav, encodeWav(tone(440, 1)))
  const browser = await Browser.launch(callArgs(wav))
  const context = await browser.profile()
  if (proxy) await context.routeWebSocket(/.*/, (ws) => { ws.connectToServer() })
  const page = await openApp(context, stack.url)
  const handle = await createIdentity(page, name)
  return { browser, page, handle, name }
}

const dir = await mkdtemp(join(tmpdir(), 'starling-hop-'))
const stack = new WebStack()
const parties: Party[] = []
try {
  await stack.start()
  parties.push(await party(stack, dir, 'hopa'), await party(stack, dir, 'hopb'))
  const [a, b] = parties
  await befriend(a, b)
  const bId = await b.page.evaluate(() => window.starling?.running?.peer.node.peerId.toString() ?? '')
  await b.page.evaluate(async (protocol) => {
    await window.starling?.running?.peer.node.handle(protocol, (stream) => {
      stream.addEventListener('message', (e) => { stream.send(e.data) })
    }, { runOnLimitedConnection: true })
  }, ECHO)
  // tsx names the page function's inner functions with a helper the page does not have.
  await a.page.evaluate('window.__name = function (f) { return f }')
  const result = await a.page.evaluate(async ({ bId, protocol }) => {
    const node = window.starling?.running?.peer.node
    if (node == null) throw new Error('no node')
    const toB = (): ReturnType<typeof node.getConnections> => node.getConnections().filter(c => c.remotePeer.toString() === bId)
    let circuit = toB().find(c => c.limits != null)
    const relay = node.getConnections().find(c => c.remotePeer.toString() !== bId && c.limits == null && c.remoteAddr.toString().includes('/ws'))
    for (let i = 0; circuit == null && relay != null && i < 5; i++) {
      circuit = await node.dial(relay.remoteAddr.encapsulate(`/p2p-circuit/p2p/${bId}`), { force: true } as Parameters<typeof node.dial>[1]).catch(async () => { await new Promise(resolve => setTimeout(resolve, 500)); return undefined })
    }
    const direct = toB().find(c => c.limits == null)
    const median = (xs: number[]): number => Math.round([...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] * 10) / 10
    const roundTrip = async (s: Awaited<ReturnType<typeof node.dialProtocol>>): Promise<void> => {
      await new Promise<void>(resolve => { s.addEventListener('message', () => { resolve() }, { once: true }); s.send(new Uint8Array(100)) })
    }
    const out: Record<string, unknown> = {}
    for (const [label, conn] of [['relayed', circuit], ['direct', direct]] as const) {
      if (conn == null) { out[label] = 'no connection'; continue }
      const kept: number[] = []
      const fresh: number[] = []
      const s = await conn.newStream(protocol, { runOnLimitedConnection: true })
      for (let i = 0; i < 15; i++) {
        const t0 = performance.now()
        await roundTrip(s)
        kept.push(performance.now() - t0)
        await new Promise(resolve => setTimeout(resolve, 30))
      }
      await s.close()
      for (let i = 0; i < 8; i++) {
        const t0 = performance.now()
        const s2 = await conn.newStream(protocol, { runOnLimitedConnection: true })
        await roundTrip(s2)
        fresh.push(performance.now() - t0)
        await s2.close()
        await new Promise(resolve => setTimeout(resolve, 30))
      }
      out[label] = { addr: conn.remoteAddr.toString(), keptMedianMs: median(kept), keptMaxMs: Math.round(Math.max(...kept)), freshMedianMs: median(fresh), freshMaxMs: Math.round(Math.max(...fresh)) }
    }
    return out
  }, { bId, protocol: ECHO })
  process.stdout.write(JSON.stringify({ websockets: proxy ? 'routed through Playwright' : 'the pages\' own', ...result }, null, 2) + '\n')
} finally {
  for (const p of parties) await p.browser.close()
  await stack.stop()
  await rm(dir, { recursive: true, force: true })
}
