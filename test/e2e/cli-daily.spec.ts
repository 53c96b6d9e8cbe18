/**
 * The CLI as a new user lives in it (issue 13), through the real `starling`
 * against a real relay and real daemons: ids as history shows them, files
 * with their names, who a command acts as, errors that say what to do,
 * Note to Self, honest states, backups, and the chat's typing indicator on
 * a pseudo-terminal.
 */
import assert from 'node:assert/strict'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Network, Processes, eventually } from './harness.js'
import type { CliResult, HistoryMessage, User } from './harness.js'
import { Pty } from './pty.js'

function oneLine (r: CliResult): string {
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `expected one line on stderr, got: ${r.stderr}`)
  return lines[0]
}

describe('e2e: a command line people can live in', function () {
  this.timeout(240_000)
  const procs = new Processes()
  const net = new Network(procs)
  const ptys: Pty[] = []
  let alice: User
  let bob: User
  let relayAddr: string
  after(async () => {
    for (const p of ptys) p.kill()
    await procs.stopAll()
  })

  /** `starling ARGS --data DIR`. */
  async function as (user: User, args: string[], env: Record<string, string> = {}): Promise<CliResult> {
    return procs.cli([...args, '--data', user.dir], env)
  }

  async function ok (user: User, args: string[]): Promise<CliResult> {
    const r = await as(user, args)
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    return r
  }

  before(async () => {
    const relay = await net.startRelay()
    relayAddr = relay.addr
    alice = await net.newUser('alice')
    bob = await net.newUser('bob')
    await net.startDaemon(alice, [relayAddr])
    await net.startDaemon(bob, [relayAddr])
    await net.befriend(alice, bob)
  })

  it('ids as history shows them (8 digits) work in reply, react, edit and delete; every send says who it sends as', async () => {
    const sent = await ok(alice, ['send', 'bob', 'first words'])
    assert.match(sent.stdout, new RegExp(`^sent [0-9a-f]{8} to ${bob.handle} as ${alice.handle} \\(queued\\)$`, 'm'))
    await eventually(async () => (await net.history(bob, alice)).find(m => m.text === 'first words'), 30_000, 'first words at bob')
    const line = (await ok(bob, ['history', 'alice'])).stdout.split('\n').find(l => l.includes('first words'))
    const short = /^([0-9a-f]{8}) /.exec(line ?? '')?.[1]
    assert.ok(short != null, `history line with an 8-digit id: ${String(line)}`)

    await ok(bob, ['react', 'alice', short, '👍'])
    await ok(bob, ['send', 'alice', 'a reply', '--reply-to', short])
    await ok(alice, ['edit', 'bob', short, 'first words, corrected'])
    const msgs = await eventually(async () => {
      const h = await net.history(alice, bob)
      return h.some(m => m.text === 'a reply') && h.some(m => m.reactions.length > 0) ? h : undefined
    }, 30_000, 'reply and reaction at alice')
    const first = msgs.find(m => m.id.startsWith(short))
    assert.equal(first?.text, 'first words, corrected')
    assert.deepEqual(first?.reactions.map(r => r.emoji), ['👍'])
    assert.equal(msgs.find(m => m.text === 'a reply')?.replyTo?.id, first?.id)

    // Edit history is visible in human output.
    const human = (await ok(alice, ['history', 'bob'])).stdout
    assert.match(human, /first words, corrected \(edited\)/)
    assert.match(human, /^\s+was: first words$/m)
    // One state field in JSON: sendState, no status.
    const json = (await ok(alice, ['history', 'bob', '--json'])).json
    assert.ok(json.length >= 2)
    for (const m of json) assert.equal('status' in m, false, `no status field: ${JSON.stringify(m)}`)
    assert.ok(json.filter(m => m.text === 'first words, corrected').every(m => typeof m.sendState === 'string'))

    // Delete by prefix; help says what an ID may be.
    await ok(alice, ['delete', 'bob', short])
    const help = (await procs.cli(['send', '--help'])).stdout
    assert.match(help, /first 4 or more hex digits/)
    assert.doesNotMatch(help, /history prints it \(32 hex digits\)/)
  })

  it('usage errors exit 2 with one line pointing to the command\'s help; did you mean; --version', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['react', 'bob', 'zz', '👍'], /id must be a message id as history shows it: its first 4\+ hex digits/],
      [['react', 'bob', '00000000', 'x'], /reaction must be exactly one RGI emoji/],
      [['send', 'bob', ''], /the TEXT is empty|give a TEXT/],
      [['send', 'bob', '   '], /the TEXT is empty/],
      [['send', '@bob', 'hi'], /write the handle without @ \(starling send bob/],
      [['send', 'bob', 'hi', '--reply-too', 'x'], /Unknown option '--reply-too'; did you mean --reply-to\?/],
      [['daemon', '--bootstrap', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDSe2MsJCRTGqdio1e4mfgFhDjnV7fYebqAEsUBZVwu'], /12D3KooWDSe2MsJCRTGqdio1e4mfgFhDjnV7fYebqAEsUBZVwu is not a peer id/]
    ]
    for (const [args, reason] of cases) {
      const r = await as(alice, args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      const line = oneLine(r)
      assert.match(line, reason)
      assert.match(line, new RegExp(`\\(see starling ${args[0]} --help\\)$`), `points to the subcommand's help: ${line}`)
    }
    const typo = await procs.cli(['sned', 'bob', 'hi'])
    assert.equal(typo.code, 2)
    assert.match(oneLine(typo), /unknown command 'sned'; did you mean 'send'\?/)

    // A heart without its variation selector: the emoji form is suggested.
    const msg = (await net.history(alice, bob)).at(-1)
    assert.ok(msg != null)
    const heart = await as(alice, ['react', 'bob', msg.id.slice(0, 8), '\u2764'])
    assert.equal(heart.code, 2, heart.stderr)
    assert.match(oneLine(heart), /did you mean \u2764\uFE0F/)
    // Taking back a reaction you never made says so.
    const never = await as(alice, ['react', 'bob', msg.id.slice(0, 8), '🎉', '--remove'])
    assert.equal(never.code, 1, never.stderr)
    assert.match(oneLine(never), /you have no 🎉 reaction on message [0-9a-f]{8}: nothing to take back/)

    const version = await procs.cli(['--version'])
    assert.equal(version.code, 0, version.stderr)
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
    assert.equal(version.stdout, `starling ${pkg.version}\n`)
  })

  it('files: two --attach in one send are ONE message on both sides, each shown with name, size, type and state, saved under its own safe name, all found by the message id', async () => {
    const dir = await procs.tempDir('starling-files-')
    await writeFile(join(dir, 'notes.txt'), 'shopping list\n')
    const hostile = '..hidden\u202Etxt.exe'
    await writeFile(join(dir, hostile), 'not what it says\n')
    await ok(alice, ['send', 'bob', 'two files', '--attach', join(dir, 'notes.txt'), '--attach', join(dir, hostile)])
    const complete = (m: HistoryMessage): boolean => m.attachmentStates?.length === 2 && m.attachmentStates.every(s => s.complete)
    const received = await eventually(async () => {
      const files = (await net.history(bob, alice)).filter(m => m.kind === 'attachment')
      return files.length === 1 && complete(files[0]) ? files : undefined
    }, 60_000, 'one message with both files at bob')
    const album = received[0]
    assert.equal(album.text, 'two files')
    assert.deepEqual(album.attachments?.map(a => a.fileName), ['notes.txt', hostile])
    const sent = (await net.history(alice, bob)).filter(m => m.kind === 'attachment')
    assert.equal(sent.length, 1, 'one message at alice too')
    assert.equal(sent[0].id, album.id)
    assert.equal(sent[0].attachments?.length, 2)
    const human = (await ok(bob, ['history', 'alice'])).stdout
    assert.match(human, /alice: \[notes\.txt, 14 B, text\/plain, received\] \[[^\]\n]*hidden[^\]\n]*, 17 B, application\/octet-stream, received\] two files/)

    // Written to the downloads folder (inside the data directory) under safe names.
    const downloads = join(bob.dir, 'downloads')
    const names = await eventually(async () => {
      const list = await readdir(downloads).catch(() => [] as string[])
      return list.length === 2 ? list.sort() : undefined
    }, 30_000, 'two files in the downloads folder')
    assert.ok(names.includes('notes.txt'), names.join(', '))
    for (const name of names) {
      // eslint-disable-next-line no-control-regex
      assert.doesNotMatch(name, /[\x00-\x1f\u202a-\u202e]/, `no control or bidi character in ${JSON.stringify(name)}`)
      assert.ok(!name.startsWith('.'), `not hidden: ${name}`)
    }
    assert.equal(await readFile(join(downloads, 'notes.txt'), 'utf8'), 'shopping list\n')

    // The message id (as history shows it) finds both files; `save DIR` writes each under its name, never over another.
    const shown = await ok(bob, ['attachment', album.id.slice(0, 8)])
    const lines = shown.stdout.trim().split('\n')
    assert.equal(lines.length, 2, shown.stdout)
    assert.match(lines[0], /^notes\.txt \(14 B, text\/plain\) complete/)
    assert.match(lines[1], /hidden.* \(17 B, application\/octet-stream\) complete/)
    const out = await procs.tempDir('starling-saved-')
    await mkdir(out, { recursive: true })
    const saved = await ok(bob, ['attachment', album.id.slice(0, 8), 'save', out])
    assert.match(saved.stdout, /saved to .*notes\.txt/)
    await ok(bob, ['attachment', album.id.slice(0, 8), 'save', out])
    const written = (await readdir(out)).sort()
    assert.equal(written.length, 4, written.join(', '))
    assert.ok(written.includes('notes.txt') && written.includes('notes (1).txt'), written.join(', '))
    const other = written.find(n => n.includes('hidden') && !n.includes('(1)'))
    assert.ok(other != null, written.join(', '))
    assert.equal(await readFile(join(out, other), 'utf8'), 'not what it says\n')
    // --save FILE writes one file: a message of two is refused with what to do instead.
    const one = await as(bob, ['attachment', album.id.slice(0, 8), '--save', join(out, 'x')])
    assert.equal(one.code, 1, one.stderr)
    assert.match(oneLine(one), /has 2 files: --save FILE writes one/)
  })

  it('who am I: starling use DIR sets the default profile; init and daemon hints name the --data they need', async () => {
    const config = await procs.tempDir('starling-config-')
    const env = { XDG_CONFIG_HOME: config, STARLING_DATA: '' }
    const used = await procs.cli(['use', bob.dir], env)
    assert.equal(used.code, 0, used.stderr)
    const me = await procs.cli(['whoami', '--json'], env)
    assert.equal(me.code, 0, me.stderr)
    assert.equal(me.json[0].handle, bob.handle, 'a command without --data acts as the chosen profile')
    const sent = await procs.cli(['send', 'alice', 'from the default profile'], env)
    assert.equal(sent.code, 0, sent.stderr)
    assert.match(sent.stdout, new RegExp(`as ${bob.handle}`))
    const shown = await procs.cli(['use'], env)
    assert.match(shown.stdout, new RegExp(`act as ${bob.handle} in ${bob.dir}, from the default profile`))
    const none = await procs.cli(['use', await procs.tempDir()], env)
    assert.equal(none.code, 1)
    assert.match(oneLine(none), /no identity in .*starling init --handle NAME --data/)

    const fresh = await procs.tempDir('starling-fresh-')
    const init = await procs.cli(['init', '--handle', 'frank', '--data', fresh], env)
    assert.equal(init.code, 0, init.stderr)
    assert.match(init.stdout, new RegExp(`next: +starling daemon --data ${fresh} --bootstrap`))
    const noDaemon = await procs.cli(['whoami', '--data', fresh], env)
    assert.match(oneLine(noDaemon), new RegExp(`starling daemon --data ${fresh} --bootstrap`))
  })

  it('Note to Self: sending to yourself is stored as yours, sent to nobody, and you are not your own contact', async () => {
    const note = await ok(alice, ['send', alice.handle, 'remember the milk', '--json'])
    assert.equal(note.json[0].note, true)
    const human = await ok(alice, ['send', 'alice', 'and the bread'])
    assert.match(human.stdout, /as a Note to Self .*sent to nobody/)
    const h = await ok(alice, ['history', alice.handle])
    assert.match(h.stdout, /^Note to Self/)
    assert.match(h.stdout, /you: remember the milk$/m)
    assert.doesNotMatch(h.stdout, /held by|queued/)
    const contacts = (await ok(alice, ['contacts', '--json'])).json
    assert.equal(contacts.some(c => c.handle === alice.handle), false, 'not a contact of yourself')
    const s = await net.call<{ outbox: number }>(alice, 'status')
    const queued = (await net.history(alice, bob)).filter(m => m.sendState === 'queued' || m.sendState === 'relayed').length
    assert.ok(s.outbox <= queued, `notes are not in the outbox (outbox ${s.outbox})`)
  })

  it('backups: a short passphrase is refused with the reason; export says whether files are in it', async () => {
    const dir = await procs.tempDir('starling-backup-')
    const short = await as(alice, ['export', join(dir, 'a.stbk')], { STARLING_BACKUP_PASSPHRASE: 'short' })
    assert.equal(short.code, 2, short.stderr)
    assert.match(oneLine(short), /5 characters; use at least 12/)
    const good = await as(alice, ['export', join(dir, 'b.stbk')], { STARLING_BACKUP_PASSPHRASE: 'three long words' })
    assert.equal(good.code, 0, good.stderr)
    assert.match(good.stdout, new RegExp(`backup of ${alice.handle} written`))
    assert.match(good.stdout, /files are in the backup/)
    const without = await as(alice, ['export', join(dir, 'c.stbk'), '--without-files'], { STARLING_BACKUP_PASSPHRASE: 'three long words' })
    assert.equal(without.code, 0, without.stderr)
    assert.match(without.stdout, /0 files, .*\n.*files are NOT in the backup \(--without-files/)
  })

  it('chat: says who you are, and the typing indicator clears when the other side clears its line', async () => {
    const aliceChat = Pty.start(['chat', 'bob', '--data', alice.dir])
    const bobChat = Pty.start(['chat', 'alice', '--data', bob.dir])
    ptys.push(aliceChat, bobChat)
    await aliceChat.waitFor(new RegExp(`conversation with ${bob.handle} as ${alice.handle}`), 'the chat says who types')
    await aliceChat.waitFor(/you> /, 'alice prompt')
    await bobChat.waitFor(/you> /, 'bob prompt')
    const from = aliceChat.text.length
    bobChat.type('hel')
    await aliceChat.waitFor(/bob is typing/, 'typing shown', from)
    bobChat.type('\x7f\x7f\x7f')
    await aliceChat.waitFor(/bob stopped typing/, 'typing cleared', from)
    aliceChat.type('/quit\r')
    bobChat.type('/quit\r')
    assert.equal(await aliceChat.exit(), 0)
    assert.equal(await bobChat.exit(), 0)
  })
})
