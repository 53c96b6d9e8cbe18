/**
 * Calls between tabs (issue 12, items 2 and 6), each party in its own
 * headless Chromium process with fake devices (its own tone, three
 * cameras), through the app's screens, on one relay:
 * - an audio call connects and both sides receive sound (inbound audio
 *   bytes growing, audio level above zero); muting the microphone brings
 *   the other side's level to zero, and both screens show it; hang-up;
 * - a video call: decoded frames grow on both sides; camera off stops the
 *   frames the other side decodes; switching camera changes what the other
 *   side sees (the fake cameras draw alike: the first is made 16:9, the
 *   next opens at 4:3), passing over the depth camera WebRTC cannot send;
 * - an incoming call in a hidden tab shows a browser notification;
 * - decline, busy (a third party calls during a call), missed (the page's
 *   ring time shortened through config.json, as the daemon's test hook
 *   does; the callee calls back this time) and hang-up each leave the same
 *   event in both threads.
 */
import assert from 'node:assert/strict'
import { WebStack } from './browser.js'
import { openChat } from './app.js'
import { befriend, callScreen, closeCall, launchParty, waitAspect, stats, statsUntil, waitCall, waitCallEvents } from './calls.js'
import type { Party } from './calls.js'

/** Page code (text: evaluated as it is): the tab reads as hidden, and notifications shown are recorded. */
const HIDE_AND_RECORD_NOTIFICATIONS = `
  window.notified = []
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: function () { return 'hidden' } })
  window.RealNotification = window.Notification
  window.Notification = class extends window.RealNotification {
    constructor (title, options) { super(title, options); window.notified.push(title) }
  }
`
const SHOW_AGAIN = `
  delete document.visibilityState
  window.Notification = window.RealNotification
`

/** Rings this long (config.json's test hook), instead of 60 s. */
const RING_MS = 10_000

