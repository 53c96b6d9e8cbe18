/**
 * Issue 9, item 6: nothing from a peer can rewrite your terminal. A contact
 * sends a message full of terminal control sequences (erase the line and
 * return to its start, an OSC 52 clipboard write, a C1 CSI, a right-to-left
 * override, DEL, and line breaks that start a fake message line) and a file
 * whose name hides its extension behind an RLO. Every human-readable output
 * (`history`, `receive` and `chat` on a real pseudo-terminal, `attachment`)
 * must show those characters visibly and write none of them; `--json` must
 * carry them exactly. A relay and both daemons are separate processes.
 */
import assert from 'node:assert/strict'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Network, Processes, eventually } from './harness.js'
import type { RelayProcess, User } from './harness.js'
import { Pty } from './pty.js'

/** What the attacker puts into a message, one attack after the other. */
const ATTACK = [
  '\x1b[2K\r', // erase the line, back to its start
  '\x1b]52;c;ZXZpbA==\x07', // OSC 52: write "evil" to the clipboard
  '\x9b31m', // C1 CSI (U+009B): red text, without an ESC
  '\u202eevil\u202c', // right-to-left override, then pop
  '\x7f', // DEL
  '\r\n#9 12:00 alice: trust me', // a line that looks like another message
  '\nbye'
].join('')

/** How the CLI must show ATTACK: written out by hand, character by character. */
const SHOWN = [
  '^[[2K^M',
  '^[]52;c;ZXZpbA==^G',
  '<U+009B>31m',
  '<U+202E>evil<U+202C>',
  '^?',
  '⏎#9 12:00 alice: trust me',
  '⏎bye'
].join('')

/** Ordinary Unicode that must come through untouched: a ZWJ family, CJK, a tag-sequence flag, a skin tone. */
const ORDINARY = '👨‍👩‍👧 你好 🏴󠁧󠁢󠁳󠁣󠁴󠁿 👍🏽'

const OPEN = '{{'
const CLOSE = '}}'
const TEXT = `${OPEN}${ATTACK}${CLOSE} ${ORDINARY}`
const LIVE_TEXT = `live${OPEN}${ATTACK}${CLOSE} ${ORDINARY}`
/** A file name that reads as "reportexe.pdf" on a terminal that honours the override. */
const FILE_NAME = 'report\u202efdp.exe'

/**
 * Characters a terminal interprets (besides TAB and the line feed that ends
 * each line): C0, DEL, C1 and the bidi and line-separator controls.
 */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g

/** The control characters in `s`, as U+XXXX, for a readable failure. */
function controlsIn (s: string): string[] {
  return [...s.matchAll(CONTROL)].map(m => 'U+' + m[0].charCodeAt(0).toString(16).padStart(4, '0'))
}

/** The text between the first OPEN at or after `from` and the next CLOSE. */
function between (s: string, from = 0): string {
  const start = s.indexOf(OPEN, from)
  const end = s.indexOf(CLOSE, start + OPEN.length)
  assert.ok(start >= 0 && end > start, `no ${OPEN}...${CLOSE} after position ${from} in ${JSON.stringify(s)}`)
  return s.slice(start + OPEN.length, end)
}

/** A pseudo-terminal's output without the CR that the terminal's own newline translation (ONLCR) adds. */
function withoutTtyNewlines (raw: string): string {
  return raw.replace(/\r\n/g, '\n')
}

