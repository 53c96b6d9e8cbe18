/**
 * The web app by keyboard alone, and its two themes:
 * - alice creates her identity, starts a chat with bob (confirming his
 *   name~tag), sends, reacts by typing an emoji, opens and closes the
 *   composer's emoji picker and a reply with Escape, opens settings with
 *   Ctrl+, and turns a switch off with Space, leaves them with Escape,
 *   searches with Ctrl+K and opens the result with Enter, moves between
 *   two chats with Alt+Up and Alt+Down: only key presses
 *   and typing, never a click. Every control Tab passes shows a focus ring,
 *   and after each step focus is where the user goes on from (the composer
 *   after a chat opens, the button that opened a closed picker).
 * - light and dark: the page's colours follow `prefers-color-scheme`, live.
 * bob is set up with the usual helpers; he only has to exist and answer.
 */
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { Browser, WebStack, createIdentity, openApp, waitReady } from './browser.js'
import { messageById, messageId, openChat } from './app.js'

/** What has focus: a name for it (label, text), whether it matches :focus-visible, and whether a ring is drawn (outline or shadow). */
interface Focused { name: string, tag: string, visible: boolean, ring: boolean }

async function focused (page: Page): Promise<Focused> {
  return await page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null
    if (el == null || el === document.body) return { name: '', tag: 'body', visible: false, ring: false }
    const labelled = (el as HTMLInputElement).labels?.[0]?.textContent ?? null
    const name = (el.getAttribute('aria-label') ?? labelled ?? el.textContent ?? '').trim()
    const style = getComputedStyle(el)
    const ring = (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2) || style.boxShadow !== 'none'
    return { name, tag: el.tagName.toLowerCase(), visible: el.matches(':focus-visible'), ring }
  })
}

