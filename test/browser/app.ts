/** Steps a person takes in the app, for the browser tests (what they click and type, by label and role). */
import type { Locator, Page } from 'playwright-core'
import { waitReady } from './browser.js'

/** The smallest valid PNG (1x1, one pixel): sniffed as an image by src/. */
export const PNG_1X1 = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64')

/** Starts a chat with `name` from the New chat screen, confirming the name~tag on first contact. */
export async function startChat (page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: 'New chat' }).click()
  await page.getByLabel('Handle', { exact: true }).fill(name)
  await page.getByRole('button', { name: 'Start chat' }).click()
  const confirm = page.getByRole('button', { name: /^Yes, chat with / })
  const thread = page.locator('main.thread')
  await Promise.race([confirm.waitFor({ timeout: 30_000 }), thread.waitFor({ timeout: 30_000 })])
  if (await confirm.isVisible()) await confirm.click()
  await thread.waitFor()
}

/** Opens the chat with `name` from the list. */
export async function openChat (page: Page, name: string): Promise<void> {
  await page.locator(`.conversations li[data-handle^="${name}~"] a`).click()
  await page.locator('main.thread').waitFor()
}

/** Types a message and sends it with Enter; resolves with its id once it shows. */
export async function send (page: Page, text: string): Promise<string> {
  const box = page.getByLabel('Message', { exact: true })
  await box.fill(text)
  await box.press('Enter')
  return await messageId(page, text)
}

/** The message (list item) showing `text`. */
export function message (page: Page, text: string): Locator {
  return page.locator('li[data-message-id]').filter({ has: page.locator('p.text', { hasText: text }) })
}

/** The message with `id`. */
export function messageById (page: Page, id: string): Locator {
  return page.locator(`li[data-message-id="${id}"]`)
}

/** Waits for the message showing `text`; resolves with its id. */
export async function messageId (page: Page, text: string, timeout = 30_000): Promise<string> {
  const m = message(page, text).first()
  await m.waitFor({ timeout })
  return await m.getAttribute('data-message-id') ?? ''
}

/** Replies to the message `id` with `text`. */
export async function reply (page: Page, id: string, text: string): Promise<string> {
  await messageById(page, id).getByRole('button', { name: 'Reply' }).click()
  return await send(page, text)
}

/** Reacts to the message `id` by typing `emoji`. */
export async function react (page: Page, id: string, emoji: string): Promise<void> {
  const m = messageById(page, id)
  await m.getByRole('button', { name: 'React', exact: true }).first().click()
  const input = m.getByLabel('Any emoji')
  await input.fill(emoji)
  await input.press('Enter')
  await m.locator(`button[data-emoji="${emoji}"]`).waitFor()
}

/** Edits our message `id` to `text`. */
export async function edit (page: Page, id: string, text: string): Promise<void> {
  await messageById(page, id).getByRole('button', { name: 'Edit' }).click()
  const box = page.getByLabel('Message', { exact: true })
  // The composer puts the old text in first: typing before that would be overwritten.
  await page.locator('.composing[data-mode="edit"]').waitFor()
  await page.waitForFunction(() => (document.getElementById('compose') as HTMLTextAreaElement | null)?.value !== '')
  await box.fill(text)
  await box.press('Enter')
  await messageById(page, id).locator('p.text', { hasText: text }).waitFor()
}

/** Deletes our message `id` for everyone (accepting the confirmation). */
export async function deleteForEveryone (page: Page, id: string): Promise<void> {
  page.once('dialog', (d) => { void d.accept() })
  await messageById(page, id).getByRole('button', { name: 'Delete' }).click()
  await messageById(page, id).locator('.tombstone').waitFor()
}

/** Attaches files through "+" (the file input behind it). */
export async function attach (page: Page, files: Array<{ name: string, mimeType: string, buffer: Buffer }>): Promise<void> {
  await page.locator('#attach-input').setInputFiles(files)
}

/** Reloads the page and waits until it is connected again. */
export async function reload (page: Page): Promise<void> {
  await page.reload()
  await waitReady(page)
}

/** The ids of every message shown in the open thread, in order. */
export async function shownIds (page: Page): Promise<string[]> {
  return await page.locator('li[data-message-id]').evaluateAll(els => els.map(e => e.getAttribute('data-message-id') ?? ''))
}

/** Turns a settings switch on or off (found by its label) and waits until it is stored. */
export async function setSwitch (page: Page, label: string, key: 'readReceipts' | 'typingIndicators' | 'hideMyIp' | 'notifications', on: boolean): Promise<void> {
  await page.getByRole('link', { name: 'Settings' }).click()
  await page.getByLabel(label, { exact: true }).setChecked(on)
  await page.waitForFunction(([k, v]) => (window.starling?.state.get().settings as unknown as Record<string, unknown> | undefined)?.[k as string] === v, [key, on] as const)
}

/** The connections a page has to `peerId`: address, whether relayed (limited), when opened (ms since the epoch). */
export async function connectionsTo (page: Page, peerId: string): Promise<Array<{ addr: string, limited: boolean, opened: number }>> {
  return await page.evaluate((id) => (window.starling?.running?.peer.node.getConnections() ?? [])
    .filter(c => c.remotePeer.toString() === id)
    .map(c => ({ addr: c.remoteAddr.toString(), limited: c.limits != null, opened: c.timeline.open })), peerId)
}
