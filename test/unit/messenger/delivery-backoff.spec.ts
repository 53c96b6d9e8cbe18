/**
 * Delivery never gives up and never spins (issue: delivery that converges,
 * item 3): a messenger over an in-memory store and a transport the test
 * controls, on a fake clock. With 1,000 undelivered messages and the
 * recipient and every relay unreachable, attempts stay within the backoff
 * schedule, minute after minute; once the device is back, everything goes.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { parseEnvelopeHeader } from '../../../src/crypto/envelope.js'
import { DIRECT_BACKOFF_CAP_MS, BACKOFF_JITTER } from '../../../src/messenger/delivery.js'
import { RELAY_BACKOFF_CAP_MS } from '../../../src/messenger/relay-handoff.js'
import type { Custody, DeliveryTransport, MailboxItem } from '../../../src/messenger/transport.js'
import { daemonCrypto as crypto } from '../crypto/providers.js'
import { fakeDirectory, testDevice, testMessenger } from './harness.js'

const T0 = Date.UTC(2026, 11, 6)
const MINUTE = 60_000
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

/**
 * A network that is down until the test says otherwise; every attempt is
 * logged with the fake time. A failed attempt takes `failAfterMs` of fake
 * time, as a dial that times out does.
 */
class ControlledTransport implements DeliveryTransport {
  deviceUp = false
  relaysUp = false
  failAfterMs = 0
  readonly direct: Array<{ at: number, envelope: string }> = []
  readonly relay: Array<{ at: number, envelope: string, relay: string }> = []
  readonly delivered = new Set<string>()

  constructor (private readonly now: () => number) {}

  async sendDirect (_peer: PeerId, _addrs: Multiaddr[], envelope: Uint8Array): Promise<void> {
    const id = hex(parseEnvelopeHeader(envelope).id)
    this.direct.push({ at: this.now(), envelope: id })
    if (!this.deviceUp) await this.fail('device unreachable')
    this.delivered.add(id)
  }

  async storeOnRelay (relay: PeerId, _addrs: Multiaddr[], _recipient: PeerId, envelope: Uint8Array): Promise<Custody> {
    this.relay.push({ at: this.now(), envelope: hex(parseEnvelopeHeader(envelope).id), relay: relay.toString() })
    if (!this.relaysUp) await this.fail('relay unreachable')
    return { relay: relay.toString(), hash: crypto.hash.sha256(envelope), storedAt: this.now(), expiresAt: this.now() + 30 * 24 * 60 * MINUTE }
  }

  async fetchMailbox (): Promise<{ items: MailboxItem[], more: boolean }> {
    if (!this.relaysUp) throw new Error('relay unreachable')
    return { items: [], more: false }
  }

  async deleteFromMailbox (): Promise<void> {}

  private async fail (why: string): Promise<never> {
    if (this.failAfterMs > 0) await new Promise(resolve => setTimeout(resolve, this.failAfterMs))
    throw new Error(why)
  }
}

/** Attempts per minute of fake time, from T0. */
function perMinute (attempts: Array<{ at: number }>, minutes: number): number[] {
  const out = new Array<number>(minutes).fill(0)
  for (const a of attempts) {
    const m = Math.floor((a.at - T0) / MINUTE)
    if (m < minutes) out[m]++
  }
  return out
}

