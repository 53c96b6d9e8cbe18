/**
 * Direct messages between daemons, with a relay and the daemons as separate
 * processes on loopback: online delivery both ways, 200 messages to an
 * offline recipient, replies, reactions, edits and deletes, and bad input
 * (issue 4, item 7).
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Network, Processes, eventually, sharedView } from './harness.js'
import type { CliResult, HistoryMessage, RelayProcess, Running, User } from './harness.js'

interface Sent { id: string, handle: string, state: string }

function oneLine (r: CliResult): string {
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `expected one line on stderr, got: ${r.stderr}`)
  assert.equal(r.stdout, '', 'nothing on stdout for an error')
  return lines[0]
}

describe('e2e: direct messages', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const net = new Network(procs)
  let relay: RelayProcess
  let alice: User
  let bob: User
  let bobDaemon: Running

  before(async () => {
    relay = await net.startRelay()
    ;[alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    ;[, bobDaemon] = await Promise.all([net.startDaemon(alice, [relay.addr]), net.startDaemon(bob, [relay.addr])])
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
    assert.deepEqual(net.crashed(), [], 'no relay or daemon crashed')
  })
  after(async () => procs.stopAll())

  async function cli (user: User, args: string[]): Promise<CliResult> {
    return procs.cli([...args, '--data', user.dir, '--json'])
  }

  /** Sends by bare name; --yes: each user confirms the other's name at first contact. */
  async function send (from: User, to: User, text: string, extra: string[] = []): Promise<string> {
    const r = await cli(from, ['send', to.name, text, '--yes', ...extra])
    assert.equal(r.code, 0, r.stderr)
    const sent = r.json[0] as unknown as Sent
    assert.equal(sent.handle, to.handle)
    assert.equal(sent.state, 'queued')
    return sent.id
  }

  /** Both histories once they hold `ids` and every one of `ids` is delivered to its sender. */
  async function settled (ids: string[]): Promise<[HistoryMessage[], HistoryMessage[]]> {
    return eventually(async () => {
      const [a, b] = await Promise.all([net.history(alice, bob), net.history(bob, alice)])
      for (const id of ids) {
        const ma = a.find(m => m.id === id)
        const mb = b.find(m => m.id === id)
        if (ma == null || mb == null) return undefined
        const mine = ma.sendState != null ? ma : mb
        if (mine.sendState !== 'delivered') return undefined
      }
      return [a, b]
    }, 60_000, `${ids.length} messages on both sides, delivered`)
  }

  it('online: messages both ways arrive, are delivered, and both histories are equal', async () => {
    const ids: string[] = []
    ids.push(await send(alice, bob, 'hello bob'))
    ids.push(await send(bob, alice, 'hi alice, héllo 👋'))
    ids.push(await send(alice, bob, 'how are you?'))
    ids.push(await send(bob, alice, 'fine'))
    const [a, b] = await settled(ids)
    assert.deepEqual(a.map(m => m.id), ids)
    assert.deepEqual(a.map(m => m.text), ['hello bob', 'hi alice, héllo 👋', 'how are you?', 'fine'])
    assert.deepEqual(sharedView(a), sharedView(b))
    // Each side sees its own messages with a send state, the other's without.
    for (const [mine, theirs] of [[a, b], [b, a]]) {
      for (const m of mine) {
        const own = theirs.find(x => x.id === m.id)
        assert.ok(own != null)
        assert.ok((m.sendState == null) !== (own.sendState == null), `exactly one side holds the send state of ${m.id}`)
      }
    }
    // The CLI's text output shows the state too.
    const h = await procs.cli(['history', bob.name, '--data', alice.dir])
    assert.equal(h.code, 0, h.stderr)
    assert.match(h.stdout, /you: hello bob \[delivered\]/)
    // Bob reads: alice's messages move on to "read", bob's stay "delivered".
    assert.deepEqual(await net.call(bob, 'read', { handle: alice.name }), { marked: 2 })
    await eventually(async () => {
      const states = (await net.history(alice, bob)).map(m => m.sendState ?? null)
      return states.join() === 'read,,read,' ? true : undefined
    }, 30_000, 'alice\'s messages read')
    assert.deepEqual((await net.history(bob, alice)).map(m => m.sendState ?? null), [null, 'delivered', null, 'delivered'])
    assert.deepEqual(await net.call(bob, 'read', { handle: alice.name }), { marked: 0 }, 'nothing left to mark')
  })

  it('a reply to an old message, reactions, an edit and a delete look the same on both sides', async () => {
    const first = await send(alice, bob, 'first')
    const second = await send(alice, bob, 'second')
    const third = await send(alice, bob, 'third')
    const reply = await send(bob, alice, 'answering the first', ['--reply-to', first])
    const family = '👨\u200D👩\u200D👧\u200D👦'
    const flag = '🇯🇵'
    const thumb = '👍🏽'
    for (const [user, id, emoji] of [[bob, first, family], [bob, second, flag], [alice, reply, thumb], [alice, first, thumb]] as Array<[User, string, string]>) {
      const r = await cli(user, ['react', user === bob ? alice.name : bob.name, id, emoji])
      assert.equal(r.code, 0, r.stderr)
    }
    const edited = await cli(alice, ['edit', bob.name, second, 'second, edited'])
    assert.equal(edited.code, 0, edited.stderr)
    const deleted = await cli(alice, ['delete', bob.name, third])
    assert.equal(deleted.code, 0, deleted.stderr)
    // Reactions, edits and deletes are messages too: wait until the other side applied them.
    const expect = (m: HistoryMessage[]): boolean => {
      const byId = new Map(m.map(x => [x.id, x]))
      return byId.get(second)?.text === 'second, edited' && byId.get(third)?.deleted === true &&
        byId.get(first)?.reactions.length === 2 && byId.get(second)?.reactions.length === 1 && byId.get(reply)?.reactions.length === 1
    }
    const [a, b] = await settled([first, second, third, reply])
    const [fa, fb] = await eventually(async () => {
      const both = await Promise.all([net.history(alice, bob), net.history(bob, alice)])
      return both.every(expect) ? both : undefined
    }, 30_000, 'reactions, edit and delete applied on both sides')
    assert.ok(a.length > 0 && b.length > 0)
    assert.deepEqual(sharedView(fa), sharedView(fb))
    // The CLI's `history --json` says the same on both sides.
    const [ja, jb] = await Promise.all([cli(alice, ['history', bob.name]), cli(bob, ['history', alice.name])])
    assert.equal(ja.code, 0, ja.stderr)
    assert.equal(jb.code, 0, jb.stderr)
    assert.deepEqual(sharedView(ja.json as unknown as HistoryMessage[]), sharedView(jb.json as unknown as HistoryMessage[]))
    assert.deepEqual(sharedView(ja.json as unknown as HistoryMessage[]), sharedView(fa))
    const view = new Map(sharedView(fa).map(m => [m.id as string, m]))
    assert.equal(view.get(reply)?.replyTo, first)
    assert.equal(view.get(reply)?.kind, 'reply')
    assert.deepEqual((view.get(first)?.reactions as Array<{ emoji: string }>).map(r => r.emoji).sort(), [family, thumb].sort())
    assert.deepEqual((view.get(second)?.reactions as Array<{ emoji: string }>).map(r => r.emoji), [flag])
    assert.deepEqual((view.get(reply)?.reactions as Array<{ emoji: string }>).map(r => r.emoji), [thumb])
    assert.equal(view.get(second)?.edited, true)
    assert.equal(view.get(second)?.text, 'second, edited')
    assert.equal(view.get(third)?.deleted, true)
    assert.equal(view.get(third)?.text, undefined)
    assert.equal(view.get(first)?.text, 'first')
    assert.equal(view.get(first)?.edited, false)
    // Taking a reaction back is seen on both sides too.
    const removed = await cli(bob, ['react', alice.name, first, family, '--remove'])
    assert.equal(removed.code, 0, removed.stderr)
    await eventually(async () => {
      const both = await Promise.all([net.history(alice, bob), net.history(bob, alice)])
      const emojis = both.map(h => h.find(m => m.id === first)?.reactions.map(r => r.emoji))
      return emojis.every(e => e?.length === 1 && e[0] === thumb) ? true : undefined
    }, 30_000, 'reaction removed on both sides')
  })

  it('bad input: one clear line, exit 2 for what the user typed wrong and 1 for what the daemon refused, nothing sent', async () => {
    const before = (await net.history(alice, bob)).length
    // 10,000 code points of an astral character (20,000 UTF-16 units) pass; 10,001 do not.
    const astral = '𝄞'
    const max = await cli(alice, ['send', bob.name, astral.repeat(10_000)])
    assert.equal(max.code, 0, max.stderr)
    const tooLong = await procs.cli(['send', bob.name, astral.repeat(10_001), '--data', alice.dir])
    assert.equal(tooLong.code, 2)
    assert.match(oneLine(tooLong), /10001 code points, at most 10000/)
    const tooLongJson = await cli(alice, ['send', bob.name, astral.repeat(10_001)])
    assert.equal(JSON.parse(oneLine(tooLongJson)).error, 'InvalidTextError')

    const target = (await net.history(alice, bob)).at(-1)?.id as string
    for (const emoji of ['1', '#', '\u2764', 'ok', '👍👍']) {
      const r = await cli(alice, ['react', bob.name, target, emoji])
      assert.equal(r.code, 2, `${JSON.stringify(emoji)}: ${r.stderr}`)
      const err = JSON.parse(oneLine(r)) as { error: string, message: string }
      assert.equal(err.error, 'InvalidEmojiError', JSON.stringify(emoji))
      assert.match(err.message, /exactly one RGI emoji/)
    }
    const heart = await cli(alice, ['react', bob.name, target, '\u2764\uFE0F'])
    assert.equal(heart.code, 0, `the fully-qualified heart is a valid reaction: ${heart.stderr}`)

    const unknownHandle = await procs.cli(['send', 'nobody_knows_me', 'hi', '--data', alice.dir])
    assert.equal(unknownHandle.code, 1)
    assert.match(oneLine(unknownHandle), /unknown handle nobody_knows_me/)

    const unknownId = randomBytes(16).toString('hex')
    for (const args of [['react', bob.name, unknownId, '👍'], ['send', bob.name, 're', '--reply-to', unknownId], ['edit', bob.name, unknownId, 'x'], ['delete', bob.name, unknownId]]) {
      const r = await procs.cli([...args, '--data', alice.dir])
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`)
      assert.match(oneLine(r), new RegExp(`no message ${unknownId}`))
    }
    const malformed = await procs.cli(['react', bob.name, 'not-an-id', '👍', '--data', alice.dir])
    assert.equal(malformed.code, 2)
    assert.match(oneLine(malformed), /hex digits/)
    // Someone else's message cannot be edited or deleted.
    const theirs = (await net.history(alice, bob)).find(m => m.sendState == null)
    assert.ok(theirs != null)
    const notMine = await procs.cli(['edit', bob.name, theirs.id, 'mine now', '--data', alice.dir])
    assert.equal(notMine.code, 1)
    assert.match(oneLine(notMine), /only the author/)

    // Only the 10,000-code-point message was added.
    await eventually(async () => (await net.history(bob, alice)).length === before + 1 ? true : undefined, 30_000, 'the long message on bob\'s side')
    const after = await net.history(alice, bob)
    assert.equal(after.length, before + 1)
    assert.equal([...(after.at(-1)?.text ?? '')].length, 10_000)
  })

  it('offline recipient: 200 messages arrive exactly once, in order, and all end delivered', async function () {
    this.timeout(240_000)
    await procs.stop(bobDaemon)
    const texts = Array.from({ length: 200 }, (_, i) => `offline ${i} ${randomBytes(4).toString('hex')}`)
    const ids: string[] = []
    const started = Date.now()
    // One at a time through the API: the send order is the order of the calls.
    for (const text of texts) {
      const r = await net.call<Sent>(alice, 'send', { handle: bob.name, confirm: true, text })
      assert.equal(r.state, 'queued')
      ids.push(r.id)
    }
    const sendMs = Date.now() - started
    assert.equal(new Set(ids).size, 200)
    // With bob away, every one is held by the relay.
    await eventually(async () => {
      const h = await net.history(alice, bob)
      const states = ids.map(id => h.find(m => m.id === id)?.sendState)
      return states.every(s => s === 'relayed') ? true : undefined
    }, 60_000, '200 messages held by the relay')
    const held = await procs.cli(['history', bob.name, '--limit', '1', '--data', alice.dir])
    assert.match(held.stdout, /\[held by 1 relay\]/)

    const caughtUp = Date.now()
    bobDaemon = await net.startDaemon(bob, [relay.addr])
    await eventually(async () => {
      const h = await net.history(alice, bob)
      return ids.every(id => h.find(m => m.id === id)?.sendState === 'delivered') ? true : undefined
    }, 120_000, '200 messages delivered')
    const deliveredMs = Date.now() - caughtUp
    const received = (await net.history(bob, alice)).filter(m => ids.includes(m.id))
    assert.equal(received.length, 200, 'each message exactly once')
    assert.deepEqual(received.map(m => m.id), ids, 'in the order they were sent')
    assert.deepEqual(received.map(m => m.text), texts)
    for (let i = 1; i < received.length; i++) assert.ok(received[i].lamport > received[i - 1].lamport)
    assert.deepEqual(sharedView(await net.history(alice, bob)), sharedView(await net.history(bob, alice)))
    console.log(`      200 sends through the API: ${sendMs} ms; all delivered ${deliveredMs} ms after bob's daemon was started`)
  })
})
