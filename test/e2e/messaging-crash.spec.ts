/**
 * Crashes in the middle of traffic, and two people writing first at the same
 * moment, with real processes on loopback: a recipient killed (SIGKILL)
 * while a burst arrives, a relay killed while envelopes are being handed to
 * it, and simultaneous first messages from both sides (two sessions started
 * at once, which both sides must settle).
 */
import assert from 'node:assert/strict'
import { Network, Processes, eventually, mapLimit, sharedView } from './harness.js'
import type { HistoryMessage, User } from './harness.js'

interface Sent { id: string, state: string }

describe('e2e: crashes during traffic, simultaneous first messages', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
    const crashed = net.crashed()
    await procs.stopAll()
    assert.deepEqual(crashed, [], 'no relay or daemon crashed')
  })

  /** Both histories once each of `ids` is on both sides and delivered. */
  async function delivered (a: User, b: User, ids: string[], timeoutMs = 90_000): Promise<[HistoryMessage[], HistoryMessage[]]> {
    let last = ''
    return eventually(async () => {
      const [ha, hb] = await Promise.all([net.history(a, b), net.history(b, a)])
      const byA = new Map(ha.map(m => [m.id, m]))
      const byB = new Map(hb.map(m => [m.id, m]))
      const missing = ids.filter(id => !byA.has(id) || !byB.has(id)).length
      const pending = ids.filter(id => (byA.get(id)?.sendState ?? byB.get(id)?.sendState) !== 'delivered').length
      last = `${missing} missing, ${pending} not delivered`
      return missing === 0 && pending === 0 ? [ha, hb] as [HistoryMessage[], HistoryMessage[]] : undefined
    }, timeoutMs, `${ids.length} messages delivered`).catch((err: Error) => { throw new Error(`${err.message} (${last})`, { cause: err }) })
  }

  function assertOnce (history: HistoryMessage[], who: string): void {
    assert.equal(new Set(history.map(m => m.id)).size, history.length, `${who}: an id twice`)
    assert.equal(new Set(history.map(m => m.text)).size, history.length, `${who}: a text twice`)
  }

  it('recipient killed while a burst arrives: after its restart every message is there once, in order, and delivered', async () => {
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, [relay.addr])
    const bobDaemon = await net.startDaemon(bob, [relay.addr])
    await net.befriend(alice, bob)
    const ids: string[] = []
    let killed: Promise<void> | undefined
    for (let i = 0; i < 300; i++) {
      ids.push((await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: `incoming ${i}` })).id)
      if (i === 60) {
        // Kill bob once some of the burst has arrived, while the rest is in flight.
        await eventually(async () => (await net.history(bob, alice)).length > 20 ? true : undefined, 30_000, 'the burst arriving')
        killed = procs.stop(bobDaemon, 'SIGKILL')
      }
    }
    await killed
    await net.startDaemon(bob, [relay.addr])
    const [ha, hb] = await delivered(alice, bob, ids)
    assertOnce(hb, 'bob')
    assert.deepEqual(hb.map(m => m.id), ids, 'in the order sent')
    assert.deepEqual(sharedView(ha), sharedView(hb))
  })

  it('relay killed while envelopes are being handed to it: after its restart everything reaches the offline recipient once', async () => {
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, [relay.addr])
    const bobDaemon = await net.startDaemon(bob, [relay.addr])
    await net.befriend(alice, bob)
    await procs.stop(bobDaemon)
    const ids: string[] = []
    for (let i = 0; i < 150; i++) {
      ids.push((await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: `while the relay dies ${i}` })).id)
      if (i === 50) await procs.stop(relay.relay, 'SIGKILL')
      if (i === 100) await net.restartRelay(relay)
    }
    await net.startDaemon(bob, [relay.addr])
    const [ha, hb] = await delivered(alice, bob, ids)
    assertOnce(hb, 'bob')
    assert.deepEqual(hb.map(m => m.id), ids)
    assert.deepEqual(sharedView(ha), sharedView(hb))
  })

  it('two relays: envelopes are held by both; with one of them killed, the other still delivers them, once', async () => {
    const [r1, r2] = await Promise.all([net.startRelay(), net.startRelay()])
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, [r1.addr, r2.addr])
    const bobDaemon = await net.startDaemon(bob, [r1.addr, r2.addr])
    await procs.stop(bobDaemon)
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push((await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: `twice held ${i}` })).id)
    await eventually(async () => {
      const h = await net.history(alice, bob)
      return ids.every(id => { const m = h.find(x => x.id === id); return m?.sendState === 'relayed' && m.relays === 2 }) ? true : undefined
    }, 30_000, 'each held by 2 relays')
    const held = await procs.cli(['history', bob.name, '--limit', '1', '--data', alice.dir])
    assert.match(held.stdout, /\[held by 2 relays\]/)
    await procs.stop(r1.relay, 'SIGKILL')
    await net.startDaemon(bob, [r1.addr, r2.addr])
    const [ha, hb] = await delivered(alice, bob, ids)
    assertOnce(hb, 'bob')
    assert.deepEqual(hb.map(m => m.id), ids)
    assert.deepEqual(sharedView(ha), sharedView(hb))
    // The first relay comes back with its copies: they are recognised, not shown again.
    await net.restartRelay(r1)
    await eventually(async () => {
      const s = await net.call<{ reservations: Array<{ reserved: boolean }> }>(bob, 'status')
      return s.reservations.length === 2 && s.reservations.every(r => r.reserved) ? true : undefined
    }, 30_000, 'bob back on both relays')
    // A few mailbox reads (every second here) later:
    await new Promise(resolve => setTimeout(resolve, 3_000))
    const again = await net.history(bob, alice)
    assertOnce(again, 'bob')
    assert.equal(again.length, 20)
  })

  it('both write first at the same moment, many messages each: both sessions settle, nothing lost, one order', async () => {
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await Promise.all([net.startDaemon(alice, [relay.addr]), net.startDaemon(bob, [relay.addr])])
    const ids: string[] = []
    const burst = async (from: User, to: User): Promise<void> => {
      await mapLimit(Array.from({ length: 30 }, (_, i) => i), 3, async (i) => {
        ids.push((await net.call<Sent>(from, 'send', { handle: to.name, confirm: true, text: `${from.name} first ${i}` })).id)
      })
    }
    await Promise.all([burst(alice, bob), burst(bob, alice)])
    const [ha, hb] = await delivered(alice, bob, ids)
    assertOnce(ha, 'alice')
    assert.equal(ha.length, 60)
    assert.deepEqual(sharedView(ha), sharedView(hb))
    // The sessions keep working afterwards, both ways.
    const more = [
      (await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'after the race, from alice' })).id,
      (await net.call<Sent>(bob, 'send', { handle: alice.name, confirm: true, text: 'after the race, from bob' })).id
    ]
    await delivered(alice, bob, more, 30_000)
  })
})
