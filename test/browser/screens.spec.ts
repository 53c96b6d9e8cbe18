/**
 * Every main screen of the web app, as a user sees it: set up with real
 * profiles (alice and bob chat, then make a video call; carol writes to
 * alice as a stranger; a profile with a passphrase; a second tab of alice's
 * profile), then, for
 * each screen, at phone (390x844) and desktop (1280x800) width in light
 * and dark themes:
 * - an accessibility scan with axe-core finds no serious or critical
 *   violation (WCAG 2.x A and AA rules, colour contrast included);
 * - a screenshot is saved to test/browser/artifacts/ (gitignored; CI keeps
 *   them as artifacts).
 * axe-core is injected from its package; no request leaves loopback.
 */
import assert from 'node:assert/strict'
import { mkdirSync, readFileSync } from 'node:fs'
import { crc32, deflateSync } from 'node:zlib'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { Browser, FAKE_MEDIA_ARGS, WebStack, createIdentity, openApp, waitReady } from './browser.js'
import { attach, edit, messageById, messageId, openChat, react, reply, send, startChat } from './app.js'

/** Where the screenshots go. */
export const ARTIFACTS = join(import.meta.dirname, 'artifacts')

let axeSource: string | undefined
/** axe-core's browser build, from its package (a devDependency); read when first needed, so that without it only this test fails, and says why. */
function axeCore (): string {
  if (axeSource != null) return axeSource
  let file: string
  try {
    file = createRequire(import.meta.url).resolve('axe-core/axe.min.js')
  } catch (err) {
    throw new Error('axe-core is not installed (a devDependency of the browser tests)', { cause: err })
  }
  axeSource = readFileSync(file, 'utf8')
  return axeSource
}

const SIZES = [{ name: 'phone', width: 390, height: 844 }, { name: 'desktop', width: 1280, height: 800 }] as const
const THEMES = ['light', 'dark'] as const

/** The screens photographed, in order (each at every size and theme). */
const SCREENS = ['setup', 'chat-list', 'thread', 'request', 'emoji-picker', 'safety-number', 'search', 'settings', 'outgoing-call', 'incoming-call', 'in-call', 'new-chat-confirm', 'open-elsewhere', 'unlock'] as const

/** A PNG of `width` x `height` with bands of colour: a photo as a user would send one (a 1x1 image shows nothing). */
function photo (width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data])
    const out = Buffer.alloc(body.length + 8)
    out.writeUInt32BE(data.length, 0)
    body.copy(out, 4)
    out.writeUInt32BE(crc32(body), body.length + 4)
    return out
  }
  const header = Buffer.alloc(13)
  header.writeUInt32BE(width, 0)
  header.writeUInt32BE(height, 4)
  header.set([8, 2, 0, 0, 0], 8)
  const rows = Buffer.alloc((width * 3 + 1) * height)
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = y * (width * 3 + 1) + 1 + x * 3
      const sky = y < height * 0.6
      rows.set(sky ? [90 + Math.floor(100 * y / height), 150 + Math.floor(60 * y / height), 230] : [40 + (x % 40), 120 + Math.floor(50 * x / width), 60], at)
    }
  }
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', header), chunk('IDAT', deflateSync(rows)), chunk('IEND', Buffer.alloc(0))])
}

/** What is wrong with the page's landmarks and headings: one banner-less main and one h1 per screen, every nav labelled. */
async function structure (page: Page): Promise<string[]> {
  return await page.evaluate(() => {
    const out: string[] = []
    const h1 = document.querySelectorAll('h1').length
    if (h1 !== 1) out.push(`${h1} h1 elements`)
    const mains = document.querySelectorAll('main').length
    if (mains !== 1) out.push(`${mains} main elements`)
    for (const nav of document.querySelectorAll('nav')) if (nav.getAttribute('aria-label') == null) out.push('a nav without a label')
    if (document.querySelector('.shell') != null && document.querySelector('body header:not(main header)') == null) out.push('no header (banner)')
    return out
  })
}

interface Violation { id: string, impact: string, help: string, targets: string[] }

/** Lets the page render what it was just told (two frames). */
async function settle (page: Page): Promise<void> {
  await page.evaluate(async () => { await new Promise(resolve => { requestAnimationFrame(() => { requestAnimationFrame(resolve) }) }) })
}

