/**
 * Calls between a tab and a CLI daemon (issue 12, items 5 and 6): the tab
 * (its microphone a 440 Hz tone, its own Chromium process) calls a daemon
 * that answers by itself with a 1 kHz tone and records what it hears; then
 * the daemon calls the tab (`starling call`). Each side hears the other's
 * tone: the daemon's recorded WAV (Goertzel) and an AnalyserNode on the
 * page's remote stream. Both calls end as "ended" in both threads.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { WebStack } from './browser.js'
import { message, openChat, send, startChat } from './app.js'
import { FAST_DAEMON_ENV, Network, eventually } from '../e2e/harness.js'
import type { HistoryMessage, User } from '../e2e/harness.js'
import { encodeWav, goertzel, parseWav, tone } from '../../node/calls/wav.js'
import { heardFrequency, launchParty, waitCall, waitCallEvents } from './calls.js'
import type { Party } from './calls.js'

const TAB_HZ = 440
const DAEMON_HZ = 1000

/** Whether `samples` hold `hz` far more than `other`. */
function holds (samples: Int16Array, hz: number, other: number): boolean {
  return goertzel(samples, hz) > 10 * goertzel(samples, other)
}

describe('browser: calls between a tab and a CLI daemon', function () {
  this.timeout(300_000)
  const stack = new WebStack()
  const net = new Network(stack.procs)
  let tab: Party
  let erin: User
  let dir: string

  before(async () => {
    await stack.start()
    dir = await stack.procs.tempDir('starling-web-calls-cli-')
    await writeFile(join(dir, 'erin.wav'), encodeWav(tone(DAEMON_HZ, 2)))
    tab = await launchParty(stack, dir, 'frank', TAB_HZ)
    erin = await net.newUser('erin')
    await net.startDaemon(erin, [stack.tcpAddr], FAST_DAEMON_ENV, ['--auto-answer', '--call-audio-in', join(dir, 'erin.wav'), '--call-record', join(dir, 'erin-heard.wav')])
    // Contacts both ways: the tab writes first, the daemon accepts.
    await startChat(tab.page, 'erin')
    const hello = await send(tab.page, 'hello erin')
    await eventually(async () => (await net.call<{ messages: HistoryMessage[] }>(erin, 'history', { handle: tab.handle })).messages.find(m => m.id === hello), 60_000, 'the daemon has the message')
    const accepted = await net.procs.cli(['contacts', '--accept', tab.handle, '--data', erin.dir, '--json'])
    assert.equal(accepted.code, 0, accepted.stderr)
    const sent = await net.procs.cli(['send', tab.handle, 'hi frank', '--data', erin.dir, '--json'])
    assert.equal(sent.code, 0, sent.stderr)
    await message(tab.page, 'hi frank').waitFor({ timeout: 60_000 })
  })

  after(async () => {
    await tab?.browser.close()
    await stack.stop()
  })

  it('the tab calls the daemon: each hears the other\'s tone', async () => {
    await openChat(tab.page, 'erin')
    await tab.page.getByRole('button', { name: 'Voice call' }).click()
    await waitCall(tab.page, 'connected')
    await tab.page.waitForTimeout(1_500)
    const heard = await heardFrequency(tab.page)
    assert.ok(Math.abs(heard - DAEMON_HZ) < 20, `the tab hears ${heard} Hz`)
    await tab.page.waitForTimeout(1_000)
    await tab.page.getByRole('button', { name: 'Hang up' }).click()
    await waitCall(tab.page, 'ended', 'hangup')
    const recorded = await eventually(async () => {
      const bytes = await readFile(join(dir, 'erin-heard.wav')).catch(() => undefined)
      return bytes != null && bytes.length > 48_000 ? parseWav(bytes, 'erin-heard.wav') : undefined
    }, 30_000, 'the daemon\'s recording')
    assert.ok(holds(recorded.subarray(-24_000), TAB_HZ, DAEMON_HZ), 'the daemon heard the tab\'s 440 Hz')
    const events = await waitCallEvents(tab.page, 'erin', 1)
    assert.match(events[0], /^Voice call, 0:\d\d$/)
  })

  it('the daemon calls the tab (starling call): each hears the other\'s tone', async () => {
    await tab.page.getByRole('button', { name: 'Close' }).click().catch(() => {})
    const call = net.procs.cli(['call', tab.handle, '--data', erin.dir, '--audio-in', join(dir, 'erin.wav'), '--audio-out', join(dir, 'erin-out.wav'), '--seconds', '5', '--json'])
    await waitCall(tab.page, 'ringing')
    await tab.page.getByRole('button', { name: 'Accept with audio' }).click()
    await waitCall(tab.page, 'connected')
    await tab.page.waitForTimeout(1_500)
    const heard = await heardFrequency(tab.page)
    assert.ok(Math.abs(heard - DAEMON_HZ) < 20, `the tab hears ${heard} Hz`)
    const r = await call
    assert.equal(r.code, 0, r.stderr + r.stdout)
    assert.equal(r.json[0].connected, true)
    await waitCall(tab.page, 'ended', 'remote-hangup')
    const recorded = parseWav(await readFile(join(dir, 'erin-out.wav')), 'erin-out.wav')
    assert.ok(recorded.length > 48_000 * 3, `the daemon recorded ${recorded.length} samples`)
    assert.ok(holds(recorded.subarray(-48_000), TAB_HZ, DAEMON_HZ), 'the daemon heard the tab\'s 440 Hz')
    const events = await waitCallEvents(tab.page, 'erin', 2)
    assert.match(events[1], /^Voice call, 0:0[3-9]$/)
    const daemonEvents = (await net.call<{ messages: Array<HistoryMessage & { call?: { outcome: string } }> }>(erin, 'history', { handle: tab.handle })).messages.filter(m => m.kind === 'call')
    assert.deepEqual(daemonEvents.map(m => m.call?.outcome), ['ended', 'ended'])
    assert.deepEqual(tab.browser.outside, [], 'no request left loopback')
  })
})
