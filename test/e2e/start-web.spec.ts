/**
 * `npm start` (node/bin/start.js) as a real process: it prints the web
 * app's URL, serves the app and a `/config.json` naming the relay's ws://
 * address, and after a restart serves on the SAME port (a page's IndexedDB
 * belongs to its origin, port included), the relay on the same address.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { Processes } from './harness.js'

const START = resolve(import.meta.dirname, '../../node/bin/start.js')

/** Starts `npm start`'s entry; resolves with the process and the URL it printed. */
async function start (env: Record<string, string>): Promise<{ proc: ChildProcess, url: string }> {
  const proc = spawn(process.execPath, [START], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => { reject(new Error('no URL printed within 60 s')) }, 60_000)
    createInterface({ input: proc.stdout }).on('line', (line) => {
      const m = /^Web app: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)
      if (m == null) return
      clearTimeout(timer)
      resolveUrl(m[1])
    })
    proc.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`start exited with ${String(code)}`))
    })
  })
  return { proc, url }
}

async function stop (proc: ChildProcess): Promise<void> {
  if (proc.exitCode != null) return
  const exited = new Promise<void>(r => proc.once('exit', () => { r() }))
  proc.kill('SIGINT')
  await exited
}

describe('e2e: npm start serves the web app on the same port every time', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const running: ChildProcess[] = []
  after(async () => {
    for (const p of running) await stop(p)
    await procs.stopAll()
  })

  it('prints the URL, serves the app and the relay\'s ws:// address, and keeps both across a restart', async () => {
    const env = { STARLING_DATA: await procs.tempDir('starling-start-user-'), STARLING_RELAY_DATA: await procs.tempDir('starling-start-relay-'), STARLING_PASSPHRASE: '' }
    const first = await start(env)
    running.push(first.proc)
    const page = await fetch(first.url)
    assert.equal(page.status, 200)
    assert.match(await page.text(), /<script type="module" src="\/app.js">/)
    const config = await (await fetch(new URL('/config.json', first.url))).json() as { relays: string[] }
    assert.equal(config.relays.length, 1)
    assert.match(config.relays[0], /^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/12D3Koo/)
    await stop(first.proc)

    const second = await start(env)
    running.push(second.proc)
    assert.equal(second.url, first.url, 'the same origin')
    const again = await (await fetch(new URL('/config.json', second.url))).json() as { relays: string[] }
    assert.deepEqual(again.relays, config.relays, 'the same relay address')
  })
})
