/**
 * When a relay reconciles (src/relay/sync-service.ts), on a fake clock with
 * stub libp2p components and in-memory streams to the other relay's
 * responder: at start, when the linked relay connects, periodically with
 * jitter; an exchange a budget cut short goes on while it makes progress;
 * a linked relay that is down is tried on a backoff, never in a spin.
 */
import assert from 'node:assert/strict'
import * as FakeTimers from '@sinonjs/fake-timers'
import type { Connection, Libp2pEvents, PeerId, TypedEventTarget } from '@libp2p/interface'
import { RelaySync } from '../../../src/relay/index.js'
import { SETTLE_MS } from '../../../src/relay/sync-service.js'
import type { RelaySyncComponents } from '../../../src/relay/index.js'
import { fakeConnection, putMany, randomMailbox, responder, syncRelay } from '../protocols/relay-sync/helpers.js'
import type { SyncRelay } from '../protocols/relay-sync/helpers.js'

const MINUTE = 60_000

/** Components of `self` whose dials reach `other`'s responder while `up.value` is true. */
async function components (self: SyncRelay, other: SyncRelay, clock: { now(): number }, up: { value: boolean }): Promise<RelaySyncComponents & { dials: number, events: EventTarget }> {
  const { connect } = await responder(other, { t: 0, now: clock.now }, [self.peer])
  const events = new EventTarget()
  const c = {
    dials: 0,
    events: events as unknown as TypedEventTarget<Libp2pEvents> & EventTarget,
    registrar: { handle: async () => {}, unhandle: async () => {} },
    connectionManager: {
      openConnection: async (): Promise<Connection> => {
        c.dials++
        if (!up.value) throw new Error('connection refused')
        return {
          ...fakeConnection(other.peer),
          newStream: async () => (await connect(self.peer)).stream
        } as unknown as Connection
      }
    }
  }
  return c
}

function connected (events: EventTarget, peer: PeerId): void {
  events.dispatchEvent(new CustomEvent('peer:connect', { detail: peer }))
}

describe('relay/sync-service', function () {
  this.timeout(60_000)
  let timers: FakeTimers.Clock | undefined
  afterEach(() => { timers?.uninstall() })

  it('a linked relay that is down is tried on a backoff (never a spin); when it connects, the relay catches up at once, then every interval', async () => {
    timers = FakeTimers.install({ now: Date.now(), toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const clock = { t: 0, now: () => Date.now() }
    const a = await syncRelay(clock)
    const b = await syncRelay(clock)
    const mailbox = randomMailbox()
    await putMany([a], mailbox, 3)
    const up = { value: false }
    const c = await components(b, a, clock, up)
    const sync = new RelaySync(c, {
      store: b.store,
      relaySet: { has: (p) => p.toString() === a.peer.toString(), linked: [{ peerId: a.peer, addrs: [] }] },
      random: () => 0.5
    })
    await sync.start()
    sync.afterStart()

    // An hour down: 5 s, 10 s, 20 s ... doubling to the 3-minute interval.
    for (let m = 0; m < 60; m++) await timers.tickAsync(MINUTE)
    assert.ok(c.dials >= 15 && c.dials <= 30, `${c.dials} attempts in an hour`)
    assert.equal(sync.metrics().exchanges.failed, c.dials)
    assert.equal((await b.store.usage(mailbox)).count, 0)

    // It comes back and connects: an exchange at once, not at the end of the backoff.
    up.value = true
    const before = c.dials
    connected(c.events, a.peer)
    await timers.tickAsync(100)
    assert.equal(c.dials, before + 1)
    assert.equal((await b.store.usage(mailbox)).count, 3)
    assert.equal(sync.metrics().envelopes.reconciled, 3)

    // What A takes just after the link came up (before gossip reaches B) comes over SETTLE_MS later, not an interval later.
    await putMany([a], mailbox, 1)
    await timers.tickAsync(SETTLE_MS * 1.25 + 100)
    assert.equal(c.dials, before + 2)
    assert.equal((await b.store.usage(mailbox)).count, 4)

    // Then one exchange per interval (±25 %), quiet ones included.
    await putMany([a], mailbox, 2)
    for (let m = 0; m < 30; m++) await timers.tickAsync(MINUTE)
    const periodic = c.dials - before - 2
    assert.ok(periodic >= 8 && periodic <= 12, `${periodic} exchanges in 30 minutes`)
    assert.equal((await b.store.usage(mailbox)).count, 6)

    // A link that flaps (a connect every 100 ms for a minute) starts at most one exchange per 10 s.
    const flapping = c.dials
    for (let i = 0; i < 600; i++) {
      connected(c.events, a.peer)
      await timers.tickAsync(100)
    }
    assert.ok(c.dials - flapping <= 7, `${c.dials - flapping} exchanges for 600 connects in a minute`)

    // Connections of a peer that is not linked start nothing.
    const stranger = await syncRelay(clock)
    const dials = c.dials
    connected(c.events, stranger.peer)
    await timers.tickAsync(100)
    assert.equal(c.dials, dials)
    await sync.stop()
  })

  it('an exchange a budget cut short goes on while it makes progress', async () => {
    timers = FakeTimers.install({ now: Date.now(), toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const clock = { t: 0, now: () => Date.now() }
    const a = await syncRelay(clock)
    const b = await syncRelay(clock)
    const mailbox = randomMailbox()
    await putMany([a], mailbox, 35)
    const c = await components(b, a, clock, { value: true })
    const sync = new RelaySync(c, {
      store: b.store,
      relaySet: { has: (p) => p.toString() === a.peer.toString(), linked: [{ peerId: a.peer, addrs: [] }] },
      limits: { maxEnvelopes: 10 },
      random: () => 0.5
    })
    await sync.start()
    sync.afterStart()
    for (let s = 0; s < 10; s++) await timers.tickAsync(1000)
    assert.equal((await b.store.usage(mailbox)).count, 35)
    const m = sync.metrics()
    assert.equal(m.exchanges.incomplete, 3)
    assert.equal(m.exchanges.complete, 1)
    await sync.stop()
  })
})
