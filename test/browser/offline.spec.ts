/**
 * Persistence across absences (issue 11, item 8): a tab closed for a while
 * receives, when it comes back, what was sent meanwhile (through the
 * relay), each message exactly once; a message written while the writer is
 * offline (its relay down) waits in the outbox, survives a reload, and is
 * sent when the tab reconnects.
 */
import assert from 'node:assert/strict'
import type { BrowserContext, Page } from 'playwright-core'
import { Browser, WebStack, createIdentity, openApp, waitReady } from './browser.js'
import { messageById, messageId, openChat, reload, send, shownIds, startChat } from './app.js'

describe('browser: closed tabs and offline writing', function () {
  this.timeout(300_000)
  const stack = new WebStack()
  let browser: Browser
  let alice: Page
  let bobContext: BrowserContext
  let bob: Page

  before(async () => {
    await stack.start()
    browser = await Browser.launch()
    alice = await openApp(await browser.profile(), stack.url)
    bobContext = await browser.profile()
    bob = await openApp(bobContext, stack.url)
    await createIdentity(alice, 'gina')
    await createIdentity(bob, 'hugo')
    // Contacts both ways.
    await startChat(alice, 'hugo')
    await send(alice, 'hi hugo')
    await openChat(bob, 'gina')
    await bob.getByRole('button', { name: 'Accept' }).click()
    await send(bob, 'hi gina')
    await messageId(alice, 'hi gina')
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
  })

  it('a tab closed while messages are sent receives each of them exactly once when it comes back', async () => {
    await bob.close()
    const texts = ['while you were away 1', 'while you were away 2', 'while you were away 3']
    const ids: string[] = []
    for (const t of texts) ids.push(await send(alice, t))
    // Held by the relay, not delivered: hugo is gone.
    for (const id of ids) await alice.locator(`li[data-message-id="${id}"][data-state="relayed"]`).waitFor({ timeout: 30_000 })

    bob = await openApp(bobContext, stack.url)
    await waitReady(bob)
    await openChat(bob, 'gina')
    for (const id of ids) await messageById(bob, id).waitFor({ timeout: 60_000 })
    for (const id of ids) await alice.locator(`li[data-message-id="${id}"]:is([data-state="delivered"], [data-state="read"])`).waitFor({ timeout: 60_000 })
    const shown = await shownIds(bob)
    for (const id of ids) assert.equal(shown.filter(x => x === id).length, 1, `message ${id} shown once`)
    assert.equal(new Set(shown).size, shown.length, 'no message shown twice')
    // The relay is read again (every second here): still once each after more passes and a reload.
    await reload(bob)
    await openChat(bob, 'gina')
    await messageById(bob, ids[2]).waitFor()
    assert.deepEqual(await shownIds(bob), shown)
  })

  it('a message written while offline is kept across a reload and sent once the tab reconnects', async () => {
    // Hugo's tab closed (no direct connection to fall back on), then the relay goes down: gina is offline.
    await bob.close()
    await stack.stopRelay()
    await alice.locator('[data-connectivity="waiting"]').waitFor({ timeout: 30_000 })
    const id = await send(alice, 'written offline')
    await alice.locator(`li[data-message-id="${id}"][data-state="queued"]`).waitFor()
    // The outbox is in IndexedDB: a reload while offline keeps it.
    await alice.reload()
    await openChat(alice, 'hugo')
    await alice.locator(`li[data-message-id="${id}"][data-state="queued"]`).waitFor({ timeout: 30_000 })

    // Back online: the relay takes it (hugo is still away), and hugo gets it when he returns.
    await stack.startRelay()
    await waitReady(alice, 60_000)
    await alice.locator(`li[data-message-id="${id}"][data-state="relayed"]`).waitFor({ timeout: 60_000 })
    bob = await openApp(bobContext, stack.url)
    await waitReady(bob)
    await openChat(bob, 'gina')
    await messageById(bob, id).waitFor({ timeout: 60_000 })
    await alice.locator(`li[data-message-id="${id}"]:is([data-state="delivered"], [data-state="read"])`).waitFor({ timeout: 60_000 })
    assert.deepEqual(browser.outside, [], 'no request left loopback')
  })
})
