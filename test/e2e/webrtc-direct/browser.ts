/**
 * A headless Chromium (playwright-core; `CHROMIUM_PATH`, default
 * /usr/bin/chromium) on one page served from 127.0.0.1: an esbuild bundle of
 * `entry` for the browser, loaded as a module. Flags from NOTES.md: WebRTC
 * gathers no candidates on a loopback-only host without
 * `--allow-loopback-in-peer-connection`, and hides local addresses behind
 * mDNS names unless told not to.
 */
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import type { Browser, Page } from 'playwright-core'

/** Chromium flags for tests on a closed, loopback-only machine. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--allow-loopback-in-peer-connection',
  '--disable-features=WebRtcHideLocalIpsWithMdns'
]

/** A browser with one page that has loaded the bundle. */
export interface TestPage {
  browser: Browser
  page: Page
  /** Browser console lines (for failure messages). */
  console: string[]
  close(): Promise<void>
}

/** Bundles `entry`, serves it on 127.0.0.1, and opens it in Chromium; resolves once `ready()` holds in the page. */
export async function openTestPage (entry: string, ready: string, extraArgs: string[] = []): Promise<TestPage> {
  const bundle = await build({ entryPoints: [entry], bundle: true, platform: 'browser', format: 'esm', write: false, logLevel: 'silent' })
  const js = bundle.outputFiles[0].contents
  const server = createServer((req, res) => {
    if (req.url === '/page.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' })
      res.end(js)
      return
    }
    res.writeHead(200, { 'content-type': 'text/html' })
    res.end('<!doctype html><meta charset="utf-8"><title>test</title><script type="module" src="/page.js"></script>')
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] })
    const page = await browser.newPage()
    const lines: string[] = []
    page.on('console', m => { lines.push(m.text()) })
    page.on('pageerror', e => { lines.push(`pageerror: ${e.message}`) })
    await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`)
    await page.waitForFunction(ready, undefined, { timeout: 20_000 })
    const opened = browser
    return { browser: opened, page, console: lines, close: async () => { await opened.close(); await close(server) } }
  } catch (err) {
    await browser?.close()
    await close(server)
    throw err
  }
}

async function close (server: Server): Promise<void> {
  await new Promise<void>(resolve => server.close(() => { resolve() }))
}
