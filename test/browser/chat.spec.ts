/**
 * Two browser profiles (two contexts, each its own storage, one relay
 * process) chat both ways through the app as a person would: first
 * contact confirmed, a message request accepted, a reply to an older
 * message whose quote jumps to it, three reactions (one a ZWJ sequence),
 * an edit with its history, a delete for everyone, the typing indicator,
 * an image shown inline and a voice note recorded in the page (Chromium's
 * fake microphone) playable on the other side; after reloading both tabs
 * everything is still there.
 * No request leaves loopback.
 */
import assert from 'node:assert/strict'
import type { BrowserContext, Page } from 'playwright-core'
import { Browser, FAKE_MEDIA_ARGS, WebStack, createIdentity, openApp } from './browser.js'
import { PNG_1X1, attach, deleteForEveryone, edit, messageById, messageId, openChat, react, reload, reply, send, shownIds, startChat } from './app.js'

describe('browser: two profiles chat', function () {
  this.timeout(300_000)
  const stack = new WebStack()
  let browser: Browser
  let alice: Page
  let bob: Page
  const contexts: BrowserContext[] = []

  before(async () => {
    await stack.start()
    browser = await Browser.launch(FAKE_MEDIA_ARGS)
    for (let i = 0; i < 2; i++) contexts.push(await browser.profile())
    await contexts[0].grantPermissions(['microphone'])
    alice = await openApp(contexts[0], stack.url)
    bob = await openApp(contexts[1], stack.url)
    await createIdentity(alice, 'alice')
    await createIdentity(bob, 'bob')
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
  })

  it('both ways, with a reply to an older message, three reactions, an edit, a delete, an image and a voice note; all still there after a reload', async () => {
    await startChat(alice, 'bob')
    const first = await send(alice, 'hello bob')
    const second = await send(alice, 'are you there?')

    // Bob sees a message request from alice, unread, and accepts it.
    // The request shows with the first message; the second may land a moment later (each is its own delivery).
    await bob.locator('.conversations li[data-handle^="alice~"][data-state="request"]').waitFor({ timeout: 30_000 })
    await bob.locator('.conversations li[data-handle^="alice~"][data-state="request"][data-unread="2"]').waitFor({ timeout: 30_000 })
    await openChat(bob, 'alice')
    await bob.getByRole('button', { name: 'Accept' }).click()
    await bob.locator('.conversations li[data-handle^="alice~"][data-state="accepted"]').waitFor()
    assert.equal(await messageId(bob, 'hello bob'), first)

    // Bob replies to the OLDER message; alice sees the quote, and activating it moves focus to the original.
    const answer = await reply(bob, first, 'hi alice, yes')
    await messageById(alice, answer).waitFor({ timeout: 30_000 })
    const quote = messageById(alice, answer).locator('button.quote')
    assert.equal(await quote.getAttribute('data-reply-to'), first)
    assert.match(await quote.innerText(), /hello bob/)
    await quote.click()
    assert.equal(await alice.evaluate(() => document.activeElement?.getAttribute('data-message-id')), first)

    // Three reactions by typing them, one a ZWJ sequence (a family); alice sees each.
    const emoji = ['👍', '🎉', '👩‍👩‍👧‍👦']
    for (const e of emoji) await react(bob, first, e)
    for (const e of emoji) await messageById(alice, first).locator(`button[data-emoji="${e}"]`).waitFor({ timeout: 30_000 })

    // Alice edits her first message (bob sees the new text and the old one in its history) and deletes the second.
    await edit(alice, first, 'hello bob (edited)')
    await messageById(bob, first).locator('p.text', { hasText: 'hello bob (edited)' }).waitFor({ timeout: 30_000 })
    await messageById(bob, first).locator('details.edits summary').click()
    assert.match(await messageById(bob, first).locator('details.edits').innerText(), /hello bob\n?[\s\S]*hello bob \(edited\)/)
    await deleteForEveryone(alice, second)
    await messageById(bob, second).locator('.tombstone').waitFor({ timeout: 30_000 })

    // Typing (ephemeral, direct): bob sees alice typing while she writes.
    await alice.getByLabel('Message', { exact: true }).fill('I am writing somethi')
    await bob.locator('p.typing', { hasText: 'alice is typing' }).waitFor({ timeout: 30_000 })
    await alice.getByLabel('Message', { exact: true }).fill('')

    // An image: inline on bob's side once whole.
    await attach(alice, [{ name: 'dot.png', mimeType: 'image/png', buffer: PNG_1X1 }])
    const image = bob.locator('.attachment.image[data-complete="true"] img')
    await image.waitFor({ timeout: 60_000 })
    const imageId = await image.locator('xpath=ancestor::li[@data-message-id]').getAttribute('data-message-id') ?? ''
    assert.ok(await image.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 1), 'the image decodes')

    // A voice note recorded in the page: playable audio on bob's side once whole.
    await alice.getByRole('button', { name: 'Record a voice note' }).click()
    await alice.getByRole('timer').filter({ hasText: '0:01' }).waitFor({ timeout: 30_000 })
    await alice.getByRole('button', { name: 'Send voice note' }).click()
    const voice = bob.locator('.attachment.audio[data-complete="true"] audio')
    await voice.waitFor({ timeout: 60_000 })
    const voiceId = await voice.locator('xpath=ancestor::li[@data-message-id]').getAttribute('data-message-id') ?? ''
    const playable = async (page: Page): Promise<number> => page.locator(`li[data-message-id="${voiceId}"] .attachment.audio[data-complete="true"] audio`).evaluate(async (a: HTMLAudioElement) => {
      if (a.readyState < 1) await new Promise(resolve => { a.addEventListener('loadedmetadata', resolve, { once: true }) })
      return a.duration
    })
    assert.ok(await playable(bob) > 0, 'the voice note loads as audio')

    // Delivery states on alice's side: her messages reached bob's device.
    await messageById(alice, answer).waitFor()
    await alice.locator(`li[data-message-id="${first}"][data-state="read"], li[data-message-id="${first}"][data-state="delivered"]`).waitFor({ timeout: 30_000 })

    // After reloading both tabs: identity, contacts, history, reactions, edit, delete and image are all there.
    const before = { alice: await shownIds(alice), bob: await shownIds(bob) }
    await reload(alice)
    await reload(bob)
    await openChat(alice, 'bob')
    await openChat(bob, 'alice')
    assert.match(await alice.locator('.top .me').innerText(), /^alice~/)
    for (const [page, ids] of [[alice, before.alice], [bob, before.bob]] as const) {
      await messageById(page, imageId).waitFor({ timeout: 30_000 })
      assert.deepEqual(await shownIds(page), ids)
      await messageById(page, first).locator('p.text', { hasText: 'hello bob (edited)' }).waitFor()
      await messageById(page, second).locator('.tombstone').waitFor()
      for (const e of emoji) await messageById(page, first).locator(`button[data-emoji="${e}"]`).waitFor()
      assert.equal(await messageById(page, answer).locator('button.quote').getAttribute('data-reply-to'), first)
    }
    await bob.locator(`li[data-message-id="${imageId}"] .attachment.image[data-complete="true"] img`).waitFor({ timeout: 30_000 })
    await bob.locator(`li[data-message-id="${voiceId}"] .attachment.audio[data-complete="true"] audio`).waitFor({ timeout: 30_000 })
    assert.ok(await playable(bob) > 0, 'the voice note still plays after the reload')
    assert.deepEqual(browser.outside, [], 'no request left loopback')
  })
})