/** Serious and critical axe violations on the page as it is now. */
async function scan (page: Page): Promise<Violation[]> {
  // Evaluated through the DevTools protocol: the app's CSP (script-src 'self') rightly refuses inline scripts.
  if (!await page.evaluate(() => 'axe' in window)) await page.evaluate(axeCore())
  const found = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(ctx: Document, opts: object): Promise<{ violations: Array<{ id: string, impact: string | null, help: string, nodes: Array<{ target: unknown[] }> }> }> } }).axe
    const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] }, resultTypes: ['violations'] })
    return result.violations.map(v => ({ id: v.id, impact: v.impact ?? '', help: v.help, targets: v.nodes.map(n => JSON.stringify(n.target)) }))
  })
  return found.filter(v => v.impact === 'serious' || v.impact === 'critical')
}

describe('browser: every main screen, phone and desktop, light and dark: axe and screenshots', function () {
  this.timeout(600_000)
  const stack = new WebStack()
  let browser: Browser
  let aliceContext: BrowserContext
  let alice: Page
  let bob: Page
  const problems: string[] = []
  const shots: string[] = []

  /** Scans and photographs `page` in every size and theme, as screen `name`; `prepare` makes sure the screen shows what it should. */
  async function capture (page: Page, name: typeof SCREENS[number], prepare?: () => Promise<void>): Promise<void> {
    for (const size of SIZES) {
      for (const theme of THEMES) {
        await page.setViewportSize({ width: size.width, height: size.height })
        await page.emulateMedia({ colorScheme: theme })
        if (prepare != null) await prepare()
        await settle(page)
        for (const v of await scan(page)) problems.push(`${name} (${size.name}, ${theme}): ${v.impact} ${v.id}: ${v.help} at ${v.targets.slice(0, 3).join(', ')}`)
        for (const p of await structure(page)) problems.push(`${name} (${size.name}, ${theme}): ${p}`)
        // Nothing wider than the screen: a phone would scroll sideways.
        const wide = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth)
        if (wide > 0) problems.push(`${name} (${size.name}, ${theme}): the page is ${wide}px wider than the screen`)
        const file = join(ARTIFACTS, `${name}-${size.name}-${theme}.png`)
        await page.screenshot({ path: file })
        shots.push(file)
      }
    }
    await page.setViewportSize({ width: 1100, height: 800 })
    await page.emulateMedia({ colorScheme: 'light' })
  }

  before(async () => {
    axeCore()
    mkdirSync(ARTIFACTS, { recursive: true })
    await stack.start()
    browser = await Browser.launch(FAKE_MEDIA_ARGS)
    aliceContext = await browser.profile()
    alice = await openApp(aliceContext, stack.url)
    bob = await openApp(await browser.profile(), stack.url)
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
  })

  it('has no serious or critical accessibility violation on any screen, and saves every screenshot', async () => {
    await alice.getByLabel('Handle', { exact: true }).waitFor()
    await capture(alice, 'setup')

    await createIdentity(alice, 'alice')
    await createIdentity(bob, 'bob')
    await startChat(alice, 'bob')
    const hello = await send(alice, 'Hello Bob! Are we still on for lunch tomorrow at the café by the river?')
    await bob.locator('.conversations li[data-handle^="alice~"]').waitFor({ timeout: 30_000 })
    await openChat(bob, 'alice')
    await bob.getByRole('button', { name: 'Accept' }).click()
    await messageId(bob, 'Hello Bob!')
    await reply(bob, hello, 'Yes! 12:30 works for me. I will bring the photos from the trip 📸')
    await react(bob, hello, '👍')
    await react(bob, hello, '👩‍👩‍👧‍👦')
    await messageId(alice, '12:30 works')
    const long = await send(alice, 'Great. Long message test: ' + 'the quick brown fox jumps over the lazy dog, '.repeat(12).trim())
    await edit(alice, long, 'Great. See you there. (This message was edited, its history is kept.)')
    await attach(alice, [{ name: 'river.png', mimeType: 'image/png', buffer: photo(320, 200) }])
    await bob.locator('.attachment.image[data-complete="true"]').waitFor({ timeout: 60_000 })
    await attach(bob, [{ name: 'menu.pdf', mimeType: 'application/pdf', buffer: Buffer.from('%PDF-1.4\n% the menu\n%%EOF\n') }])
    await alice.locator('.attachment.file[data-complete="true"]').waitFor({ timeout: 60_000 })
    await alice.getByRole('button', { name: 'Record a voice note' }).click()
    await alice.getByRole('timer').filter({ hasText: '0:01' }).waitFor({ timeout: 30_000 })
    await alice.getByRole('button', { name: 'Send voice note' }).click()
    await alice.locator('.attachment.audio[data-complete="true"]').waitFor({ timeout: 60_000 })
    await messageById(alice, hello).locator('button[data-emoji="👍"]').waitFor({ timeout: 30_000 })

    // A stranger writes to alice: a message request.
    const carol = await openApp(await browser.profile(), stack.url)
    await createIdentity(carol, 'carol')
    await startChat(carol, 'alice')
    await send(carol, 'Hi Alice, we met at the conference. This is Carol.')
    await alice.locator('section.requests li[data-handle^="carol~"]').waitFor({ timeout: 30_000 })

    await alice.goto(`${stack.url}#/`)
    await waitReady(alice)
    await capture(alice, 'chat-list')

    await openChat(alice, 'bob')
    await capture(alice, 'thread')

    await openChat(alice, 'carol')
    await alice.getByRole('button', { name: 'Accept' }).waitFor()
    await capture(alice, 'request')

    await openChat(bob, 'alice')
    const openPicker = async (): Promise<void> => {
      if (await bob.locator('.emoji-cell').count() > 0) return
      await messageById(bob, hello).getByRole('button', { name: 'React', exact: true }).click()
      await messageById(bob, hello).getByRole('button', { name: 'All emoji' }).click()
      await bob.locator('.emoji-cell').first().waitFor()
    }
    await openPicker()
    await capture(bob, 'emoji-picker', openPicker)

    await alice.getByRole('link', { name: 'Safety number' }).first().waitFor()
    await openChat(alice, 'bob')
    await alice.getByRole('link', { name: 'Safety number' }).click()
    await alice.locator('svg.qr').waitFor({ timeout: 30_000 })
    await capture(alice, 'safety-number')

    await alice.goto(`${stack.url}#/search`)
    await alice.getByLabel('Search every conversation').fill('lunch')
    await alice.locator('.search-results li').first().waitFor()
    await capture(alice, 'search')

    await alice.goto(`${stack.url}#/settings`)
    await alice.getByRole('heading', { name: 'Privacy' }).waitFor()
    await capture(alice, 'settings')

    // A video call: alice's screen while it rings, bob's incoming call, then alice's call under way.
    await alice.goto(`${stack.url}#/`)
    await openChat(alice, 'bob')
    await alice.getByRole('button', { name: 'Video call' }).click()
    await bob.locator('.call-screen[data-call-state="ringing"]').waitFor({ timeout: 30_000 })
    await alice.locator('.call-screen[data-call-state="calling"]').waitFor()
    await capture(alice, 'outgoing-call')
    await capture(bob, 'incoming-call')
    await bob.getByRole('button', { name: 'Accept with video' }).click()
    await alice.locator('.call-screen[data-call-state="connected"] .quality[data-mos]').waitFor({ timeout: 30_000 })
    await alice.waitForFunction(() => (document.querySelector('.call-screen video.remote') as HTMLVideoElement | null)?.videoWidth !== 0)
    await capture(alice, 'in-call')
    await alice.getByRole('button', { name: 'Hang up' }).click()
    await bob.locator('.call-screen[data-call-state="ended"]').waitFor()

    // New chat by a bare name nobody was pinned for: the confirmation of name~tag and fingerprint.
    const dave = await openApp(await browser.profile(), stack.url)
    await createIdentity(dave, 'dave')
    await alice.goto(`${stack.url}#/new`)
    await alice.getByLabel('Handle', { exact: true }).fill('dave')
    await alice.getByRole('button', { name: 'Start chat' }).click()
    await alice.getByRole('button', { name: /^Yes, chat with / }).waitFor({ timeout: 30_000 })
    await capture(alice, 'new-chat-confirm')

    // A second tab of alice's profile: open elsewhere.
    const second = await openApp(aliceContext, stack.url)
    await second.getByRole('button', { name: 'Use here' }).waitFor({ timeout: 30_000 })
    await capture(second, 'open-elsewhere')
    await second.close()

    // A profile with a passphrase, reloaded: the unlock screen.
    const locked = await openApp(await browser.profile(), stack.url)
    await locked.getByLabel('Handle', { exact: true }).fill('erin')
    await locked.getByLabel('Passphrase (optional)').fill('correct horse battery')
    await locked.getByLabel('Passphrase again').fill('correct horse battery')
    await locked.getByRole('button', { name: 'Create' }).click()
    await waitReady(locked)
    await locked.reload()
    await locked.getByLabel('Passphrase', { exact: true }).waitFor()
    await capture(locked, 'unlock')

    assert.equal(shots.length, SCREENS.length * SIZES.length * THEMES.length)
    assert.deepEqual(problems, [], 'no serious or critical accessibility violation')
    assert.deepEqual(browser.outside, [], 'no request left loopback')
  })
})
