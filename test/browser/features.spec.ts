/**
 * The web app's screens beyond the basic chat, used as a person would
 * (three browser profiles, one relay process, a fake microphone):
 * - the full emoji picker, by keyboard alone: it and its data arrive only
 *   when first opened; a search, arrow keys and Enter react with 🎉 (alice
 *   sees it); Escape closes the picker, then the reaction form, each time
 *   giving focus back to the button that opened it; the composer's picker
 *   inserts an emoji into the text;
 * - a voice note recorded in the page: bob receives a WebM audio that
 *   decodes to more than half a second of sound;
 * - two images picked at once: one message on both sides, both shown;
 * - search: "cafe" finds "Café au lait?" in the local history, and the
 *   result opens the conversation at that message;
 * - the safety number: the same 60 digits on both sides, the QR code on
 *   screen reads back (zbar) to the scannable payload, "Mark as verified"
 *   shows and survives a reload;
 * - mute: with the tab hidden, a message notifies; once muted, the next
 *   one does not, and the list shows the conversation as muted;
 * - a message request from a stranger is listed apart, under "Message
 *   requests".
 * No request leaves loopback.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { Browser, FAKE_MEDIA_ARGS, WebStack, createIdentity, openApp } from './browser.js'
import { PNG_1X1, attach, messageById, messageId, openChat, reload, send, startChat } from './app.js'

declare global {
  interface Window { notified?: string[], pageHidden?: boolean }
}

/**
 * Notifications allowed and recorded, and a tab that can be made to look
 * hidden (`window.pageHidden`): what the app does when a message arrives
 * while the user is elsewhere. A script string: it runs before the app.
 */
const FAKE_NOTIFICATIONS = `
  window.notified = []
  window.Notification = class {
    static permission = 'granted'
    static async requestPermission () { return 'granted' }
    constructor (title) { window.notified.push(title) }
    close () {}
  }
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => window.pageHidden ? 'hidden' : 'visible' })
`

