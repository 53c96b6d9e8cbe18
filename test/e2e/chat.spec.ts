/**
 * `starling chat` driven through a real pseudo-terminal (util-linux `script`,
 * from Debian's essential bsdutils package), with a relay and two daemons as
 * separate processes on loopback.
 */
import assert from 'node:assert/strict'
import { Processes, eventually } from './harness.js'
import { Pty, SCREEN_TIMEOUT_MS } from './pty.js'
import { ApiClient } from '../../node/api/client.js'

interface HistoryLine {
  id: string
  text?: string
  kind: string
  replyTo?: { id: string }
  reactions: Array<{ emoji: string, by: string[] }>
  sendState?: string
}

describe('e2e: starling chat on a pseudo-terminal', function () {
  this.timeout(180_000)
  const procs = new Processes()
  const ptys: Pty[] = []
  let alice: string
  let bob: string
  after(async () => {
    for (const p of ptys) p.kill()
    await procs.stopAll()
  })

  async function newUser (handle: string): Promise<string> {
    const dir = await procs.tempDir(`starling-${handle}-`)
    const r = await procs.cli(['init', '--handle', handle, '--data', dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    return dir
  }

  async function published (dir: string): Promise<void> {
    await eventually(async () => {
      const r = await procs.cli(['status', '--data', dir, '--json'])
      return r.json[0]?.published != null ? true : undefined
    }, 30_000, `records of ${dir} published`)
  }

  async function history (dir: string, handle: string): Promise<HistoryLine[]> {
    const r = await procs.cli(['history', handle, '--data', dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    return r.json as unknown as HistoryLine[]
  }

  /** Sends by bare name; --yes: first contact through a bare name, confirmed. */
  async function send (dir: string, handle: string, text: string): Promise<string> {
    const r = await procs.cli(['send', handle, text, '--yes', '--data', dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    return r.json[0].id as string
  }

  function chat (dir: string, handle: string): Pty {
    const pty = Pty.start(['chat', handle, '--data', dir])
    ptys.push(pty)
    return pty
  }

  before(async () => {
    const relay = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', await procs.tempDir('starling-relay-')])
    const addr = (relay.ready.multiaddrs as string[])[0]
    alice = await newUser('alice')
    bob = await newUser('bob')
    for (const dir of [alice, bob]) await procs.start(['daemon', '--data', dir, '--bootstrap', addr, '--listen', '/ip4/127.0.0.1/tcp/0'])
    await Promise.all([published(alice), published(bob)])
  })

  it('sends typed lines, shows incoming messages live, reacts and replies by number, marks read, shows typing', async () => {
    await send(alice, 'bob', 'hello bob')
    await eventually(async () => (await history(bob, 'alice')).find(m => m.text === 'hello bob'), SCREEN_TIMEOUT_MS, 'hello bob at bob')
    const older = await send(bob, 'alice', 'an older message from bob')

    const pty = chat(alice, 'bob')
    await pty.waitFor(/#1 \d\d:\d\d you: hello bob/, 'own earlier message as #1')
    await pty.waitFor(/#2 \d\d:\d\d bob: an older message from bob/, "bob's earlier message as #2")

    // A typed line is sent: bob's daemon stores it; the screen shows it as #3 and its delivery.
    pty.type('typed in the chat\r')
    await eventually(async () => (await history(bob, 'alice')).find(m => m.text === 'typed in the chat'), SCREEN_TIMEOUT_MS, 'typed line at bob')
    await pty.waitFor(/#3 \d\d:\d\d you: typed in the chat/, 'typed line as #3')
    await pty.waitFor(/✓ (delivered|read) #3|#3 [^\n]*\[(delivered|read)\]/, 'delivery of #3 shown')

    // A message bob sends with `starling send` appears live, and the open chat marks it read.
    const live = await send(bob, 'alice', 'live from bob')
    await pty.waitFor(/#4 \d\d:\d\d bob: live from bob/, "bob's live message as #4")
    await eventually(async () => (await history(bob, 'alice')).find(m => m.id === live && m.sendState === 'read'), SCREEN_TIMEOUT_MS, 'live message read at bob')

    // React by number; bob sees the reaction.
    pty.type('/react 4 👍\r')
    await eventually(async () => {
      const m = (await history(bob, 'alice')).find(m => m.id === live)
      return m?.reactions.some(r => r.emoji === '👍') === true ? true : undefined
    }, SCREEN_TIMEOUT_MS, 'reaction at bob')
    await pty.waitFor(/#4 [^\n]*live from bob\s+👍/, 'reaction on the screen')

    // Reply to an older message (#2, not the latest); bob sees the reply pointing at it.
    pty.type('/reply 2 answering your older message\r')
    const reply = await eventually(async () => (await history(bob, 'alice')).find(m => m.text === 'answering your older message'), SCREEN_TIMEOUT_MS, 'reply at bob')
    assert.equal(reply.kind, 'reply')
    assert.equal(reply.replyTo?.id, older)
    await pty.waitFor(/#5 \d\d:\d\d you: ↪ #2 answering your older message/, 'reply on the screen')

    // A daemon error is one line and the chat goes on.
    const before = pty.text.length
    pty.type('/react 4 not-an-emoji\r')
    await pty.waitFor(/! reaction must be exactly one RGI emoji/, 'emoji error line', before)
    pty.type('/react 9 👍\r')
    await pty.waitFor(/! no message #9/, 'unknown number error line', before)

    // Bob typing shows on alice's screen.
    const bobApi = await ApiClient.connect(bob)
    await bobApi.call('typing', { handle: 'alice', on: true })
    await pty.waitFor(/bob is typing/, 'typing indicator', before)

    pty.type('/quit\r')
    assert.equal(await pty.exit(), 0)
  })

  it('Ctrl-D and Ctrl-C leave the chat cleanly', async () => {
    for (const key of ['\x04', '\x03']) {
      const pty = chat(alice, 'bob')
      await pty.waitFor(/conversation with bob~/, 'chat open')
      await pty.waitFor(/you> /, 'prompt')
      pty.type(key)
      assert.equal(await pty.exit(), 0, `exit after ${JSON.stringify(key)}:\n${pty.text}`)
    }
  })
})
