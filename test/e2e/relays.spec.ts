/**
 * Two relays linked with `starling relay --peer` (each lists the other):
 * they form one DHT and one mailbox gossip mesh, so users of different
 * relays find and reach each other, online and offline; each serves the
 * other, signed, as its relay set. Separate processes on loopback.
 */
import assert from 'node:assert/strict'
import { multiaddr } from '@multiformats/multiaddr'
import { fetchRelaySet } from '../../src/protocols/relays/index.js'
import { Network, Processes, eventually, startTestNode } from './harness.js'

interface Sent { id: string }

describe('e2e: peered relays', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const net = new Network(procs)
  after(async () => procs.stopAll())

  it('users of two peered relays resolve each other and talk, also while one is offline', async () => {
    const [a, b] = await net.startLinkedRelays(2)
    const bAddr = b.addr
    assert.deepEqual(b.relay.ready.linked, [a.addr.split('/p2p/')[1]])
    // A device reads B's relay set, signed by B: it names A, where to reach it.
    const reader = await startTestNode()
    try {
      const view = await fetchRelaySet(reader, multiaddr(b.addr))
      assert.equal(view.relay.toString(), b.addr.split('/p2p/')[1])
      assert.deepEqual(view.relays.map(r => r.addrs.map(String)), [[a.addr]])
    } finally {
      await reader.stop()
    }
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
