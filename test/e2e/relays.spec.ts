/**
 * Two relays peered with `starling relay --peer`: they form one DHT and one
 * mailbox gossip mesh, so users of different relays find and reach each
 * other, online and offline. Separate processes on loopback.
 */
import assert from 'node:assert/strict'
import { Network, Processes, eventually } from './harness.js'

interface Sent { id: string }

describe('e2e: peered relays', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const net = new Network(procs)
  after(async () => procs.stopAll())

  it('users of two peered relays resolve each other and talk, also while one is offline', async () => {
    const a = await net.startRelay()
    const bDir = await procs.tempDir('starling-relay-b-')
    const b = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--peer', a.addr, '--data', bDir])
    const bAddr = (b.ready.multiaddrs as string[])[0]
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await net.startDaemon(alice, [a.addr])
    let bobDaemon = await net.startDaemon(bob, [bAddr])

    // Bob published through relay B; alice, who only knows relay A, finds him.
    const r = await procs.cli(['resolve', 'bob', '--data', alice.dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((r.json[0] as { claims: Array<{ handle: string }> }).claims[0].handle, bob.handle)

    const first = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'across relays' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === first.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'delivered across relays')

    await procs.stop(bobDaemon)
    const away = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'while you were away' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === away.id)?.sendState === 'relayed' ? true : undefined, 30_000, 'held by relays')
    bobDaemon = await net.startDaemon(bob, [bAddr])
    await eventually(async () => (await net.history(bob, alice)).some(m => m.text === 'while you were away') ? true : undefined, 30_000, 'arrived at bob')
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === away.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'delivered')
    await procs.stop(bobDaemon)
  })
})