describe('messenger: delivery backs off, never spins, never gives up', function () {
  this.timeout(120_000)
  let clock: FakeTimers.Clock | undefined

  afterEach(() => { clock?.uninstall() })

  for (const failAfterMs of [0, 3_000]) {
    it(`1,000 messages to an unreachable device with every relay down (each attempt failing after ${failAfterMs} ms): attempts follow the backoff schedule for 30 minutes, then all are delivered once the device is back`, async () => {
      await unreachable(failAfterMs)
    })
  }

  async function unreachable (failAfterMs: number): Promise<void> {
    clock = FakeTimers.install({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const relays = [peerIdFromPrivateKey(await generateKeyPair('Ed25519')), peerIdFromPrivateKey(await generateKeyPair('Ed25519'))]
    const alice = await testDevice(crypto, 'alice', T0, relays)
    const bob = await testDevice(crypto, 'bob', T0, [relays[0]])
    const now = (): number => clock?.now ?? Date.now()
    const transport = new ControlledTransport(now)
    transport.failAfterMs = failAfterMs
    const messenger = await testMessenger(crypto, alice, { transport, directory: fakeDirectory([alice, bob]), now, relayPeers: relays })
    await messenger.start()
    const ids: string[] = []
    for (let i = 0; i < 1000; i++) ids.push((await messenger.send(bob.handle, { kind: 'text', text: `message ${i}` })).id)
    assert.equal(messenger.delivery.size, 1000)

    const minutes = 30
    for (let m = 0; m < minutes; m++) await clock.tickAsync(MINUTE)
    const direct = perMinute(transport.direct, minutes)
    const relayed = perMinute(transport.relay, minutes)
    // The schedule: waits of 5, 10, 20, 40 s then 60 s (direct) or up to 300 s
    // (per relay), each ±20%. So after the first minute at most
    // ceil(60 / (60 * 0.8)) = 2 direct probes a minute, and per relay at most
    // ceil(60 / (min wait so far * 0.8)).
    const directBound = Math.ceil(MINUTE / (DIRECT_BACKOFF_CAP_MS * (1 - BACKOFF_JITTER)))
    assert.ok(direct[0] <= 5, `first minute: ${direct[0]} direct attempts (one probe, then 5, 10, 20, 40 s)`)
    assert.ok(relayed[0] <= 2 * 5, `first minute: ${relayed[0]} relay attempts`)
    for (let m = 1; m < minutes; m++) {
      assert.ok(direct[m] <= directBound, `minute ${m + 1}: ${direct[m]} direct attempts (at most ${directBound})`)
      assert.ok(relayed[m] <= 2 * 2, `minute ${m + 1}: ${relayed[m]} relay attempts (at most 2 per relay)`)
    }
    // Relays reach their cap: late minutes see at most one attempt per relay per 4 minutes.
    const late = relayed.slice(20).reduce((a, b) => a + b, 0)
    assert.ok(late <= 2 * Math.ceil(10 * MINUTE / (RELAY_BACKOFF_CAP_MS * (1 - BACKOFF_JITTER))), `last 10 minutes: ${late} relay attempts`)
    // Per message: none was tried more than the schedule allows.
    const byMessage = new Map<string, number>()
    for (const a of [...transport.direct, ...transport.relay]) byMessage.set(a.envelope, (byMessage.get(a.envelope) ?? 0) + 1)
    assert.ok(Math.max(...byMessage.values()) <= direct.reduce((a, b) => a + b, 0) + relayed.reduce((a, b) => a + b, 0))
    assert.ok(transport.direct.length + transport.relay.length < 200, `${transport.direct.length} direct and ${transport.relay.length} relay attempts in 30 minutes for 1,000 messages`)
    // Nothing given up: every message still waits, shown queued.
    assert.equal(messenger.delivery.size, 1000)
    const view = await messenger.conversation(bob.handle)
    assert.deepEqual(new Set(ids.map(id => view.statuses[id]?.state)), new Set(['queued']))

    // The device comes back (it connects to us): all 1,000 go at once, each delivered once.
    transport.deviceUp = true
    messenger.reachable(bob.peerId)
    for (let i = 0; i < 100 && messenger.delivery.size > 0; i++) await clock.tickAsync(100)
    assert.equal(messenger.delivery.size, 0)
    assert.equal(transport.delivered.size, 1000)
    const after = await messenger.conversation(bob.handle)
    assert.deepEqual(new Set(ids.map(id => after.statuses[id]?.state)), new Set(['delivered']))
    await messenger.stop()
  }

  it('a message undelivered when its retention runs out is shown failed; sent again, it is queued and delivered', async () => {
    clock = FakeTimers.install({ now: T0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] })
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const alice = await testDevice(crypto, 'alice', T0, [relay])
    const bob = await testDevice(crypto, 'bob', T0, [relay])
    const now = (): number => clock?.now ?? Date.now()
    const transport = new ControlledTransport(now)
    transport.relaysUp = true
    const messenger = await testMessenger(crypto, alice, { transport, directory: fakeDirectory([alice, bob]), now, relayPeers: [relay], retentionMs: 60 * MINUTE })
    await messenger.start()
    const { id } = await messenger.send(bob.handle, { kind: 'text', text: 'are you there?' })
    const state = async (): Promise<string | undefined> => (await messenger.conversation(bob.handle)).statuses[id]?.state
    await clock.tickAsync(MINUTE)
    assert.equal(await state(), 'relayed')
    await assert.rejects(messenger.resend(Buffer.from(id, 'hex')), { name: 'NotFailedError' })
    for (let m = 0; m < 61; m++) await clock.tickAsync(MINUTE)
    assert.equal(await state(), 'failed')
    assert.equal(messenger.delivery.size, 0)

    transport.relaysUp = false
    const first = new Set(transport.relay.map(r => r.envelope))
    const again = await messenger.resend(Buffer.from(id, 'hex'))
    assert.deepEqual(again, { id, handle: bob.handle, state: 'queued' })
    assert.equal(await state(), 'queued')
    transport.deviceUp = true
    messenger.reachable(bob.peerId)
    for (let i = 0; i < 20 && messenger.delivery.size > 0; i++) await clock.tickAsync(100)
    assert.equal(await state(), 'delivered')
    // The second attempt went out under a new envelope id (the first one expired).
    assert.equal(transport.delivered.size, 1)
    assert.ok(![...transport.delivered].some(e => first.has(e)), 'a new envelope id')
    await messenger.stop()
  })
})
