/**
 * A call between tabs through TURN (issue 12, items 4 and 6): coturn on
 * 127.0.0.1 started by the test (README recipe), the relay handing its
 * users credentials for it; Alice turns on "hide my IP", so her call's
 * media may only go through the relay candidate (iceTransportPolicy
 * 'relay'). The call connects, both hear each other, and both sides'
 * selected candidate pair has Alice's end on the relay (getStats).
 */
import assert from 'node:assert/strict'
import { WebStack, waitReady } from './browser.js'
import { openChat, setSwitch } from './app.js'
import { startCoturn } from '../e2e/coturn.js'
import type { Coturn } from '../e2e/coturn.js'
import { befriend, launchParty, statsUntil, waitCall } from './calls.js'
import type { Party } from './calls.js'

describe('browser: a call through TURN with hide my IP', function () {
  this.timeout(300_000)
  const stack = new WebStack()
  let coturn: Coturn | undefined
  let alice: Party
  let bob: Party

  before(async () => {
    coturn = await startCoturn(await stack.procs.tempDir('starling-web-coturn-'))
    await stack.start({ relayArgs: ['--turn-url', coturn.url, '--turn-secret-file', coturn.secretFile] })
    const dir = await stack.procs.tempDir('starling-web-calls-turn-')
    alice = await launchParty(stack, dir, 'alice', 440)
    bob = await launchParty(stack, dir, 'bob', 1000)
    await befriend(alice, bob)
    await setSwitch(alice.page, 'Hide my IP address', 'hideMyIp', true)
    await alice.page.reload()
    await waitReady(alice.page)
  })

  after(async () => {
    for (const p of [alice, bob]) await p?.browser.close()
    await stack.stop()
    await coturn?.stop()
  })

  it('media goes over the relay candidate and is heard both ways', async () => {
    await openChat(alice.page, 'bob')
    await alice.page.getByRole('button', { name: 'Voice call' }).click()
    await waitCall(bob.page, 'ringing')
    await bob.page.getByRole('button', { name: 'Accept with audio' }).click()
    await Promise.all([waitCall(alice.page, 'connected'), waitCall(bob.page, 'connected')])
    const a = await statsUntil(alice.page, s => (s.audioLevel ?? 0) > 0.01 && s.localCandidateType != null, 'Alice hears Bob')
    const b = await statsUntil(bob.page, s => (s.audioLevel ?? 0) > 0.01 && s.remoteCandidateType != null, 'Bob hears Alice')
    assert.equal(a.localCandidateType, 'relay', 'Alice sends from her TURN allocation only')
    assert.equal(b.remoteCandidateType, 'relay', 'Bob sees Alice only as a relay candidate')
    // Every candidate Alice's connection has of its own is a relay one.
    const local = await alice.page.evaluate(async () => {
      const calls = window.starling?.running?.calls
      const pc = calls?.media.get(calls.current?.id ?? '')?.pc
      const types: string[] = []
      ;(await pc?.getStats())?.forEach((s: Record<string, unknown>) => { if (s.type === 'local-candidate') types.push(String(s.candidateType)) })
      return types
    })
    assert.ok(local.length > 0 && local.every(t => t === 'relay'), local.join(', '))
    await alice.page.locator('.quality', { hasText: 'through a relay' }).waitFor()
    await alice.page.getByRole('button', { name: 'Hang up' }).click()
    await Promise.all([waitCall(alice.page, 'ended', 'hangup'), waitCall(bob.page, 'ended', 'remote-hangup')])
    for (const p of [alice, bob]) assert.deepEqual(p.browser.outside, [], 'no request left loopback')
  })
})