describe('browser: calls between tabs', function () {
  this.timeout(600_000)
  const stack = new WebStack()
  let alice: Party
  let bob: Party
  let carol: Party

  before(async () => {
    await stack.start({ config: { ringTimeoutMs: RING_MS } })
    const dir = await stack.procs.tempDir('starling-web-calls-')
    alice = await launchParty(stack, dir, 'alice', 440)
    bob = await launchParty(stack, dir, 'bob', 1000)
    carol = await launchParty(stack, dir, 'carol', 700)
    await befriend(alice, bob)
    await befriend(carol, bob)
  })

  after(async () => {
    for (const p of [alice, bob, carol]) await p?.browser.close()
    await stack.stop()
  })

  afterEach(async () => {
    // Each test starts with no call (one that failed half-way is hung up).
    for (const p of [alice, bob, carol]) {
      await p?.page.evaluate(() => { window.starling?.running?.calls?.current?.hangUp() })
    }
    for (const p of [alice, bob, carol]) {
      if (p == null) continue
      await p.page.waitForFunction(() => window.starling?.running?.calls?.current?.over !== false)
      await p.page.evaluate(() => { window.starling?.running?.calls?.dismiss() })
    }
  })

  /** Alice calls Bob (or `from` calls `to`) from their thread; the callee's screen rings. */
  async function ring (video: boolean, from = alice, to = bob): Promise<void> {
    await closeCall(from.page)
    await closeCall(to.page)
    await openChat(from.page, to.name)
    await from.page.getByRole('button', { name: video ? 'Video call' : 'Voice call' }).click()
    await waitCall(to.page, 'ringing')
    assert.equal(await to.page.locator('.call-screen').getAttribute('data-ringing'), 'true', 'the ring tone plays')
    assert.match(await callScreen(to.page).getByRole('heading').innerText(), new RegExp(`${video ? 'Video' : 'Voice'} call from ${from.name}`))
  }

  it('audio call: both sides hear each other; mute drops the level to zero and both screens show it; hang-up is "ended" in both threads', async () => {
    await ring(false)
    // The ringing screen has focus on its first control: accept by keyboard.
    assert.equal(await bob.page.evaluate(() => document.activeElement?.textContent), 'Accept with audio')
    await bob.page.keyboard.press('Enter')
    await Promise.all([waitCall(alice.page, 'connected'), waitCall(bob.page, 'connected')])

    for (const p of [alice, bob]) {
      const first = await statsUntil(p.page, s => s.audioBytesReceived > 0 && (s.audioLevel ?? 0) > 0, `${p.name} hears sound`)
      const later = await statsUntil(p.page, s => s.audioBytesReceived > first.audioBytesReceived, `${p.name}'s inbound audio grows`)
      assert.ok((later.audioLevel ?? 0) > 0.01, `${p.name}'s audio level ${String(later.audioLevel)}`)
      assert.ok(later.mos != null && later.mos > 1, 'the quality indicator has an estimate')
    }
    await alice.page.locator('.quality[data-mos]').waitFor()

    // Alice mutes: her button is pressed, Bob's screen says so, and what Bob receives is silence.
    await alice.page.getByRole('button', { name: 'Mute microphone' }).click()
    await alice.page.locator('.call-controls button[aria-pressed="true"]', { hasText: 'Mute microphone' }).waitFor()
    await bob.page.locator('[data-remote-audio="off"]').waitFor()
    await statsUntil(bob.page, s => (s.audioLevel ?? 1) < 0.001, 'Bob\'s audio level drops to zero')
    // Alice still hears Bob.
    assert.ok(((await stats(alice.page)).audioLevel ?? 0) > 0.01)
    await alice.page.getByRole('button', { name: 'Mute microphone' }).click()
    await bob.page.locator('[data-remote-audio="on"]').waitFor()
    await statsUntil(bob.page, s => (s.audioLevel ?? 0) > 0.01, 'Bob hears Alice again')

    await alice.page.getByRole('button', { name: 'Hang up' }).click()
    await Promise.all([waitCall(alice.page, 'ended', 'hangup'), waitCall(bob.page, 'ended', 'remote-hangup')])
    const a = await waitCallEvents(alice.page, 'bob', 1)
    const b = await waitCallEvents(bob.page, 'alice', 1)
    assert.match(a[0], /^Voice call, 0:\d\d$/)
    assert.deepEqual(b, a)
  })

  it('video call: frames both ways; camera off stops them; switch camera changes what the other side sees', async () => {
    await ring(true)
    await callScreen(bob.page).getByRole('button', { name: 'Accept with video' }).click()
    await Promise.all([waitCall(alice.page, 'connected'), waitCall(bob.page, 'connected')])
    for (const p of [alice, bob]) {
      const first = await statsUntil(p.page, s => s.framesDecoded > 0, `${p.name} decodes video`)
      await statsUntil(p.page, s => s.framesDecoded > first.framesDecoded + 10, `${p.name}'s decoded frames grow`)
      await statsUntil(p.page, s => s.audioBytesReceived > 0, `${p.name} receives audio`)
    }

    // Fake cameras all draw the same picture: Alice's first camera is given a wide shape (16:9), so that
    // Bob sees the switch to another camera (which opens at its default 4:3).
    await alice.page.evaluate(async () => {
      const calls = window.starling?.running?.calls
      await calls?.media.get(calls.current?.id ?? '')?.camera?.applyConstraints({ width: 1280, height: 720 })
    })
    await waitAspect(bob.page, 16 / 9)
    await alice.page.getByRole('button', { name: 'Switch camera' }).click()
    await waitAspect(bob.page, 4 / 3)
    assert.equal(await alice.page.evaluate(() => {
      const calls = window.starling?.running?.calls
      return calls?.media.get(calls.current?.id ?? '')?.camera?.label
    }), 'fake_device_2', 'the depth camera (fake_device_1) was passed over')

    // Camera off: Bob's screen says so, and the frames Bob decodes stop.
    await alice.page.getByRole('button', { name: 'Camera off' }).click()
    await alice.page.locator('.call-controls button[aria-pressed="true"]', { hasText: 'Camera off' }).waitFor()
    await bob.page.locator('[data-remote-video="off"]').waitFor()
    await bob.page.waitForTimeout(1_000)
    const stopped = (await stats(bob.page)).framesDecoded
    await bob.page.waitForTimeout(2_000)
    assert.equal((await stats(bob.page)).framesDecoded, stopped, 'no frames decoded with the camera off')
    // Alice still receives Bob's video.
    const aliceFrames = (await stats(alice.page)).framesDecoded
    await statsUntil(alice.page, s => s.framesDecoded > aliceFrames, 'Alice still decodes Bob\'s video')
    // On again: frames flow again.
    await alice.page.getByRole('button', { name: 'Camera off' }).click()
    await bob.page.locator('[data-remote-video="on"]').waitFor()
    await statsUntil(bob.page, s => s.framesDecoded > stopped + 5, 'frames again with the camera on')

    await bob.page.getByRole('button', { name: 'Hang up' }).click()
    await Promise.all([waitCall(alice.page, 'ended', 'remote-hangup'), waitCall(bob.page, 'ended', 'hangup')])
    const a = await waitCallEvents(alice.page, 'bob', 2)
    assert.match(a[1], /^Video call, 0:\d\d$/)
    assert.deepEqual(await waitCallEvents(bob.page, 'alice', 2), a)
  })

  it('decline, busy and missed each leave the same event in both threads', async () => {
    // Declined. Bob's tab is hidden meanwhile: the call also shows as a browser notification.
    await bob.page.evaluate(HIDE_AND_RECORD_NOTIFICATIONS)
    await ring(false)
    assert.deepEqual(await bob.page.evaluate(() => (window as unknown as { notified: string[] }).notified), [`Voice call from ${alice.handle}`])
    await bob.page.evaluate(SHOW_AGAIN)
    await callScreen(bob.page).getByRole('button', { name: 'Decline' }).click()
    await Promise.all([waitCall(alice.page, 'ended', 'declined'), waitCall(bob.page, 'ended', 'declined')])
    assert.match(await alice.page.locator('#call-status').innerText(), /bob declined the call/)
    let a = await waitCallEvents(alice.page, 'bob', 3)
    assert.equal(a[2], 'Voice call declined')
    assert.deepEqual(await waitCallEvents(bob.page, 'alice', 3), a)
    await closeCall(alice.page)
    await closeCall(bob.page)

    // Busy: Carol calls Bob while Alice's call is under way; Alice and Bob stay connected.
    await ring(false)
    await callScreen(bob.page).getByRole('button', { name: 'Accept with audio' }).click()
    await Promise.all([waitCall(alice.page, 'connected'), waitCall(bob.page, 'connected')])
    await openChat(carol.page, 'bob')
    await carol.page.getByRole('button', { name: 'Voice call' }).click()
    await waitCall(carol.page, 'ended', 'busy')
    assert.match(await carol.page.locator('#call-status').innerText(), /bob is busy/)
    assert.equal(await bob.page.locator('.call-screen').getAttribute('data-call-state'), 'connected')
    const c = await waitCallEvents(carol.page, 'bob', 1)
    assert.equal(c[0], 'Voice call: busy')
    await bob.page.getByRole('button', { name: 'Hang up' }).click()
    await Promise.all([waitCall(alice.page, 'ended'), waitCall(bob.page, 'ended')])
    assert.deepEqual(await waitCallEvents(bob.page, 'carol', 1), c)
    a = await waitCallEvents(alice.page, 'bob', 4)
    assert.match(a[3], /^Voice call, \d:\d\d$/)
    assert.deepEqual(await waitCallEvents(bob.page, 'alice', 4), a)
    await closeCall(alice.page)
    await closeCall(bob.page)

    // Missed: nobody answers within the (shortened) ring time. Bob calls this time (the other way
    // round, over the relayed connections Alice's calls left open).
    const placed = Date.now()
    await ring(false, bob, alice)
    await Promise.all([waitCall(alice.page, 'ended', 'missed', RING_MS + 30_000), waitCall(bob.page, 'ended', 'missed', RING_MS + 30_000)])
    assert.ok(Date.now() - placed >= RING_MS - 1_000, 'it rang for the ring time')
    assert.equal(await alice.page.locator('.call-screen').getAttribute('data-ringing'), 'false', 'the ring tone stopped')
    a = await waitCallEvents(alice.page, 'bob', 5)
    assert.equal(a[4], 'Missed voice call')
    assert.deepEqual(await waitCallEvents(bob.page, 'alice', 5), a)
    for (const p of [alice, bob, carol]) assert.deepEqual(p.browser.outside, [], 'no request left loopback')
  })
  it('a video call accepted with audio only: the callee\'s camera sends nothing and both screens say so; turned on later, it does', async () => {
    await ring(true)
    await callScreen(bob.page).getByRole('button', { name: 'Accept with audio' }).click()
    await Promise.all([waitCall(alice.page, 'connected'), waitCall(bob.page, 'connected')])
    for (const p of [alice, bob]) await statsUntil(p.page, s => s.audioBytesReceived > 0 && (s.audioLevel ?? 0) > 0, `${p.name} hears sound`)
    await statsUntil(bob.page, s => s.framesDecoded > 0, 'Bob sees Alice')
    await bob.page.locator('.call-controls button[aria-pressed="true"]', { hasText: 'Camera off' }).waitFor()
    await alice.page.locator('[data-remote-video="off"]').waitFor()
    await alice.page.waitForTimeout(2_000)
    assert.equal((await stats(alice.page)).framesDecoded, 0, 'Alice decodes no video from Bob')
    await bob.page.getByRole('button', { name: 'Camera off' }).click()
    await alice.page.locator('[data-remote-video="on"]').waitFor()
    await statsUntil(alice.page, s => s.framesDecoded > 5, 'Alice sees Bob once his camera is on')
    await alice.page.getByRole('button', { name: 'Hang up' }).click()
    await Promise.all([waitCall(alice.page, 'ended', 'hangup'), waitCall(bob.page, 'ended', 'remote-hangup')])
    const a = await waitCallEvents(alice.page, 'bob', 6)
    assert.match(a[5], /^Video call, 0:\d\d$/)
    assert.deepEqual(await waitCallEvents(bob.page, 'alice', 6), a)
  })

  it('clicking the incoming-call notification brings the tab to the call (the handler a click runs: headless Chromium shows no notification to click)', async () => {
    // Bob reads another thread, in a hidden tab; what his notification's click does is recorded. Carol calls
    // (Alice has used up her rings of the minute on Bob: CALLS_PER_PEER).
    await closeCall(bob.page)
    await openChat(bob.page, 'alice')
    await bob.page.evaluate(`
      window.shown = []
      window.focused = 0
      const realFocus = window.focus.bind(window)
      window.focus = function () { window.focused++; realFocus() }
      Object.defineProperty(document, 'visibilityState', { configurable: true, get: function () { return 'hidden' } })
      window.RealNotification = window.Notification
      window.Notification = class extends window.RealNotification {
        constructor (title, options) { super(title, options); window.shown.push(this) }
      }
    `)
    await closeCall(carol.page)
    await openChat(carol.page, 'bob')
    await carol.page.getByRole('button', { name: 'Video call' }).click()
    await waitCall(bob.page, 'ringing')
    await bob.page.waitForFunction(() => (window as unknown as { shown: Notification[] }).shown.length === 1)
    assert.equal(await bob.page.locator('main.thread[data-handle^="alice~"]').count(), 1, 'Bob still reads Alice\'s thread')
    // The click, as the browser delivers it to the page's notification.
    await bob.page.evaluate(`
      delete document.visibilityState
      window.shown[0].dispatchEvent(new Event('click'))
    `)
    await bob.page.locator('main.thread[data-handle^="carol~"]').waitFor()
    assert.equal(await bob.page.evaluate(() => (window as unknown as { focused: number }).focused), 1, 'the tab asked for focus')
    await waitCall(bob.page, 'ringing')
    await callScreen(bob.page).getByRole('button', { name: 'Accept with audio' }).waitFor()
    await bob.page.evaluate(() => { window.Notification = (window as unknown as { RealNotification: typeof Notification }).RealNotification })
    await callScreen(bob.page).getByRole('button', { name: 'Decline' }).click()
    await Promise.all([waitCall(carol.page, 'ended', 'declined'), waitCall(bob.page, 'ended', 'declined')])
  })
})
