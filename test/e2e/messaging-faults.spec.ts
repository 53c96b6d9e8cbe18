/**
 * Delivery when things break, with real processes on loopback: a sender
 * killed (SIGKILL) in the middle of a burst, a relay killed while it holds
 * envelopes for an offline recipient, and a run with dropped, duplicated,
 * delayed and reordered envelopes, a recipient and a relay killed mid-run
 * and one clock an hour off (issue 4, item 7).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { FAST_DAEMON_ENV, Network, Processes, eventually, mapLimit, sharedView } from './harness.js'
import type { HistoryMessage, User } from './harness.js'

interface Sent { id: string, state: string }

/** Asserts that no id and no text appears twice. */
function once (history: HistoryMessage[], who: string): void {
  const ids = history.map(m => m.id)
  assert.equal(new Set(ids).size, ids.length, `${who}: a message id shown twice`)
  const texts = history.map(m => m.text)
  assert.equal(new Set(texts).size, texts.length, `${who}: a text shown twice`)
}

describe('e2e: delivery under faults', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)

  afterEach(async function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
    const crashed = net.crashed()
    await procs.stopAll()
    assert.deepEqual(crashed, [], 'no relay or daemon crashed')
  })

  /** Waits until both histories hold `ids`, each delivered to its sender; returns both. */
  async function allDelivered (a: User, b: User, ids: Set<string>, timeoutMs = 90_000): Promise<[HistoryMessage[], HistoryMessage[]]> {
    let last = ''
    try {
      return await eventually(async () => {
        const [ha, hb] = await Promise.all([net.history(a, b), net.history(b, a)])
        const missingA = [...ids].filter(id => ha.find(m => m.id === id) == null).length
        const missingB = [...ids].filter(id => hb.find(m => m.id === id) == null).length
        const undelivered = [...ha, ...hb].filter(m => ids.has(m.id) && m.sendState != null && m.sendState !== 'delivered').length
        last = `${missingA} missing on ${a.name}'s side, ${missingB} on ${b.name}'s, ${undelivered} not delivered`
        return missingA === 0 && missingB === 0 && undelivered === 0 ? [ha, hb] : undefined
      }, timeoutMs, `${ids.size} messages on both sides, delivered`)
    } catch (err) {
      throw new Error(`${(err as Error).message} (${last})`, { cause: err })
    }
  }

  it('sender killed mid-burst: every send the API acknowledged is delivered exactly once after its restart', async () => {
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    let aliceDaemon = await net.startDaemon(alice, [relay.addr])
    await net.startDaemon(bob, [relay.addr])
    await net.befriend(alice, bob)
    const texts = Array.from({ length: 400 }, (_, i) => `burst ${i} ${randomBytes(4).toString('hex')}`)
    const acknowledged = new Map<string, string>()
    let failed = 0
    let killed: Promise<void> | undefined
    await mapLimit(texts, 8, async (text) => {
      if (killed != null) return
      try {
        const r = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text })
        assert.equal(r.state, 'queued')
        acknowledged.set(r.id, text)
      } catch {
        failed++
        return
      }
      if (acknowledged.size === 120 && killed == null) killed = procs.stop(aliceDaemon, 'SIGKILL')
    })
    await killed
    assert.ok(acknowledged.size >= 120, `${acknowledged.size} acknowledged before the kill`)
    assert.ok(acknowledged.size < texts.length, 'the kill came in the middle of the burst')

    aliceDaemon = await net.startDaemon(alice, [relay.addr])
    const [ha, hb] = await allDelivered(alice, bob, new Set(acknowledged.keys()))
    for (const [id, text] of acknowledged) assert.equal(hb.find(m => m.id === id)?.text, text)
    once(ha, 'alice')
    once(hb, 'bob')
    // What alice stored but had not acknowledged when she died is delivered too:
    // both sides end with the same conversation.
    const [fa, fb] = await allDelivered(alice, bob, new Set(ha.map(m => m.id)))
    assert.deepEqual(sharedView(fa), sharedView(fb))
    assert.ok(fa.length >= acknowledged.size && fa.length <= acknowledged.size + 8 + failed, `${fa.length} stored`)
    console.log(`      ${acknowledged.size} sends acknowledged before SIGKILL, ${fa.length - acknowledged.size} more stored without an answer, ${failed} refused`)
  })

  it('relay killed while holding envelopes for an offline recipient: they are delivered after its restart', async () => {
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, [relay.addr])
    const bobDaemon = await net.startDaemon(bob, [relay.addr])
    await procs.stop(bobDaemon)
    const ids: string[] = []
    for (let i = 0; i < 20; i++) ids.push((await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: `held ${i}` })).id)
    await eventually(async () => {
      const h = await net.history(alice, bob)
      return ids.every(id => h.find(m => m.id === id)?.sendState === 'relayed') ? true : undefined
    }, 30_000, 'all held by the relay')

    await procs.stop(relay.relay, 'SIGKILL')
    const again = await net.restartRelay(relay)
    assert.equal(again.addr, relay.addr)
    await net.startDaemon(bob, [relay.addr])
    const [ha, hb] = await allDelivered(alice, bob, new Set(ids))
    assert.deepEqual(hb.map(m => m.id), ids)
    assert.deepEqual(hb.map(m => m.text), ids.map((_, i) => `held ${i}`))
    assert.deepEqual(sharedView(ha), sharedView(hb))
  })

  it('acknowledgements lost after the recipient stored the message: the copies the sender then hands to the relay bring the receipts', async () => {
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, [relay.addr], { ...FAST_DAEMON_ENV, STARLING_TEST_FAULTS: JSON.stringify({ lostAck: 1, seed: 3 }) })
    await net.startDaemon(bob, [relay.addr])
    const ids: string[] = []
    for (let i = 0; i < 5; i++) ids.push((await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: `ack lost ${i}` })).id)
    const [ha, hb] = await allDelivered(alice, bob, new Set(ids), 30_000)
    assert.deepEqual(hb.map(m => m.id), ids)
    once(hb, 'bob')
    assert.deepEqual(sharedView(ha), sharedView(hb))
  })

  it('a receipt to a contact that cannot be sent yet (the sender\'s record expired while it was away) is sent once the sender is back', async () => {
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    const shortLived = ['--record-lifetime', '3']
    const aliceDaemon = await net.startDaemon(alice, [relay.addr], FAST_DAEMON_ENV, shortLived)
    const bobDaemon = await net.startDaemon(bob, [relay.addr])
    const hello = (await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'hello' })).id
    const hi = (await net.call<Sent>(bob, 'send', { handle: alice.name, confirm: true, text: 'hi' })).id
    await allDelivered(alice, bob, new Set([hello, hi]), 30_000)
    await procs.stop(bobDaemon)
    const ids: string[] = []
    for (let i = 0; i < 3; i++) ids.push((await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: `while bob is away ${i}` })).id)
    await eventually(async () => {
      const h = await net.history(alice, bob)
      return ids.every(id => h.find(m => m.id === id)?.sendState === 'relayed') ? true : undefined
    }, 30_000, 'held by the relay')
    await procs.stop(aliceDaemon)
    // Alice's records expire; bob comes back and reads his mailbox, but has
    // no current record of alice's device to send the receipt to.
    await new Promise(resolve => setTimeout(resolve, 4_000))
    await net.startDaemon(bob, [relay.addr])
    await eventually(async () => (await net.history(bob, alice)).length === 5 ? true : undefined, 30_000, 'bob read his mailbox')
    await new Promise(resolve => setTimeout(resolve, 2_000))
    await net.startDaemon(alice, [relay.addr], FAST_DAEMON_ENV, shortLived)
    const [ha, hb] = await allDelivered(alice, bob, new Set(ids), 30_000)
    once(hb, 'bob')
    assert.deepEqual(sharedView(ha), sharedView(hb))
  })

  it('dropped, duplicated, delayed and reordered envelopes, a recipient and a relay killed mid-run, a clock an hour ahead: nothing lost, nothing twice, one order', async function () {
    this.timeout(300_000)
    const faults = (seed: number): Record<string, string> => ({
      ...FAST_DAEMON_ENV,
      STARLING_TEST_FAULTS: JSON.stringify({ drop: 0.2, duplicate: 0.2, delayMs: 50, lostAck: 0.1, seed })
    })
    const aliceEnv = faults(1)
    const bobEnv = { ...faults(2), STARLING_TEST_CLOCK_SKEW_MS: String(60 * 60_000) }
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, [relay.addr], aliceEnv)
    const bobDaemon = await net.startDaemon(bob, [relay.addr], bobEnv)
    const ids = new Set<string>()
    const refused: string[] = []
    let n = 0
    /** `count` sends, 4 at a time; with `mayFail`, a refused send is noted (nothing may be stored for it). */
    const burst = async (from: User, to: User, count: number, mayFail = false): Promise<void> => {
      await mapLimit(Array.from({ length: count }, () => n++), 4, async (i) => {
        const text = `${from.name} ${i}`
        try {
          ids.add((await net.call<Sent>(from, 'send', { handle: to.name, confirm: true, text })).id)
        } catch (err) {
          if (!mayFail) throw err
          refused.push(text)
        }
      })
    }
    await Promise.all([burst(alice, bob, 15), burst(bob, alice, 15)])

    // The recipient dies without warning; messages pile up for it.
    await procs.stop(bobDaemon, 'SIGKILL')
    await burst(alice, bob, 15)
    await net.startDaemon(bob, [relay.addr], bobEnv)
    await Promise.all([burst(alice, bob, 10), burst(bob, alice, 10)])

    // The relay dies without warning and comes back. It is also the only DHT
    // server: while it is down, handles do not resolve and sends may be
    // refused (the API says so; nothing is stored for them).
    await procs.stop(relay.relay, 'SIGKILL')
    await Promise.all([burst(alice, bob, 10, true), burst(bob, alice, 10, true)])
    await net.restartRelay(relay)
    for (const [from, to] of [[alice, bob], [bob, alice]]) {
      await eventually(async () => (await net.call(from, 'resolve', { handle: to.name })) != null ? true : undefined, 60_000, `${from.name} resolves ${to.name} again`)
    }
    await Promise.all([burst(alice, bob, 5), burst(bob, alice, 5)])
    assert.equal(ids.size + refused.length, 95, `${ids.size} sent, ${refused.length} refused, ${n} tried`)

    const [ha, hb] = await allDelivered(alice, bob, ids, 150_000)
    once(ha, 'alice')
    once(hb, 'bob')
    assert.equal(ha.length, ids.size)
    for (const text of refused) assert.ok(![...ha, ...hb].some(m => m.text === text), `refused "${text}" was not stored`)
    console.log(`      ${ids.size} messages delivered, ${refused.length} sends refused while the relay (the only DHT server) was down`)
    assert.deepEqual(sharedView(ha), sharedView(hb), 'the same conversation in the same order on both sides')
    // Each side's own messages keep the order in which they were sent.
    for (const who of [alice, bob]) {
      const own = ha.filter(m => m.text?.startsWith(`${who.name} `) === true).map(m => m.lamport)
      assert.deepEqual(own, [...own].sort((x, y) => x - y))
    }
    // Bob's clock is an hour ahead: his timestamps show it, the order does not depend on it.
    const bobs = hb.filter(m => m.text?.startsWith('bob ') === true)
    assert.ok(bobs.every(m => m.timestamp > Date.now() + 30 * 60_000), 'bob\'s skewed clock is used for his messages')
  })
})
