/**
 * A hostile contact against the web app (two browser profiles, one relay
 * process): mallory is an accepted contact of alice's who drives her own
 * tab's peer directly (no UI checks on her side) and sends:
 * - markup and script as text (`<img onerror>`, `<script>`, a
 *   `javascript:` URL): alice sees the characters, nothing runs, nothing is
 *   made a link; a 10,000-character word stays inside the message list;
 * - files whose names turn text around (U+202E RIGHT-TO-LEFT OVERRIDE:
 *   "invoice‮fdp.exe" looks like "invoiceexe.pdf"): the name alice sees
 *   and saves has no bidi control;
 * - an HTML page and an SVG as files: their links, opened in a new tab,
 *   give a file to save, never a document of the app's origin;
 * - a decompression bomb: a PNG whose header says 60,000 x 60,000 pixels
 *   (14 GB decoded) in under 2 KB: alice's tab does not decode it on
 *   screen but offers it as a file; a real 1x1 PNG still shows inline,
 *   and the sizes Chromium's own PNG, JPEG and WebP encoders write are read
 *   right;
 * - a flood of reactions (40 distinct emoji on one message): at most
 *   {@link MAX_REACTIONS_SHOWN} are shown, with a count of the rest;
 * - a flood of messages: alice's thread renders a bounded window of the
 *   newest, and the earlier ones on request; a quote of a message before
 *   the window still leads to it.
 * No request leaves loopback.
 */
import assert from 'node:assert/strict'
import type { BrowserContext, Page } from 'playwright-core'
import { Browser, WebStack, createIdentity, openApp } from './browser.js'
import { PNG_1X1, message, messageId, openChat, startChat } from './app.js'
import { greyPng } from '../fixtures/images.js'
import { imageSize } from '../../web/src/app/image-size.js'
import { MAX_REACTIONS_SHOWN, THREAD_WINDOW } from '../../web/src/ui/window.js'

declare global {
  interface Window { pwned?: number }
}

/** Bidi controls (embeddings, overrides, isolates, marks) that reorder what follows them on screen. */
const BIDI_CONTROLS = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u

/** Mallory sends `files` to `to` from her peer; resolves with each attachment's id (hex), in order. */
async function sendFiles (page: Page, to: string, files: Array<{ name: string, type: string, bytes: Buffer }>): Promise<string[]> {
  const ids: string[] = []
  for (const f of files) {
    await page.evaluate(async ([handle, name, type, bytes]) => {
      await window.starling?.running?.sendFiles(handle, [new File([new Uint8Array(bytes)], name, { type })])
    }, [to, f.name, f.type, [...f.bytes]] as const)
    const id = await page.waitForFunction((name) => {
      const m = window.starling?.state.get().thread?.messages.find(e => (e.attachment as { fileName?: string } | undefined)?.fileName === name)
      return (m?.attachment as { id?: string } | undefined)?.id
    }, f.name)
    ids.push(await id.jsonValue() as string)
  }
  return ids
}

/**
 * Opens `href` (a blob: URL of the app's origin) in a new tab of `context`,
 * as a user opening a link in a new tab would: resolves with whether the
 * browser took it as a file to save (and so never as a document that could
 * run script with the app's storage), and whether any script ran there.
 */
async function openInNewTab (context: BrowserContext, href: string): Promise<{ saved: boolean, ran: boolean }> {
  const tab = await context.newPage()
  const download = tab.waitForEvent('download', { timeout: 10_000 }).then(() => true, () => false)
  await tab.goto(href).catch(() => {})
  const saved = await download
  const ran = await tab.evaluate(() => window.pwned != null).catch(() => false)
  await tab.close()
  return { saved, ran }
}

