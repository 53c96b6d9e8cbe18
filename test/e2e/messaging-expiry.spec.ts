/**
 * A recipient offline for longer than its device record lives: people who
 * already talk to it can still send (their session and the recipient's
 * relays are known), and the messages reach it when it comes back.
 */
import assert from 'node:assert/strict'
import { FAST_DAEMON_ENV, Network, Processes, eventually } from './harness.js'

interface Sent { id: string, state: string }

describe('e2e: a recipient offline past its record lifetime', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const net = new Network(procs)
  after(async () => procs.stopAll())

  it('messages to a known contact whose record expired are held and delivered when it returns', async () => {
    const relay = await net.startRelay()
    const [alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    const short = { ...FAST_DAEMON_ENV }
    const aliceDaemon = await net.startDaemon(alice, [relay.addr])
    const bobDaemon = await procs.start(['daemon', '--data', bob.dir, '--listen', '/ip4/127.0.0.1/tcp/0', '--bootstrap', relay.addr, '--record-lifetime', '3'], short)
    await net.published(bob)
    const first = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'before' })
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === first.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'first delivered')
    await procs.stop(bobDaemon)
    // Alice restarts too (nothing cached in memory), and bob's record expires.
    await procs.stop(aliceDaemon)
    await new Promise(resolve => setTimeout(resolve, 4_000))
    await net.startDaemon(alice, [relay.addr])
    const r = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text: 'while you were away' }).catch((err: Error) => err)
    assert.ok(!(r instanceof Error), `send refused: ${(r as Error).message}`)
    // Held by bob's relay meanwhile, and delivered once he is back.
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === r.id)?.sendState === 'relayed' ? true : undefined, 30_000, 'held by the relay')
    await net.startDaemon(bob, [relay.addr])
    await eventually(async () => (await net.history(bob, alice)).some(m => m.text === 'while you were away') ? true : undefined, 30_000, 'arrived at bob')
    await eventually(async () => (await net.history(alice, bob)).find(m => m.id === r.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'delivered')
    // A handle nobody ever claimed is still unknown.
    await assert.rejects(net.call(alice, 'send', { handle: 'nobody_ever', text: 'x' }), /unknown handle/)
  })
})
