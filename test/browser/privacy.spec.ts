/**
 * The privacy switches of the web app's settings stop what they say, seen
 * from the other side (two browser profiles, one relay process):
 * - read receipts off: bob reads alice's message (his unread count drops to
 *   0) and replies; alice has the reply, and her message still shows
 *   "delivered", never "read" (with receipts on, the same steps show "read");
 * - typing indicators off: bob types and sends; alice's messenger saw no
 *   typing message from him (with them on, it saw one);
 * - hide my IP: after a reload with it on, bob and alice exchange messages
 *   over relayed connections only: no WebRTC connection of bob's, none that
 *   alice opened since, and no WebRTC address of bob's (before, they had a
 *   direct WebRTC connection; alice may still hold that dead one for a while,
 *   as WebRTC notices a vanished peer late).
 * No request leaves loopback.
 */
import assert from 'node:assert/strict'
import type { Page } from 'playwright-core'
import { Browser, WebStack, createIdentity, openApp } from './browser.js'
import { connectionsTo, messageById, messageId, openChat, reload, send, setSwitch, startChat } from './app.js'

declare global {
  interface Window { typingFrom?: string[] }
}

/** Starts recording, in `page`, who its messenger saw typing. */
async function recordTyping (page: Page): Promise<void> {
  await page.evaluate(() => {
    window.typingFrom = []
    window.starling?.running?.peer.messenger.on('typing', (e) => { window.typingFrom?.push(e.handle) })
  })
}

async function typingSeen (page: Page): Promise<string[]> {
  return await page.evaluate(() => window.typingFrom ?? [])
}

describe('browser: privacy settings', function () {
  this.timeout(300_000)
  const stack = new WebStack()
  let browser: Browser
  let alice: Page
  let bob: Page
  let aliceHandle: string
  let bobHandle: string

  before(async () => {
    await stack.start()
    browser = await Browser.launch()
    alice = await openApp(await browser.profile(), stack.url)
    bob = await openApp(await browser.profile(), stack.url)
    aliceHandle = await createIdentity(alice, 'alice')
    bobHandle = await createIdentity(bob, 'bob')
    await startChat(alice, 'bob')
    await send(alice, 'hi bob')
    await bob.locator('.conversations li[data-handle^="alice~"]').waitFor({ timeout: 30_000 })
    await openChat(bob, 'alice')
    await bob.getByRole('button', { name: 'Accept' }).click()
    await bob.locator('.conversations li[data-handle^="alice~"][data-state="accepted"]').waitFor()
  })

  after(async () => {
    await browser?.close()
    await stack.stop()
  })

  it('read receipts off: the sender sees delivered, never read', async () => {
    // Receipts on (the default): bob has the chat open, so alice's message becomes read.
    const control = await send(alice, 'will be read')
    await alice.locator(`li[data-message-id="${control}"][data-state="read"]`).waitFor({ timeout: 30_000 })

    await setSwitch(bob, 'Send read receipts', 'readReceipts', false)
    await openChat(bob, 'alice')
    const quiet = await send(alice, 'read without a receipt')
    await messageId(bob, 'read without a receipt')
    await bob.locator('.conversations li[data-handle^="alice~"][data-unread="0"]').waitFor({ timeout: 30_000 })
    await alice.locator(`li[data-message-id="${quiet}"][data-state="delivered"]`).waitFor({ timeout: 30_000 })
    // Bob's reply comes after any receipt he would have sent: once alice has it, a receipt would be there too.
    await send(bob, 'I read it')
    await messageId(alice, 'I read it')
    assert.equal(await messageById(alice, quiet).getAttribute('data-state'), 'delivered')
    assert.equal(await messageById(alice, control).getAttribute('data-state'), 'read')
  })

  it('typing indicators off: nothing is sent while typing', async () => {
    await recordTyping(alice)
    const box = bob.getByLabel('Message', { exact: true })
    await box.fill('typing with indicators on')
    await alice.waitForFunction((h) => window.typingFrom?.includes(h) === true, bobHandle, { timeout: 30_000 })
    await box.press('Enter')
    await messageId(alice, 'typing with indicators on')

    await setSwitch(bob, 'Send typing indicators', 'typingIndicators', false)
    await openChat(bob, 'alice')
    await recordTyping(alice)
    await bob.getByLabel('Message', { exact: true }).fill('typing quietly')
    await bob.getByLabel('Message', { exact: true }).press('Enter')
    await messageId(alice, 'typing quietly')
    assert.deepEqual(await typingSeen(alice), [], 'no typing message reached alice')
  })

  it('hide my IP: after a reload, only relayed connections between the two, no WebRTC address', async () => {
    const alicePeer = await alice.evaluate(() => window.starling?.state.get().me?.peerId ?? '')
    const bobPeer = await bob.evaluate(() => window.starling?.state.get().me?.peerId ?? '')
    // Before: the two upgraded to a direct WebRTC connection.
    await bob.waitForFunction((id) => window.starling?.running?.peer.node.getConnections().some(c => c.remotePeer.toString() === id && c.remoteAddr.toString().includes('/webrtc')) === true, alicePeer, { timeout: 30_000 })

    await setSwitch(bob, 'Hide my IP address', 'hideMyIp', true)
    const reloadedAt = await alice.evaluate(() => Date.now())
    await reload(bob)
    assert.deepEqual((await bob.evaluate(() => window.starling?.running?.peer.node.getMultiaddrs().map(String) ?? [])).filter(a => a.includes('/webrtc')), [])
    await openChat(bob, 'alice')
    await send(alice, 'are you hidden?')
    await messageId(bob, 'are you hidden?')
    await send(bob, 'yes, through the relay')
    await messageId(alice, 'yes, through the relay')
    // The messages may have gone through the relay's mailboxes only: bob also
    // dials alice himself, so that there is a connection to look at (under
    // hide my IP it must be relayed whoever opens it).
    await bob.evaluate(async (id) => {
      const node = window.starling?.running?.peer.node
      const known = (await node?.peerStore.all())?.find(p => p.id.toString() === id)
      if (node != null && known != null) await node.dial(known.id).catch(() => {})
    }, alicePeer)
    const seen = [...await connectionsTo(bob, alicePeer), ...(await connectionsTo(alice, bobPeer)).filter(c => c.opened >= reloadedAt)]
    assert.ok(seen.length > 0, 'they are connected')
    for (const c of seen) {
      assert.ok(!c.addr.includes('/webrtc'), `no WebRTC connection: ${c.addr}`)
      assert.ok(c.limited && c.addr.includes('/p2p-circuit'), `relayed: ${c.addr}`)
    }
    assert.equal(await bob.evaluate(() => window.starling?.state.get().settings?.hideMyIp), true, 'the setting is kept across the reload')
    assert.ok(aliceHandle.startsWith('alice~'))
    assert.deepEqual(browser.outside, [], 'no request left loopback')
  })
})