describe('e2e: text from a peer never drives the terminal (issue 9, item 6)', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)
  const ptys: Pty[] = []
  let relay: RelayProcess
  let alice: User
  let bob: User
  let sentId: string
  let attachmentId: string
  let receive: Pty
  let receiveJson: Pty

  function pty (args: string[]): Pty {
    const p = Pty.start(args)
    ptys.push(p)
    return p
  }

  before(async () => {
    relay = await net.startRelay()
    ;[alice, bob] = await Promise.all([net.newUser('alice'), net.newUser('bob')])
    await Promise.all([net.startDaemon(alice, [relay.addr]), net.startDaemon(bob, [relay.addr])])
    // Alice writes first, so bob is her contact (not a message request): his attachments are fetched.
    const hi = await net.call<{ id: string }>(alice, 'send', { handle: bob.handle, text: 'hi bob' })
    await eventually(async () => (await net.history(bob, alice)).find(m => m.id === hi.id), 60_000, 'first message at bob')

    // Alice follows her messages on a terminal, as text and as JSON, before bob's arrive.
    receive = pty(['receive', '--follow', '--data', alice.dir])
    receiveJson = pty(['receive', '--follow', '--json', '--data', alice.dir])
    await receive.waitFor(/waiting for messages/, 'receive ready')
    await receiveJson.waitFor(/"event":"ready"/, 'receive --json ready')

    // Bob's attack: the message, and a file whose name hides its extension.
    const file = join(bob.dir, FILE_NAME)
    await writeFile(file, 'not really a pdf')
    sentId = (await net.call<{ id: string }>(bob, 'send', { handle: alice.handle, text: TEXT })).id
    await net.call(bob, 'send', { handle: alice.handle, attachments: [file] })
    const history = await eventually(async () => {
      const h = await net.history(alice, bob)
      return h.some(m => m.id === sentId) && h.some(m => m.kind === 'attachment') ? h : undefined
    }, 60_000, 'the message and the attachment at alice')
    // The daemon keeps exactly what the peer sent: showing it safely is the CLI's job.
    assert.equal(history.find(m => m.id === sentId)?.text, TEXT)
    attachmentId = history.find(m => m.kind === 'attachment')?.attachmentState?.id ?? ''
    assert.notEqual(attachmentId, '', 'attachment id in history')
  })
  afterEach(function () {
    if (this.currentTest?.state === 'failed') console.log(net.describe())
    assert.deepEqual(net.crashed(), [], 'no relay or daemon crashed')
  })
  after(async () => {
    for (const p of ptys) p.kill()
    await procs.stopAll()
  })

  it('history shows control characters visibly, on one line, ordinary Unicode intact', async () => {
    const r = await procs.cli(['history', bob.handle, '--data', alice.dir])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(controlsIn(r.stdout), [], 'no control character on stdout of history')
    assert.equal(between(r.stdout), SHOWN)
    assert.ok(r.stdout.includes(`${CLOSE} ${ORDINARY}`), `ordinary Unicode intact in ${r.stdout}`)
    const lines = r.stdout.split('\n').filter(l => l.includes(OPEN))
    assert.equal(lines.length, 1, 'the message is one line: it cannot start a line of its own')
  })

  it('history --json carries the text exactly, as \\u escapes (no raw control character)', async () => {
    const r = await procs.cli(['history', bob.handle, '--data', alice.dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(controlsIn(r.stdout.replace(/\n/g, '')), [], 'no raw control character in --json output')
    assert.equal(r.json.find(m => m.id === sentId)?.text, TEXT)
  })

  it('receive on a terminal shows them visibly', async () => {
    await receive.waitForRaw(CLOSE, 'the message in receive')
    assert.deepEqual(controlsIn(withoutTtyNewlines(receive.raw)), [], 'no control character written by receive')
    assert.equal(between(receive.raw), SHOWN)
    assert.ok(receive.raw.includes(ORDINARY))
    receive.type('\x03')
    assert.equal(await receive.exit(), 0)
  })

  it('receive --json on a terminal carries the text exactly', async () => {
    await receiveJson.waitForRaw(`"id":"${sentId}"`, 'the message in receive --json')
    assert.deepEqual(controlsIn(withoutTtyNewlines(receiveJson.raw)), [], 'no control character written by receive --json')
    const events = receiveJson.raw.split('\r\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, unknown>)
    assert.equal(events.find(e => e.id === sentId)?.text, TEXT)
    receiveJson.type('\x03')
    assert.equal(await receiveJson.exit(), 0)
  })

  it('attachment shows the override in the file name', async () => {
    const r = await procs.cli(['attachment', attachmentId, '--data', alice.dir])
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(controlsIn(r.stdout), [], 'no control character on stdout of attachment')
    assert.ok(r.stdout.startsWith('report<U+202E>fdp.exe '), r.stdout)
  })

  it('chat on a terminal shows them visibly, in the history it opens with and in a message arriving live', async () => {
    const chat = pty(['chat', bob.handle, '--data', alice.dir])
    await chat.waitForRaw(CLOSE, 'the message in the chat')
    assert.equal(between(chat.raw), SHOWN)
    // A file is shown with its name first: [name, size, type, state].
    await chat.waitFor(/\[report<U\+202E>fdp\.exe, \d+ B, /, 'the file name in the chat')
    const before = chat.raw.length
    await net.call(bob, 'send', { handle: alice.handle, text: LIVE_TEXT })
    const live = await chat.waitForRaw(`live${OPEN}`, 'the live message in the chat', before)
    await chat.waitForRaw(CLOSE, 'the end of the live message', live)
    assert.equal(between(chat.raw, live), SHOWN)
    // The chat's own prompt handling writes escape sequences (erase the line, cursor to
    // column 1); none of the attack's own characters may appear anywhere on its screen.
    for (const forbidden of ['\x1b]52', '\x07', '\x9b', '\x7f', '\u202e', '\u202c']) {
      assert.ok(!chat.raw.includes(forbidden), `chat wrote ${JSON.stringify(forbidden)}`)
    }
    chat.type('/quit\r')
    assert.equal(await chat.exit(), 0)
  })

  it('an error line that quotes hostile text (an argument pasted from a message) shows it visibly', async () => {
    const r = await procs.cli(['history', bob.handle, `pasted\x1b]52;c;ZXZpbA==\x07\u202e`, '--data', alice.dir])
    assert.equal(r.code, 2, r.stderr)
    assert.equal(r.stdout, '')
    assert.deepEqual(controlsIn(r.stderr.replace(/\n$/, '')), [], `no control character in ${JSON.stringify(r.stderr)}`)
    assert.match(r.stderr, /unexpected argument 'pasted\^\[\]52;c;ZXZpbA==\^G<U\+202E>'/)
  })
})