describe('browser: a hostile contact', function () {
  this.timeout(600_000)
  const stack = new WebStack()
  let browser: Browser
  let alice: Page
  let mallory: Page
  let aliceHandle = ''
  const contexts: BrowserContext[] = []

  before(async () => {
    await stack.start()
    browser = await Browser.launch()
    for (let i = 0; i < 2; i++) contexts.push(await browser.profile())
    alice = await openApp(contexts[0], stack.url)
    mallory = await openApp(contexts[1], stack.url)
    aliceHandle = await createIdentity(alice, 'alice')
    await createIdentity(mallory, 'mallory')
    await startChat(mallory, 'alice')
    await mallory.evaluate(async (to) => { await window.starling?.running?.sendText(to, 'hi, it is mallory') }, aliceHandle)
    await alice.locator('.conversations li[data-handle^="mallory~"][data-state="request"]').waitFor({ timeout: 30_000 })
    await openChat(alice, 'mallory')
    await alice.getByRole('button', { name: 'Accept' }).click()
    await alice.locator('.conversations li[data-handle^="mallory~"][data-state="accepted"]').waitFor()
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
    assert.deepEqual(browser?.outside ?? [], [])
  })

  it('markup, script and javascript: URLs in text are shown as text; nothing runs and nothing is a link', async () => {
    const texts = [
      '<img src=x onerror="window.pwned=1">',
      '<script>window.pwned=2</script>',
      'javascript:window.pwned=3',
      '[click](javascript:window.pwned=4) <a href="javascript:window.pwned=5">here</a>',
      'w'.repeat(10_000)
    ]
    for (const t of texts) await mallory.evaluate(async ([to, text]) => { await window.starling?.running?.sendText(to, text) }, [aliceHandle, t] as const)
    for (const t of texts) {
      await messageId(alice, t.slice(0, 200))
      assert.equal(await message(alice, t.slice(0, 200)).locator('p.text').textContent(), t)
    }
    assert.equal(await alice.evaluate(() => window.pwned), undefined)
    const list = alice.locator('.messages')
    assert.equal(await list.locator('script, img[src="x"], a[href^="javascript:" i], [onerror]').count(), 0)
    // The 10,000-character word wraps inside the list (no sideways scrolling, nothing pushed off screen).
    const widths = await list.evaluate(el => ({ scroll: el.scrollWidth, client: el.clientWidth }))
    assert.ok(widths.scroll <= widths.client, JSON.stringify(widths))
  })

  it('file names show and save with no bidi control; HTML and SVG files are bytes to save, never a page of the app', async () => {
    const spoof = 'invoice\u202efdp.exe'
    const [spoofId, htmlId, svgId] = await sendFiles(mallory, aliceHandle, [
      { name: spoof, type: 'application/octet-stream', bytes: Buffer.from('MZ not really') },
      { name: 'page.html', type: 'text/html', bytes: Buffer.from('<script>window.pwned = 6; parent.pwned = 6</script>') },
      { name: 'drawing.svg', type: 'image/svg+xml', bytes: Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="window.pwned=7"><script>window.pwned=8</script></svg>') }
    ])
    for (const id of [spoofId, htmlId, svgId]) await alice.locator(`[data-attachment-id="${id}"][data-complete="true"]`).waitFor({ timeout: 60_000 })

    const shown = alice.locator(`[data-attachment-id="${spoofId}"]`)
    assert.doesNotMatch(await shown.innerText(), BIDI_CONTROLS)
    const saveAs = await shown.locator('a[download]').getAttribute('download') ?? ''
    assert.doesNotMatch(saveAs, BIDI_CONTROLS)
    assert.match(saveAs, /^invoice.*fdp\.exe$/)

    for (const id of [htmlId, svgId]) {
      const link = alice.locator(`[data-attachment-id="${id}"] a[download]`)
      const href = await link.getAttribute('href') ?? ''
      assert.match(href, /^blob:/)
      assert.deepEqual(await openInNewTab(contexts[0], href), { saved: true, ran: false })
      assert.equal(await alice.locator(`[data-attachment-id="${id}"] img, [data-attachment-id="${id}"] iframe, [data-attachment-id="${id}"] object`).count(), 0)
    }
    assert.equal(await alice.evaluate(() => window.pwned), undefined)
  })

  it('a decompression bomb is offered as a file, not decoded on screen; real images still show inline', async () => {
    const bomb = greyPng(60_000, 60_000, 16)
    assert.ok(bomb.length < 2_000)
    const [bombId, pngId] = await sendFiles(mallory, aliceHandle, [
      { name: 'bomb.png', type: 'image/png', bytes: bomb },
      { name: 'dot.png', type: 'image/png', bytes: PNG_1X1 }
    ])
    for (const id of [bombId, pngId]) await alice.locator(`[data-attachment-id="${id}"][data-complete="true"]`).waitFor({ timeout: 60_000 })
    const shown = alice.locator(`[data-attachment-id="${bombId}"]`)
    assert.equal(await shown.locator('img').count(), 0)
    assert.match(await shown.innerText(), /too large to show/i)
    const href = await shown.locator('a[download]').getAttribute('href') ?? ''
    assert.deepEqual(await openInNewTab(contexts[0], href), { saved: true, ran: false })
    // The 1x1 PNG decodes on screen.
    await alice.locator(`[data-attachment-id="${pngId}"] img`).waitFor()
    assert.equal(await alice.locator(`[data-attachment-id="${pngId}"] img`).evaluate(async (img: HTMLImageElement) => { await img.decode(); return img.naturalWidth }), 1)

    // What Chromium's own encoders write is read back at the size drawn.
    const encoded = await alice.evaluate(async () => {
      const canvas = document.createElement('canvas')
      canvas.width = 300
      canvas.height = 200
      const out: Record<string, number[]> = {}
      for (const type of ['image/png', 'image/jpeg', 'image/webp']) {
        const blob = await new Promise<Blob | null>(resolve => { canvas.toBlob(resolve, type) })
        out[type] = [...new Uint8Array(await blob?.arrayBuffer() ?? new ArrayBuffer(0)).subarray(0, 4096)]
      }
      return out
    })
    for (const [type, bytes] of Object.entries(encoded)) assert.deepEqual(imageSize(new Uint8Array(bytes)), { width: 300, height: 200 }, type)
  })

  it('a flood of reactions on one message: a bounded number shown, and a count of the rest', async () => {
    const target = await mallory.evaluate(() => window.starling?.state.get().thread?.messages.find(m => m.text === 'hi, it is mallory')?.id ?? '')
    // 40 distinct emoji, U+1F600 to U+1F627, each a reaction of its own.
    const emoji = Array.from({ length: 2 * MAX_REACTIONS_SHOWN }, (_, i) => String.fromCodePoint(0x1f600 + i))
    await mallory.evaluate(async ([to, id, all]) => {
      for (const e of all) await window.starling?.running?.react(to, id, e)
    }, [aliceHandle, target, emoji] as const)
    const shown = alice.locator(`li[data-message-id="${target}"] .reactions`)
    await shown.locator('li.more', { hasText: `+${emoji.length - MAX_REACTIONS_SHOWN} more` }).waitFor({ timeout: 60_000 })
    assert.equal(await shown.locator('button.reaction').count(), MAX_REACTIONS_SHOWN)
  })

  it('a flood of messages: the thread renders a bounded window of the newest, the earlier ones on request', async () => {
    const count = THREAD_WINDOW + 20
    await mallory.evaluate(async ([to, n]) => {
      for (let i = 0; i < n; i++) await window.starling?.running?.sendText(to, `flood ${i}`)
    }, [aliceHandle, count] as const)
    await messageId(alice, `flood ${count - 1}`, 120_000)
    const total = await alice.evaluate(() => window.starling?.state.get().thread?.messages.length ?? 0)
    assert.ok(total > THREAD_WINDOW, `${total} messages`)
    assert.equal(await alice.locator('li[data-message-id]').count(), THREAD_WINDOW)
    assert.equal(await message(alice, 'hi, it is mallory').count(), 0)
    await alice.getByRole('button', { name: 'Show earlier messages' }).click()
    await message(alice, 'hi, it is mallory').waitFor()
    assert.equal(await alice.locator('li[data-message-id]').count(), Math.min(total, 2 * THREAD_WINDOW))

    // A quote of a message before the window: activating it shows and focuses that message.
    await alice.reload()
    await alice.locator('main.thread li[data-message-id]').first().waitFor()
    const first = await mallory.evaluate(() => window.starling?.state.get().thread?.messages.find(m => m.text === 'hi, it is mallory')?.id ?? '')
    await mallory.evaluate(async ([to, id]) => { await window.starling?.running?.sendText(to, 'remember this?', id) }, [aliceHandle, first] as const)
    await messageId(alice, 'remember this?')
    assert.equal(await alice.locator(`li[data-message-id="${first}"]`).count(), 0)
    await message(alice, 'remember this?').locator('button.quote').click()
    await alice.waitForFunction((id) => document.activeElement?.getAttribute('data-message-id') === id, first)
  })
})