describe('browser: emoji picker, voice notes, search, safety number, mute, requests', function () {
  this.timeout(300_000)
  const stack = new WebStack()
  const dir = mkdtempSync(join(tmpdir(), 'starling-features-'))
  let browser: Browser
  let alice: Page
  let bob: Page
  let bobContext: BrowserContext
  const requested: string[] = []

  before(async () => {
    await stack.start()
    browser = await Browser.launch(FAKE_MEDIA_ARGS)
    const aliceContext = await browser.profile()
    await aliceContext.grantPermissions(['microphone'])
    bobContext = await browser.profile()
    await bobContext.addInitScript({ content: FAKE_NOTIFICATIONS })
    alice = await openApp(aliceContext, stack.url)
    bob = await openApp(bobContext, stack.url)
    bob.on('request', (r) => { requested.push(new URL(r.url()).pathname) })
    await createIdentity(alice, 'alice')
    await createIdentity(bob, 'bob')
    await startChat(alice, 'bob')
    await send(alice, 'Café au lait?')
    await bob.locator('.conversations li[data-handle^="alice~"]').waitFor({ timeout: 30_000 })
    await openChat(bob, 'alice')
    await bob.getByRole('button', { name: 'Accept' }).click()
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
    rmSync(dir, { recursive: true, force: true })
  })

  it('the emoji picker loads when first opened and works by keyboard alone', async () => {
    const id = await messageId(bob, 'Café au lait?')
    assert.ok(!requested.some(p => p.includes('emoji-data') || p.includes('EmojiPicker')), 'nothing of the picker before it opens')
    const reactButton = messageById(bob, id).getByRole('button', { name: 'React', exact: true })
    await reactButton.focus()
    await bob.keyboard.press('Enter')
    // The reaction form opens with the typed-emoji box focused; Tab twice reaches "All emoji".
    await bob.waitForFunction(() => document.activeElement?.classList.contains('emoji-input') === true)
    await bob.keyboard.press('Tab')
    await bob.keyboard.press('Tab')
    assert.equal(await bob.evaluate(() => document.activeElement?.textContent), 'All emoji')
    await bob.keyboard.press('Enter')
    const search = bob.getByRole('dialog', { name: 'React with an emoji' }).getByLabel('Search emoji')
    await search.waitFor()
    assert.ok(await search.evaluate(el => el === document.activeElement), 'the search box has focus')
    assert.ok(requested.some(p => p.endsWith('/emoji-data.json')), 'the data came from this server when the picker opened')
    await bob.keyboard.type('party popper')
    await bob.locator('.emoji-cell[data-emoji="🎉"]').waitFor()
    await bob.keyboard.press('ArrowDown')
    assert.equal(await bob.evaluate(() => document.activeElement?.getAttribute('data-emoji')), '🎉')
    await bob.keyboard.press('Enter')
    await messageById(alice, id).locator('button[data-emoji="🎉"]').waitFor({ timeout: 30_000 })
    assert.equal(await bob.evaluate(() => document.activeElement?.textContent), 'React', 'focus back on the React button')

    // Escape closes the picker (focus back on "All emoji"), then the form (focus back on "React").
    await bob.keyboard.press('Enter')
    await messageById(bob, id).getByRole('button', { name: 'All emoji' }).click()
    await bob.locator('.emoji-picker').waitFor()
    await bob.keyboard.press('Escape')
    await bob.locator('.emoji-picker').waitFor({ state: 'detached' })
    assert.equal(await bob.evaluate(() => document.activeElement?.textContent), 'All emoji')
    await bob.keyboard.press('Escape')
    await messageById(bob, id).locator('.react-form').waitFor({ state: 'detached' })
    assert.equal(await bob.evaluate(() => document.activeElement?.textContent), 'React')

    // The composer's picker puts the emoji into the text.
    await bob.getByRole('button', { name: 'Add an emoji' }).click()
    await bob.getByRole('dialog', { name: 'Add an emoji to the message' }).getByLabel('Search emoji').fill('sparkles')
    await bob.locator('.emoji-cell[data-emoji="✨"]').click()
    assert.equal(await bob.getByLabel('Message', { exact: true }).inputValue(), '✨')
    await bob.getByLabel('Message', { exact: true }).press('Enter')
    await messageId(alice, '✨')
  })

  it('a voice note recorded in the page arrives as audio that plays', async () => {
    await alice.getByRole('button', { name: 'Record a voice note' }).click()
    await alice.getByRole('timer').filter({ hasText: '0:01' }).waitFor({ timeout: 30_000 })
    await alice.getByRole('button', { name: 'Send voice note' }).click()
    const audio = bob.locator('.attachment.audio[data-complete="true"]')
    await audio.locator('audio').waitFor({ timeout: 60_000 })
    const attachmentId = await audio.getAttribute('data-attachment-id') ?? ''
    // The received file as bob's tab stores it, decoded by the browser.
    const sound = await bob.evaluate(async (id) => {
      const blobs = window.starling?.running?.peer.blobs
      if (blobs == null) throw new Error('not running')
      const bytes = await (await blobs.blob(Uint8Array.from(id.match(/../g) ?? [], h => parseInt(h, 16)), 'audio/webm')).arrayBuffer()
      const head = [...new Uint8Array(bytes.slice(0, 4))]
      const decoded = await new AudioContext().decodeAudioData(bytes)
      const samples = decoded.getChannelData(0)
      let peak = 0
      for (const s of samples) peak = Math.max(peak, Math.abs(s))
      return { seconds: decoded.duration, peak, head }
    }, attachmentId)
    assert.deepEqual(sound.head, [0x1a, 0x45, 0xdf, 0xa3], 'a WebM file')
    assert.ok(sound.seconds > 0.5, `${sound.seconds} s of audio`)
    assert.ok(sound.peak > 0.01, 'not silence: the fake microphone plays a tone')
  })

  it('two images picked at once arrive as ONE message that shows both', async () => {
    await openChat(alice, 'bob')
    await openChat(bob, 'alice')
    await attach(alice, [{ name: 'one.png', mimeType: 'image/png', buffer: PNG_1X1 }, { name: 'two.png', mimeType: 'image/png', buffer: PNG_1X1 }])
    for (const page of [bob, alice]) {
      const album = page.locator('li[data-message-id]').filter({ has: page.locator('img[alt="one.png"]') })
      await album.locator('.attachment.image[data-complete="true"] img[alt="two.png"]').waitFor({ timeout: 60_000 })
      const images = album.locator('.attachment.image[data-complete="true"] img')
      assert.equal(await images.count(), 2, 'both images in the one message')
      for (const img of await images.all()) {
        assert.ok(await img.evaluate(async (e: HTMLImageElement) => { await e.decode(); return e.naturalWidth === 1 }), 'each image decodes')
      }
    }
  })

  it('search finds a message in the local history and opens it there', async () => {
    await alice.keyboard.press('Control+k')
    const box = alice.getByLabel('Search every conversation')
    await box.waitFor()
    assert.ok(await box.evaluate(el => el === document.activeElement), 'Ctrl+K focuses the search box')
    await box.fill('cafe')
    const hit = alice.locator('.search-results li')
    await hit.first().waitFor()
    assert.equal(await hit.count(), 1)
    const id = await hit.first().getAttribute('data-message-id') ?? ''
    await hit.first().locator('a').click()
    await alice.locator('main.thread').waitFor()
    await alice.waitForFunction((m) => document.activeElement?.getAttribute('data-message-id') === m, id)
    await box.waitFor({ state: 'detached' })
  })

  it('the safety number: same digits on both sides, a QR code that reads back, mark as verified', async () => {
    const digits: string[] = []
    for (const page of [alice, bob]) {
      await page.getByRole('link', { name: 'Safety number' }).click()
      await page.locator('.digits').waitFor({ timeout: 30_000 })
      digits.push(await page.locator('.digits').getAttribute('data-digits') ?? '')
    }
    assert.match(digits[0], /^\d{60}$/)
    assert.equal(digits[0], digits[1])
    const file = join(dir, 'qr.png')
    writeFileSync(file, await alice.locator('svg.qr').screenshot())
    const read = execFileSync('zbarimg', ['--quiet', '--raw', '-Sbinary', file], { stdio: ['ignore', 'pipe', 'ignore'] })
    const expected = await alice.evaluate(async () => {
      const state = window.starling?.state.get()
      const handle = state?.conversations[0]?.handle ?? ''
      return (await window.starling?.running?.safetyNumber(handle))?.qr ?? ''
    })
    assert.equal(read.subarray(0, expected.length / 2).toString('hex'), expected)

    await alice.getByRole('button', { name: 'Mark as verified' }).click()
    await alice.getByText('You marked bob as verified.').waitFor()
    await reload(alice)
    await openChat(alice, 'bob')
    await alice.locator('.thread-head .badge.verified').waitFor()
  })

  it('a muted conversation does not notify, and the list shows it muted', async () => {
    await openChat(bob, 'alice')
    await bob.evaluate(() => { window.pageHidden = true })
    await send(alice, 'while you are away')
    await bob.waitForFunction(() => window.notified?.length === 1, undefined, { timeout: 30_000 })

    await bob.getByRole('button', { name: 'Mute' }).click()
    await bob.locator('.conversations li[data-handle^="alice~"][data-muted="true"] .badge.muted').waitFor()
    assert.equal(await bob.getByRole('button', { name: 'Unmute' }).getAttribute('aria-pressed'), 'true')
    await send(alice, 'muted now')
    await bob.locator('.conversations li[data-handle^="alice~"] .preview', { hasText: 'muted now' }).waitFor({ timeout: 30_000 })
    assert.equal(await bob.evaluate(() => window.notified?.length), 1, 'no notification for the muted conversation')
    await bob.evaluate(() => { window.pageHidden = false })
  })

  it('a message request from a stranger is listed apart', async () => {
    const carol = await openApp(await browser.profile(), stack.url)
    await createIdentity(carol, 'carol')
    await startChat(carol, 'alice')
    await send(carol, 'hello, we have not met')
    const requests = alice.locator('section.requests')
    await requests.locator('li[data-handle^="carol~"]').waitFor({ timeout: 30_000 })
    assert.equal(await requests.locator('h3').textContent(), 'Message requests (1)')
    assert.equal(await requests.locator('li[data-handle^="bob~"]').count(), 0, 'a contact is not a request')
    assert.deepEqual(browser.outside, [], 'no request left loopback')
  })
})
