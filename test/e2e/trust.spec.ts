/**
 * Contacts are pinned on first contact. When the name a user writes to
 * resolves to another key later, sending is blocked with a safety warning
 * until the user compares safety numbers and trusts the new key.
 * Separate processes on loopback.
 */
import assert from 'node:assert/strict'
import { Network, Processes, eventually } from './harness.js'

describe('e2e: pinned contacts and key changes', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const net = new Network(procs)
  after(async () => procs.stopAll())

  it('a changed key for a pinned name blocks sending until `starling trust`', async () => {
    const relay = await net.startRelay()
    const alice = await net.newUser('alice')
    const oldBob = await net.newUser('bob')
    const aliceDaemon = await net.startDaemon(alice, [relay.addr])
    // The first bob publishes short-lived records, so that his claim is gone soon after he leaves.
    const oldBobDaemon = await net.startDaemon(oldBob, [relay.addr], undefined, ['--record-lifetime', '3'])
    // First contact through the bare name: confirmed (--yes), so "bob" is pinned to the first bob.
    assert.equal((await procs.cli(['send', 'bob', 'hello first bob', '--yes', '--data', alice.dir])).code, 0)
    await eventually(async () => (await net.history(oldBob, alice)).length === 1 ? true : undefined, 30_000, 'first bob got it')
    const before = await procs.cli(['safety-number', 'bob', '--data', alice.dir, '--json'])
    assert.equal(before.code, 0, before.stderr)

    // The first bob leaves; someone else claims "bob" with another key.
    await procs.stop(oldBobDaemon)
    await new Promise(resolve => setTimeout(resolve, 4_000))
    const newBob = await net.newUser('bob')
    assert.notEqual(newBob.handle, oldBob.handle)
    await net.startDaemon(newBob, [relay.addr])
    // Alice's daemon restarts, so nothing of the old resolution is cached in memory.
    await procs.stop(aliceDaemon)
    await net.startDaemon(alice, [relay.addr])

    const blocked = await procs.cli(['send', 'bob', 'are you still you?', '--data', alice.dir])
    assert.equal(blocked.code, 1)
    assert.equal(blocked.stderr.trim().split('\n').length, 1)
    assert.match(blocked.stderr, /safety warning/)
    assert.match(blocked.stderr, /starling trust bob/)
    // Still blocked on a second try, and nothing was sent.
    assert.equal((await procs.cli(['send', 'bob', 'again', '--data', alice.dir])).code, 1)
    assert.equal((await net.history(newBob, alice).catch(() => [])).length, 0)

    // The safety number with the new key differs; after trust, sending works.
    const after = await procs.cli(['safety-number', newBob.handle, '--data', alice.dir, '--json'])
    assert.equal(after.code, 0, after.stderr)
    assert.notEqual(after.json[0].digits, before.json[0].digits)
    assert.equal(String(after.json[0].digits).length, 60)
    const trusted = await procs.cli(['trust', 'bob', '--data', alice.dir, '--json'])
    assert.equal(trusted.code, 0, trusted.stderr)
    assert.equal(trusted.json[0].handle, newBob.handle)
    const sent = await procs.cli(['send', 'bob', 'nice to meet you', '--data', alice.dir])
    assert.equal(sent.code, 0, sent.stderr)
    await eventually(async () => (await net.history(newBob, alice)).some(m => m.text === 'nice to meet you') ? true : undefined, 30_000, 'the new bob got it')
    // The old conversation is still with the old key's account, untouched.
    assert.deepEqual((await net.history(alice, oldBob)).map(m => m.text), ['hello first bob'])
  })

  it('a stranger arrives as a request; once blocked, their messages are dropped and nothing can be sent to them', async () => {
    const relay = await net.startRelay()
    const dora = await net.newUser('dora')
    const eve = await net.newUser('eve')
    await net.startDaemon(dora, [relay.addr])
    await net.startDaemon(eve, [relay.addr])
    assert.equal((await procs.cli(['send', 'dora', 'hi, we have not met', '--yes', '--data', eve.dir])).code, 0)
    await eventually(async () => (await net.history(dora, eve)).length === 1 ? true : undefined, 30_000, 'the request at dora')
    const listed = await procs.cli(['contacts', '--data', dora.dir, '--json'])
    assert.deepEqual(listed.json.map(c => [c.handle, c.state]), [[eve.handle, 'request']])

    const blocked = await procs.cli(['contacts', '--block', eve.handle, '--data', dora.dir, '--json'])
    assert.equal(blocked.code, 0, blocked.stderr)
    assert.equal(blocked.json[0].state, 'blocked')
    const second = await net.call<{ id: string }>(eve, 'send', { handle: dora.name, text: 'hello? are you there?' })
    // Eve's device hears nothing that tells her she is blocked: the envelope is taken and dropped.
    await eventually(async () => (await net.history(eve, dora)).find(m => m.id === second.id)?.sendState === 'delivered' ? true : undefined, 30_000, 'taken by dora\'s device')
    assert.deepEqual((await net.history(dora, eve)).map(m => m.text), ['hi, we have not met'])
    const refused = await procs.cli(['send', eve.handle, 'go away', '--data', dora.dir])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /is blocked/)

    // Accepting again lets messages through.
    assert.equal((await procs.cli(['contacts', '--accept', eve.handle, '--data', dora.dir])).code, 0)
    assert.equal((await procs.cli(['send', 'dora', 'third time lucky', '--data', eve.dir])).code, 0)
    await eventually(async () => (await net.history(dora, eve)).some(m => m.text === 'third time lucky') ? true : undefined, 30_000, 'accepted again')
  })
})
