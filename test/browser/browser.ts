/**
 * Headless Chromium for the browser tests (playwright-core, Debian's
 * Chromium at CHROMIUM_PATH, default /usr/bin/chromium): one browser
 * context per profile, each with its own storage, and nothing let out of
 * loopback (every request to another host is aborted and counted, and
 * {@link Browser.outside} lists them for the test to assert none).
 * {@link WebStack} runs a real relay process (test/e2e/harness.ts) with a
 * WebSocket listener, and the app's server in this process.
 */
import { chromium } from 'playwright-core'
import type { Browser as PwBrowser, BrowserContext, Page } from 'playwright-core'
import { Processes } from '../e2e/harness.js'
import type { Running } from '../e2e/harness.js'
import { startWebServer, webDistDir } from '../../node/web-server.js'
import type { WebServer } from '../../node/web-server.js'
import { buildWebIfStale } from '../../scripts/build-web.js'

/** Chromium flags that work as root in a closed network (NOTES.md, Browser testing). */
export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--disable-features=WebRtcHideLocalIpsWithMdns',
  '--allow-loopback-in-peer-connection'
]

/** A fake microphone and camera (a tone and a test pattern), allowed without asking (NOTES.md, Calls in headless Chromium). */
export const FAKE_MEDIA_ARGS = ['--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream']

/** WebSocket URLs whose host is not loopback (127.0.0.0/8, localhost, [::1]): see {@link Browser.profile}. */
export const NOT_LOOPBACK_WS = /^(?!wss?:\/\/(?:127\.\d+\.\d+\.\d+|localhost|\[::1\])(?::\d+)?(?:[/?#]|$))/

/** Whether a URL stays on this machine. */
export function isLoopbackUrl (url: string): boolean {
  if (url.startsWith('blob:') || url.startsWith('data:') || url.startsWith('about:')) return true
  const host = new URL(url).hostname
  return host === '127.0.0.1' || host === 'localhost' || host === '[::1]' || /^127\./.test(host)
}

/** One Chromium process and the contexts (profiles) opened in it. */
export class Browser {
  /** Requests that tried to leave loopback (aborted). */
  readonly outside: string[] = []
  private constructor (private readonly browser: PwBrowser) {}

  /** Launches Chromium; `extraArgs` e.g. {@link FAKE_MEDIA_ARGS}. */
  static async launch (extraArgs: string[] = []): Promise<Browser> {
    const browser = await chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: [...CHROMIUM_ARGS, ...extraArgs] })
    return new Browser(browser)
  }

  /** A fresh profile: its own storage, no request out of loopback, notifications allowed. */
  async profile (): Promise<BrowserContext> {
    const context = await this.browser.newContext({ viewport: { width: 1100, height: 800 } })
    await context.route('**/*', async (route) => {
      const url = route.request().url()
      if (isLoopbackUrl(url)) {
        await route.continue()
        return
      }
      this.outside.push(url)
      await route.abort('blockedbyclient')
    })
    // Only WebSockets that leave loopback are routed (and closed). A routed socket, even one passed on with
    // connectToServer(), has every frame carried through Playwright's driver process and back: 25-420 ms per
    // round trip on a relayed libp2p connection between two tabs, against 6-10 ms unrouted
    // (scripts/bench-hop-browser.ts). Only a RegExp is matched in the browser's side of Playwright: a
    // predicate function routes every socket through this process to be asked.
    await context.routeWebSocket(NOT_LOOPBACK_WS, (ws) => {
      if (isLoopbackUrl(ws.url().replace(/^ws/, 'http'))) {
        ws.connectToServer()
        return
      }
      this.outside.push(ws.url())
      void ws.close()
    })
    return context
  }

  async close (): Promise<void> {
    await this.browser.close()
  }
}

/** A relay process with a WebSocket listener and the app served for it. */
export class WebStack {
  readonly procs = new Processes()
  relay?: Running
  relayDir?: string
  /** The relay's WebSocket and TCP addresses. */
  wsAddr = ''
  tcpAddr = ''
  web?: WebServer
  private relayPorts = { tcp: 0, ws: 0 }
  private relayArgs: string[] = []

  /**
   * Builds the app if stale, starts the relay and the server; `config` adds
   * to the page's `/config.json` (e.g. `ringTimeoutMs`), `relayArgs` to the
   * relay's command line (e.g. TURN).
   */
  async start (options: { config?: Record<string, unknown>, relayArgs?: string[] } = {}): Promise<void> {
    await buildWebIfStale()
    this.relayArgs = options.relayArgs ?? []
    this.relayDir = await this.procs.tempDir('starling-web-relay-')
    await this.startRelay()
    this.web = await startWebServer({
      root: webDistDir(),
      host: '127.0.0.1',
      port: 0,
      config: { relays: [this.wsAddr], intervals: { fetchIntervalMs: 1_000, retryIntervalMs: 500 }, ...options.config }
    })
  }

  /** Starts (or restarts, on the same ports and data) the relay. */
  async startRelay (): Promise<void> {
    if (this.relayDir == null) throw new Error('not started')
    this.relay = await this.procs.start(['relay', '--listen', `/ip4/127.0.0.1/tcp/${this.relayPorts.tcp}`, '--listen', `/ip4/127.0.0.1/tcp/${this.relayPorts.ws}/ws`, '--data', this.relayDir, ...this.relayArgs])
    const addrs = this.relay.ready.multiaddrs as string[]
    this.wsAddr = addrs.find(a => a.includes('/ws/')) ?? ''
    this.tcpAddr = addrs.find(a => !a.includes('/ws/')) ?? ''
    this.relayPorts = { tcp: Number(/\/tcp\/(\d+)/.exec(this.tcpAddr)?.[1]), ws: Number(/\/tcp\/(\d+)/.exec(this.wsAddr)?.[1]) }
  }

  async stopRelay (): Promise<void> {
    if (this.relay != null) await this.procs.stop(this.relay)
  }

  get url (): string {
    if (this.web == null) throw new Error('not started')
    return this.web.url
  }

  async stop (): Promise<void> {
    await this.web?.stop()
    await this.procs.stopAll()
  }
}

/** Opens the app in `context` (optionally as `profile`) and waits until it shows something. */
export async function openApp (context: BrowserContext, url: string, profile?: string): Promise<Page> {
  const page = await context.newPage()
  page.on('pageerror', (err) => { process.stderr.write(`page error: ${err.message}\n`) })
  await page.goto(profile != null ? `${url}?profile=${profile}` : url)
  return page
}

/**
 * Creates an identity in a page on the setup screen; resolves with its
 * `name~tag` once connected and its records are published (others can
 * find it: right after ready, a resolution may not see it yet).
 */
export async function createIdentity (page: Page, handle: string): Promise<string> {
  await page.getByLabel('Handle', { exact: true }).fill(handle)
  await page.getByRole('button', { name: 'Create' }).click()
  await waitReady(page)
  await page.waitForFunction(() => window.starling?.running?.peer.directory.lastPublished != null, undefined, { timeout: 30_000 })
  return await page.evaluate(() => window.starling?.state.get().me?.handle ?? '')
}

/** Waits until the page holds a reservation on a relay (able to send and be reached). */
export async function waitReady (page: Page, timeout = 30_000): Promise<void> {
  await page.waitForFunction(() => document.documentElement.dataset.ready === 'true', undefined, { timeout })
}