describe('browser: the whole app by keyboard alone; light and dark themes', function () {
  this.timeout(300_000)
  const stack = new WebStack()
  let browser: Browser
  let alice: Page
  let bob: Page
  /** Every control Tab reached that drew no focus ring. */
  const ringless: string[] = []

  /** Presses Tab (Shift+Tab with `back`) until focus is on a control named `want`; each control passed must show a focus ring. */
  async function tabTo (page: Page, want: RegExp, back = false, max = 40): Promise<void> {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press(back ? 'Shift+Tab' : 'Tab')
      const f = await focused(page)
      if (!f.visible || !f.ring) ringless.push(`${f.tag} "${f.name}"`)
      if (want.test(f.name)) return
    }
    assert.fail(`no control named ${String(want)} within ${max} presses of ${back ? 'Shift+Tab' : 'Tab'}`)
  }

  /** Waits until focus is on a control named `want`. */
  async function focusIs (page: Page, want: RegExp): Promise<void> {
    await page.waitForFunction((source) => {
      const el = document.activeElement as HTMLElement | null
      if (el == null) return false
      const name = (el.getAttribute('aria-label') ?? (el as HTMLInputElement).labels?.[0]?.textContent ?? el.textContent ?? '').trim()
      return new RegExp(source).test(name)
    }, want.source, { timeout: 30_000 })
  }

  before(async () => {
    await stack.start()
    browser = await Browser.launch()
    bob = await openApp(await browser.profile(), stack.url)
    await createIdentity(bob, 'bob')
    await createIdentity(await openApp(await browser.profile(), stack.url), 'carol')
    alice = await openApp(await browser.profile(), stack.url)
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
  })

  it('creates an identity, starts a chat, sends, reacts, opens settings and closes them by keyboard alone', async () => {
    // Setup: Tab reaches the handle box; Enter in it creates the identity.
    await alice.getByLabel('Handle', { exact: true }).waitFor()
    await tabTo(alice, /^Handle$/)
    await alice.keyboard.type('alice')
    await alice.keyboard.press('Enter')
    await waitReady(alice)
    await alice.waitForFunction(() => window.starling?.running?.peer.directory.lastPublished != null, undefined, { timeout: 30_000 })

    // Alt+N: a new chat, the handle box focused; Enter looks bob up; the confirmation takes focus; Enter says yes.
    await alice.keyboard.press('Alt+KeyN')
    await alice.locator('main.new-chat').waitFor()
    await focusIs(alice, /^Handle$/)
    await alice.keyboard.type('bob')
    await alice.keyboard.press('Enter')
    await focusIs(alice, /^Yes, chat with bob~/)
    await alice.keyboard.press('Enter')
    await alice.locator('main.thread').waitFor()
    await focusIs(alice, /^Message$/)

    // Send: type and Enter.
    await alice.keyboard.type('Hello Bob, typed without a mouse')
    await alice.keyboard.press('Enter')
    const hello = await messageId(alice, 'typed without a mouse')
    await bob.locator('.conversations li[data-handle^="alice~"]').waitFor({ timeout: 30_000 })
    await openChat(bob, 'alice')
    await messageId(bob, 'typed without a mouse')

    // React: Shift+Tab back to the message's React, Enter, type any emoji, Enter; focus returns to React.
    await tabTo(alice, /^React$/, true)
    await alice.keyboard.press('Enter')
    await focusIs(alice, /^Any emoji$/)
    await alice.keyboard.type('🦜')
    await alice.keyboard.press('Enter')
    await messageById(alice, hello).locator('button[data-emoji="🦜"]').waitFor()
    await focusIs(alice, /^React$/)
    await messageById(bob, hello).locator('button[data-emoji="🦜"]').waitFor({ timeout: 30_000 })

    // Reply: Shift+Tab to Reply, Enter puts the composer in reply mode with focus in it; Escape leaves it.
    await tabTo(alice, /^Reply$/, true)
    await alice.keyboard.press('Enter')
    await alice.locator('.composing[data-mode="reply"]').waitFor()
    await focusIs(alice, /^Message$/)
    await alice.keyboard.press('Escape')
    await alice.locator('.composing').waitFor({ state: 'detached' })
    assert.ok(await alice.locator('main.thread').isVisible(), 'Escape left the reply, not the chat')

    // The composer's emoji picker: Tab to it, Enter opens it with its search focused, Escape closes it and gives focus back.
    await tabTo(alice, /^Add an emoji$/)
    await alice.keyboard.press('Enter')
    await alice.getByRole('dialog', { name: 'Add an emoji to the message' }).waitFor()
    await focusIs(alice, /^Search emoji$/)
    await alice.keyboard.press('Escape')
    await alice.locator('.emoji-picker').waitFor({ state: 'detached' })
    await focusIs(alice, /^Add an emoji$/)

    // Settings: Ctrl+, opens them; Tab to a switch, Space turns it off (stored); Escape goes back to the chat, focus in the composer.
    await alice.keyboard.press('Control+Comma')
    await alice.locator('main.settings').waitFor()
    // Focus is put on the settings' main area, from where Tab goes on.
    await alice.waitForFunction(() => document.activeElement?.id === 'main')
    await tabTo(alice, /^Send typing indicators$/)
    await alice.keyboard.press('Space')
    await alice.waitForFunction(() => window.starling?.state.get().settings?.typingIndicators === false)
    await alice.keyboard.press('Escape')
    await alice.locator('main.thread').waitFor()
    assert.match(await alice.evaluate(() => location.hash), /^#\/c\/bob~/)
    await focusIs(alice, /^Message$/)

    // Search: Ctrl+K, type, Tab to the result, Enter opens the chat at that message, focused.
    await alice.keyboard.press('Control+k')
    await focusIs(alice, /^Search every conversation$/)
    await alice.keyboard.type('without a mouse')
    await alice.locator(`.search-results li[data-message-id="${hello}"]`).waitFor()
    await tabTo(alice, /typed without a mouse/)
    await alice.keyboard.press('Enter')
    await alice.waitForFunction((id) => document.activeElement?.getAttribute('data-message-id') === id, hello, { timeout: 30_000 })

    // Alt+Up and Alt+Down go through the chats: a second one with carol, then both are reached.
    await alice.keyboard.press('Alt+KeyN')
    await focusIs(alice, /^Handle$/)
    await alice.keyboard.type('carol')
    await alice.keyboard.press('Enter')
    await focusIs(alice, /^Yes, chat with carol~/)
    await alice.keyboard.press('Enter')
    await alice.locator('main.thread[data-handle^="carol~"]').waitFor()
    await alice.locator('.conversations li[data-handle^="carol~"]').waitFor()
    const visited = new Set<string>()
    for (const key of ['Alt+ArrowDown', 'Alt+ArrowUp']) {
      await alice.keyboard.press(key)
      await focusIs(alice, /^Message$/)
      visited.add(decodeURIComponent(await alice.evaluate(() => location.hash)).replace(/~.*/, ''))
    }
    assert.ok(visited.has('#/c/bob'), `Alt+Up/Down reach the other chat (${[...visited].join(', ')})`)

    assert.deepEqual(ringless, [], 'every control reached by Tab shows a focus ring')
  })

  it('follows the system theme, light and dark, without a reload', async () => {
    /** Relative luminance (WCAG) of a computed CSS colour. */
    const lum = (css: string): number => {
      const [r, g, b] = (css.match(/[\d.]+/g) ?? []).slice(0, 3).map(Number).map(v => v / 255).map(v => v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4)
      return 0.2126 * r + 0.7152 * g + 0.0722 * b
    }
    const colours = async (): Promise<{ bg: number, text: number, panel: number }> => {
      const css = await alice.evaluate(() => {
        const top = document.querySelector('header.top')
        return [getComputedStyle(document.body).backgroundColor, getComputedStyle(document.body).color, top != null ? getComputedStyle(top).backgroundColor : '']
      })
      return { bg: lum(css[0]), text: lum(css[1]), panel: lum(css[2]) }
    }
    await alice.emulateMedia({ colorScheme: 'light' })
    const light = await colours()
    await alice.emulateMedia({ colorScheme: 'dark' })
    const dark = await colours()
    await alice.emulateMedia({ colorScheme: 'light' })
    const lightAgain = await colours()
    assert.ok(light.bg > 0.8 && light.text < 0.05 && light.panel > 0.8, `light: dark text on a light page (${JSON.stringify(light)})`)
    assert.ok(dark.bg < 0.03 && dark.text > 0.7 && dark.panel < 0.05, `dark: light text on a dark page (${JSON.stringify(dark)})`)
    assert.deepEqual(lightAgain, light, 'back to light when the system goes back')
    assert.deepEqual(browser.outside, [], 'no request left loopback')
  })
})
