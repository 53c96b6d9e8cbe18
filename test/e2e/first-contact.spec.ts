/**
 * Issue 9, item 2 (a): a first contact through a bare name never pins
 * silently. A DHT cannot say who claimed a name first: here mallory claims
 * "alice" before the real alice shows up, and before the fix `send alice`
 * pinned mallory's account without a word. Now `send`/`chat` to a bare name
 * that is not a contact yet refuse, printing the name~tag and fingerprint it
 * resolves to, unless `--yes`; a pinned name keeps working without it.
 * Separate processes (relay, daemons, CLI) on loopback.
 */
import assert from 'node:assert/strict'
import { Network, Processes, eventually } from './harness.js'
import type { User } from './harness.js'

describe('e2e: first contact through a bare name', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const net = new Network(procs)
  let bob: User
  let mallory: User
  let carol: User

  before(async () => {
    const relay = await net.startRelay()
    bob = await net.newUser('bob')
    mallory = await net.newUser('alice')
    carol = await net.newUser('carol')
    for (const u of [bob, mallory, carol]) await net.startDaemon(u, [relay.addr])
  })

  after(async () => procs.stopAll())

  async function contacts (user: User): Promise<Array<{ handle: string }>> {
    return net.call<Array<{ handle: string }>>(user, 'contacts')
  }

  it('`send alice` to a name that is not a contact refuses with the name~tag and fingerprint, and pins and sends nothing', async () => {
    const r = await procs.cli(['send', 'alice', 'hello alice', '--data', bob.dir])
    assert.equal(r.code, 1, r.stdout)
    const lines = r.stderr.trim().split('\n')
    assert.equal(lines.length, 1, r.stderr)
    process.stdout.write(`      ${lines[0]}\n`)
    assert.ok(lines[0].includes(mallory.handle), `the line names the handle it resolved to: ${lines[0]}`)
    assert.ok(lines[0].includes(mallory.fingerprint), `the line shows the fingerprint: ${lines[0]}`)
    assert.match(lines[0], /--yes/)
    const json = await procs.cli(['send', 'alice', 'hello alice', '--data', bob.dir, '--json'])
    assert.equal(json.code, 1)
    assert.equal(JSON.parse(json.stderr).error, 'UnconfirmedHandleError')
    assert.deepEqual(await contacts(bob), [], 'nothing pinned')
    assert.deepEqual(await net.history(mallory, bob).catch(() => []), [], 'nothing sent')
    // The API refuses in the same way (the web app shows its confirmation screen on this error).
    await assert.rejects(net.call(bob, 'send', { handle: 'alice', text: 'x' }), { name: 'UnconfirmedHandleError' })
    await assert.rejects(net.call(bob, 'read', { handle: 'alice' }), { name: 'UnconfirmedHandleError' })
  })

  it('`chat alice` refuses in the same way', async () => {
    const r = await procs.cli(['chat', 'alice', '--data', bob.dir])
    assert.equal(r.code, 1, r.stdout)
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr)
    assert.ok(r.stderr.includes(mallory.handle) && r.stderr.includes(mallory.fingerprint), r.stderr)
    assert.deepEqual(await contacts(bob), [])
  })

  it('the full name~tag needs no confirmation', async () => {
    const r = await procs.cli(['send', carol.handle, 'hi carol', '--data', bob.dir])
    assert.equal(r.code, 0, r.stderr)
    await eventually(async () => (await net.history(carol, bob)).some(m => m.text === 'hi carol') ? true : undefined, 30_000, 'carol got it')
  })

  it('with --yes the name is pinned to what it resolved to, and then works without --yes', async () => {
    const first = await procs.cli(['send', 'alice', 'hello, whoever you are', '--yes', '--data', bob.dir, '--json'])
    assert.equal(first.code, 0, first.stderr)
    assert.equal(first.json[0].handle, mallory.handle)
    const again = await procs.cli(['send', 'alice', 'again', '--data', bob.dir])
    assert.equal(again.code, 0, again.stderr)
    await eventually(async () => (await net.history(mallory, bob)).length === 2 ? true : undefined, 30_000, 'both arrived')
    assert.ok((await contacts(bob)).some(c => c.handle === mallory.handle))
  })

  it('opening a conversation (chat) with confirmation pins a bare name; without it, the API refuses', async () => {
    await assert.rejects(net.call(carol, 'open', { handle: 'bob' }), { name: 'UnconfirmedHandleError' })
    const opened = await net.call<{ handle: string }>(carol, 'open', { handle: 'bob', confirm: true })
    assert.equal(opened.handle, bob.handle)
    assert.deepEqual(await net.call(carol, 'open', { handle: 'bob' }), { handle: 'bob' }, 'a pinned name opens without confirmation')
  })
})
