/**
 * One node per profile (issue 11, item 4): a second tab of the same
 * profile finds the profile's Web Lock taken, starts no node and says the
 * app is open elsewhere; "Use here" moves the node to it (the first tab
 * stops its node and says so), with the same identity. Also: the message
 * store's synced writes commit with strict durability (issue 11, item 5),
 * seen from inside the page by recording every IndexedDB transaction.
 */
import assert from 'node:assert/strict'
import type { BrowserContext } from 'playwright-core'
import { Browser, WebStack, createIdentity, openApp, waitReady } from './browser.js'
import { send, startChat } from './app.js'

describe('browser: one node per profile; durable writes', function () {
  this.timeout(180_000)
  const stack = new WebStack()
  let browser: Browser
  let context: BrowserContext

  before(async () => {
    await stack.start()
    browser = await Browser.launch()
    context = await browser.profile()
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
  })

  it('a second tab of the same profile does not start a second node; "Use here" moves the node to it', async () => {
    const first = await openApp(context, stack.url)
    const handle = await createIdentity(first, 'carol')
    const second = await openApp(context, stack.url)
    await second.locator('[data-screen="elsewhere"]').waitFor()
    assert.equal(await second.evaluate(() => window.starling?.running == null), true, 'no node in the second tab')
    assert.equal(await second.evaluate(() => document.documentElement.dataset.ready), undefined)
    // The first tab still runs its node.
    assert.equal(await first.evaluate(() => window.starling?.running != null), true)

    await second.getByRole('button', { name: 'Use here' }).click()
    await waitReady(second)
    assert.equal(await second.evaluate(() => window.starling?.state.get().me?.handle), handle)
    await first.locator('[data-screen="elsewhere"]').waitFor()
    assert.equal(await first.evaluate(() => window.starling?.running == null), true, 'the first tab stopped its node')
    // A third open of the profile in another query is another profile: it starts its own.
    const other = await openApp(context, stack.url, 'second')
    await other.getByLabel('Handle', { exact: true }).waitFor()
    await first.close()
    await second.close()
    await other.close()
  })

  it('the message store\'s synced batches commit with durability "strict"', async () => {
    const page = await context.newPage()
    // Every IndexedDB transaction the page opens: database, mode, durability asked for.
    await page.addInitScript(() => {
      const seen: Array<{ db: string, mode: string, durability: string }> = []
      ;(window as unknown as { idbSeen: typeof seen }).idbSeen = seen
      const open = IDBDatabase.prototype.transaction
      IDBDatabase.prototype.transaction = function (this: IDBDatabase, names: string | string[], mode?: IDBTransactionMode, options?: IDBTransactionOptions) {
        seen.push({ db: this.name, mode: mode ?? 'readonly', durability: options?.durability ?? 'default' })
        return open.call(this, names, mode, options)
      } as typeof open
    })
    await page.goto(`${stack.url}?profile=durable`)
    await createIdentity(page, 'dave')
    await startChat(page, 'carol')
    await send(page, 'stored before acknowledged')
    const seen = await page.evaluate(() => (window as unknown as { idbSeen: Array<{ db: string, mode: string, durability: string }> }).idbSeen)
    const store = seen.filter(t => t.db === 'starling-durable-store' && t.mode === 'readwrite')
    assert.ok(store.length > 0, 'the message store was written')
    // Sending commits the message, the session and the outbox entry in one synced batch.
    assert.ok(store.some(t => t.durability === 'strict'), `a synced batch commits strictly: ${JSON.stringify(store.slice(0, 5))}`)
    const keyFile = seen.filter(t => t.db === 'starling-durable' && t.mode === 'readwrite')
    assert.ok(keyFile.length > 0 && keyFile.every(t => t.durability === 'strict'), 'the key file is written strictly')
    await page.close()
  })
})
