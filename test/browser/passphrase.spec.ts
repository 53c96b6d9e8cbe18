/**
 * A profile protected by a passphrase: the key file, the message store and
 * the attachments are encrypted in the browser (as the CLI's with
 * STARLING_PASSPHRASE); after a reload the app asks for the passphrase,
 * refuses a wrong one with a clear error and starts nothing, and with the
 * right one shows the history and the image again.
 */
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { Browser, WebStack, createIdentity, openApp, waitReady } from './browser.js'
import { PNG_1X1, attach, messageId, openChat, send, startChat } from './app.js'

describe('browser: a profile with a passphrase', function () {
  this.timeout(240_000)
  const stack = new WebStack()
  let browser: Browser
  let ivy: Page
  let jon: Page

  before(async () => {
    await stack.start()
    browser = await Browser.launch()
    ivy = await openApp(await browser.profile(), stack.url)
    jon = await openApp(await browser.profile(), stack.url)
    await createIdentity(jon, 'jon')
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
  })

  it('keeps keys, history and files encrypted, and opens them only with the passphrase', async () => {
    await ivy.getByLabel('Handle', { exact: true }).fill('ivy')
    await ivy.getByLabel('Passphrase (optional)').fill('a long passphrase')
    await ivy.getByLabel('Passphrase again').fill('a long passphrase')
    await ivy.getByRole('button', { name: 'Create' }).click()
    await waitReady(ivy)
    await startChat(ivy, 'jon')
    const text = await send(ivy, 'secret words')
    await attach(ivy, [{ name: 'dot.png', mimeType: 'image/png', buffer: PNG_1X1 }])
    await ivy.locator('.attachment.image[data-complete="true"]').waitFor({ timeout: 30_000 })
    await jon.locator('.conversations li[data-handle^="ivy~"]').waitFor({ timeout: 30_000 })
    await openChat(jon, 'ivy')
    await messageId(jon, 'secret words')

    // Nothing readable at rest: the key file is the encrypted format, the store's values are sealed.
    // (No named function literals inside evaluate: tsx would wrap them in a helper the page does not have.)
    const atRest = await ivy.evaluate(async () => {
      const db = await new Promise<IDBDatabase>((resolve, reject) => {
        const r = indexedDB.open('starling-default-store')
        r.onsuccess = () => { resolve(r.result) }
        r.onerror = () => { reject(r.error) }
      })
      const values = await new Promise<unknown[]>((resolve, reject) => {
        const r = db.transaction(db.objectStoreNames[0], 'readonly').objectStore(db.objectStoreNames[0]).getAll()
        r.onsuccess = () => { resolve(r.result) }
        r.onerror = () => { reject(r.error) }
      })
      db.close()
      const latin1 = new TextDecoder('latin1')
      return { values: values.length, clear: values.some(v => v instanceof Uint8Array && latin1.decode(v).includes('secret words')) }
    })
    assert.ok(atRest.values > 0, 'the store has values')
    assert.equal(atRest.clear, false, 'the message text is not stored in the clear')

    await ivy.reload()
    await ivy.getByLabel('Passphrase', { exact: true }).fill('not the passphrase')
    await ivy.getByRole('button', { name: 'Unlock' }).click()
    await ivy.getByRole('alert').waitFor()
    assert.equal(await ivy.evaluate(() => window.starling?.running == null), true, 'nothing started')
    await ivy.getByLabel('Passphrase', { exact: true }).fill('a long passphrase')
    await ivy.getByRole('button', { name: 'Unlock' }).click()
    await waitReady(ivy)
    await openChat(ivy, 'jon')
    assert.equal(await messageId(ivy, 'secret words'), text)
    await ivy.locator('.attachment.image[data-complete="true"] img').waitFor({ timeout: 30_000 })
    assert.deepEqual(browser.outside, [])
  })
})
