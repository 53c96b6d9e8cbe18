/**
 * Helpers for the call tests (NOTES.md, Calls in headless Chromium): one
 * Chromium process per party, each with a fake microphone playing its own
 * tone (the flag applies to the whole process) and fake cameras (which
 * all draw the same picture: a test gives the first another shape), what a page's call says about its media (getStats through
 * src/calls/stats.ts), the dominant frequency of what a page hears (an
 * AnalyserNode on the remote stream), and the colour of the remote video.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { Browser, FAKE_MEDIA_ARGS, createIdentity, openApp } from './browser.js'
import type { WebStack } from './browser.js'
import { message, openChat, send, startChat } from './app.js'
import { encodeWav, tone } from '../../node/calls/wav.js'
import type { CallStats } from '../../src/calls/index.js'

/**
 * Flags for a party's process: fake devices, its tone, autoplay. Three
 * fake cameras: Chromium's second is a depth camera (16-bit grey, which
 * WebRTC does not encode: the app passes over it), the third a colour one.
 */
export function callArgs (wavPath: string): string[] {
  return [
    ...FAKE_MEDIA_ARGS.filter(a => a !== '--use-fake-device-for-media-stream'),
    '--use-fake-device-for-media-stream=device-count=3',
    `--use-file-for-fake-audio-capture=${wavPath}`,
    '--autoplay-policy=no-user-gesture-required'
  ]
}

/** One party: its own Chromium process, one profile, the app open. */
export interface Party {
  browser: Browser
  page: Page
  handle: string
  name: string
}

/** Launches a party whose microphone plays `hz` (a WAV written to `dir`) and creates its identity. */
export async function launchParty (stack: WebStack, dir: string, name: string, hz: number): Promise<Party> {
  const wav = join(dir, `${name}-${hz}.wav`)
  await writeFile(wav, encodeWav(tone(hz, 5)))
  const browser = await Browser.launch(callArgs(wav))
  const context = await browser.profile()
  await context.grantPermissions(['camera', 'microphone', 'notifications'], { origin: stack.url })
  const page = await openApp(context, stack.url)
  const handle = await createIdentity(page, name)
  return { browser, page, handle, name }
}

/** Makes `a` and `b` contacts both ways (a first message, accepted). */
export async function befriend (a: Party, b: Party): Promise<void> {
  await startChat(a.page, b.name)
  const text = `hello ${b.name}, from ${a.name}`
  await send(a.page, text)
  await b.page.locator(`.conversations li[data-handle^="${a.name}~"]`).waitFor({ timeout: 60_000 })
  await openChat(b.page, a.name)
  await message(b.page, text).waitFor({ timeout: 60_000 })
  const accept = b.page.getByRole('button', { name: 'Accept', exact: true })
  if (await accept.isVisible()) await accept.click()
  await b.page.locator(`.conversations li[data-handle^="${a.name}~"][data-state="accepted"]`).waitFor()
}

/** The call dialog of a page. */
export function callScreen (page: Page): ReturnType<Page['locator']> {
  return page.getByRole('dialog')
}

/** Waits until the page's call is in `state` (and, for `ended`, ended for `reason`). */
export async function waitCall (page: Page, state: string, reason?: string, timeout = 60_000): Promise<void> {
  const selector = `.call-screen[data-call-state="${state}"]${reason != null ? `[data-end-reason="${reason}"]` : ''}`
  await page.locator(selector).waitFor({ timeout })
}

/** The page's current call's stats (getStats read by src/calls/stats.ts). */
export async function stats (page: Page): Promise<CallStats> {
  const s = await page.evaluate(async () => await window.starling?.running?.calls?.current?.stats())
  if (s == null) throw new Error('no call with a connection in the page')
  return s
}

/** Polls `check` on the page's stats until it holds. */
export async function statsUntil (page: Page, check: (s: CallStats) => boolean, what: string, timeout = 30_000): Promise<CallStats> {
  const until = Date.now() + timeout
  let last: CallStats | undefined
  while (Date.now() < until) {
    last = await stats(page)
    if (check(last)) return last
    await page.waitForTimeout(250)
  }
  throw new Error(`${what}: not within ${timeout} ms; last stats ${JSON.stringify(last)}`)
}

/** The frequency (Hz) with the most energy in what the page hears from the other side (an AnalyserNode over ~1 s). */
export async function heardFrequency (page: Page): Promise<number> {
  return await page.evaluate(async () => {
    const calls = window.starling?.running?.calls
    const id = calls?.current?.id
    const set = id != null ? calls?.media.get(id) : undefined
    if (set == null) throw new Error('no call media in the page')
    const context = new AudioContext()
    const source = context.createMediaStreamSource(set.remote)
    const analyser = context.createAnalyser()
    analyser.fftSize = 8192
    source.connect(analyser)
    const sum = new Float64Array(analyser.frequencyBinCount)
    const bins = new Float32Array(analyser.frequencyBinCount)
    for (let i = 0; i < 10; i++) {
      await new Promise(resolve => setTimeout(resolve, 100))
      analyser.getFloatFrequencyData(bins)
      for (let k = 0; k < bins.length; k++) sum[k] += Math.pow(10, bins[k] / 10)
    }
    let best = 0
    for (let k = 1; k < sum.length; k++) if (sum[k] > sum[best]) best = k
    await context.close()
    return best * context.sampleRate / analyser.fftSize
  })
}

/** The shape (width / height) of the remote video's frames now; 0 before the first. */
export async function remoteAspect (page: Page): Promise<number> {
  return await page.locator('.call-screen video.remote').evaluate((v: HTMLVideoElement) => v.videoHeight === 0 ? 0 : v.videoWidth / v.videoHeight)
}

/** Waits until the remote video's shape is about `aspect`. */
export async function waitAspect (page: Page, aspect: number, timeout = 30_000): Promise<void> {
  const until = Date.now() + timeout
  let last = 0
  while (Date.now() < until) {
    last = await remoteAspect(page)
    if (Math.abs(last - aspect) < 0.05) return
    await page.waitForTimeout(250)
  }
  throw new Error(`the remote video's shape stayed ${last}, not ${aspect}`)
}

/** Closes the screen of a call that is over, if it shows. */
export async function closeCall (page: Page): Promise<void> {
  const close = page.locator('.call-screen[data-call-state="ended"]').getByRole('button', { name: 'Close' })
  if (await close.isVisible()) await close.click().catch(() => {})
}

/** The call events of the thread with `name` (opened if another shows), oldest first. */
export async function callEvents (page: Page, name: string): Promise<string[]> {
  if (await page.locator(`main.thread[data-handle^="${name}~"]`).count() === 0) {
    await closeCall(page)
    await openChat(page, name)
    // The thread shown until the new one is read is the old one's.
    await page.locator(`main.thread[data-handle^="${name}~"]`).waitFor()
  }
  return await page.locator('.call-event').evaluateAll(els => els.map(e => e.textContent ?? ''))
}

/** Waits until the thread with `name` shows `count` call events; resolves with their texts. */
export async function waitCallEvents (page: Page, name: string, count: number, timeout = 60_000): Promise<string[]> {
  const until = Date.now() + timeout
  let last: string[] = []
  while (Date.now() < until) {
    last = await callEvents(page, name)
    if (last.length >= count) return last
    await page.waitForTimeout(250)
  }
  throw new Error(`${count} call events in the thread with ${name}: only ${JSON.stringify(last)}`)
}
