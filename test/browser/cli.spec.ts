/**
 * A browser user and a CLI daemon (a real process, test/e2e/harness.ts) on
 * one relay exchange messages and an attachment both ways: the tab reaches
 * the daemon, and the daemon reaches the tab through the relay. A backup
 * exported by the CLI restores in a new browser profile.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { Browser, WebStack, createIdentity, openApp, waitReady } from './browser.js'
import { PNG_1X1, attach, messageId, openChat, send, startChat } from './app.js'
import { Network, eventually } from '../e2e/harness.js'
import type { HistoryMessage, Running, User } from '../e2e/harness.js'

interface AttachmentInfo { id: string, complete: boolean, path: string | null }

describe('browser: a tab and a CLI daemon', function () {
  this.timeout(300_000)
  const stack = new WebStack()
  const net = new Network(stack.procs)
  let browser: Browser
  let page: Page
  let erin: User
  let erinDaemon: Running
  let me: string
  /** What the first test exchanged, which the restored tab must have too. */
  let imageMessage = ''
  let notes: { id: string, sha: string } | undefined

  before(async () => {
    await stack.start()
    browser = await Browser.launch()
    page = await openApp(await browser.profile(), stack.url)
    me = await createIdentity(page, 'frank')
    erin = await net.newUser('erin')
    erinDaemon = await net.startDaemon(erin, [stack.tcpAddr])
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
  })

  async function daemonHistory (): Promise<HistoryMessage[]> {
    return (await net.call<{ messages: HistoryMessage[] }>(erin, 'history', { handle: me })).messages
  }

  it('exchange messages and an attachment both ways', async () => {
    // Tab -> daemon: first contact by bare name, confirmed in the page.
    await startChat(page, 'erin')
    const hello = await send(page, 'hello from the browser')
    const got = await eventually(async () => (await daemonHistory()).find(m => m.id === hello), 60_000, 'the daemon has the message')
    assert.equal(got.text, 'hello from the browser')
    const accepted = await net.procs.cli(['contacts', '--accept', me, '--data', erin.dir, '--json'])
    assert.equal(accepted.code, 0, accepted.stderr)

    // Daemon -> tab: a text, then an image; the tab shows both (the image inline, whole).
    const sent = await net.procs.cli(['send', me, 'hello from the terminal', '--data', erin.dir, '--json'])
    assert.equal(sent.code, 0, sent.stderr)
    assert.equal(await messageId(page, 'hello from the terminal', 60_000), sent.json[0].id)
    const png = join(erin.dir, 'dot.png')
    await writeFile(png, PNG_1X1)
    const image = await net.procs.cli(['send', me, 'a picture', '--attach', png, '--data', erin.dir, '--json'])
    assert.equal(image.code, 0, image.stderr)
    const shown = page.locator(`li[data-message-id="${String(image.json[0].id)}"] .attachment.image[data-complete="true"] img`)
    await shown.waitFor({ timeout: 60_000 })
    assert.ok(await shown.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 1))

    // Tab -> daemon: a file; the daemon stores exactly its bytes.
    const bytes = Buffer.from('notes from a browser tab\n'.repeat(200))
    await attach(page, [{ name: 'notes.txt', mimeType: 'text/plain', buffer: bytes }])
    const file = await eventually(async () => (await daemonHistory()).find(m => m.kind === 'attachment' && m.id !== image.json[0].id && m.attachmentState?.complete === true), 60_000, 'the daemon has the whole file')
    const info = await net.call<AttachmentInfo>(erin, 'attachment', { id: file.attachmentState?.id })
    assert.ok(info.path != null)
    const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex')
    assert.equal(sha(await readFile(info.path)), sha(bytes))
    imageMessage = String(image.json[0].id)
    notes = { id: info.id, sha: sha(bytes) }
    assert.deepEqual(browser.outside, [], 'no request left loopback')
    assert.deepEqual(net.crashed(), [])
  })

  it('a backup exported by the CLI restores in a new browser profile, which then is that device', async () => {
    const file = join(erin.dir, 'erin.stbk')
    const exported = await net.procs.cli(['export', file, '--data', erin.dir, '--json'], { STARLING_BACKUP_PASSPHRASE: 'correct horse battery' })
    assert.equal(exported.code, 0, exported.stderr)
    await net.procs.stop(erinDaemon)
    const tab = await openApp(await browser.profile(), stack.url)
    await tab.getByLabel('Backup file').setInputFiles(file)
    await tab.getByLabel('Backup passphrase').fill('wrong words')
    await tab.getByRole('button', { name: 'Restore' }).click()
    await tab.getByRole('alert').filter({ hasText: /passphrase|backup/i }).waitFor()
    await tab.getByLabel('Backup passphrase').fill('correct horse battery')
    await tab.getByRole('button', { name: 'Restore' }).click()
    await waitReady(tab)
    assert.equal(await tab.evaluate(() => window.starling?.state.get().me?.handle), erin.handle)
    await openChat(tab, 'frank')
    await messageId(tab, 'hello from the browser')
    await messageId(tab, 'hello from the terminal')
    // The files are in the backup: erin's own picture shows whole, and frank's file is there byte for byte.
    assert.equal(exported.json[0].files, 2)
    const picture = tab.locator(`li[data-message-id="${imageMessage}"] .attachment.image[data-complete="true"] img`)
    await picture.waitFor({ timeout: 30_000 })
    assert.ok(await picture.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth === 1), 'the restored picture decodes')
    assert.ok(notes != null)
    const restored = await tab.evaluate(async (id) => {
      const blobs = window.starling?.running?.peer.blobs
      if (blobs == null) throw new Error('not running')
      const bytes = new Uint8Array(await (await blobs.blob(Uint8Array.from(id.match(/../g) ?? [], h => parseInt(h, 16)), 'text/plain')).arrayBuffer())
      return [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes))].map(b => b.toString(16).padStart(2, '0')).join('')
    }, notes.id)
    assert.equal(restored, notes.sha, 'frank\'s file restored byte for byte')
    // The restored device talks to frank under fresh sessions.
    const id = await send(tab, 'from erin, restored in a browser')
    assert.equal(await messageId(page, 'from erin, restored in a browser', 60_000), id)
    assert.deepEqual(browser.outside, [], 'no request left loopback')
  })
})
