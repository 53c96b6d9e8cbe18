/**
 * Bad command lines: each prints one clear line on stderr and exits 2 for a
 * usage error or 1 for a failure. Separate processes, as a user runs them.
 */
import assert from 'node:assert/strict'
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { Processes } from './harness.js'
import { commands } from '../../node/cli/commands/index.js'
import type { CliResult } from './harness.js'

function oneLine (r: CliResult): string {
  const lines = r.stderr.trim().split('\n')
  assert.equal(lines.length, 1, `expected one line on stderr, got: ${r.stderr}`)
  assert.equal(r.stdout, '', 'nothing on stdout for an error')
  return lines[0]
}

describe('e2e: bad CLI input', function () {
  this.timeout(120_000)
  const procs = new Processes()
  after(async () => procs.stopAll())

  it('invalid handles: exit 2 with the reason', async () => {
    const dir = await procs.tempDir()
    const cases: Array<[string, RegExp]> = [
      ['ab', /at least 3/],
      ['bad-name', /not allowed/],
      ['\u212Aelvin', /look|Latin/i],
      ['b\u200Bob', /invisible/i],
      ['\u202Eevil', /right-to-left|bidi|direction/i],
      ['x'.repeat(31), /at most 30/]
    ]
    for (const [handle, reason] of cases) {
      const r = await procs.cli(['init', '--handle', handle, '--data', dir])
      assert.equal(r.code, 2, `${JSON.stringify(handle)}: ${r.stderr}`)
      assert.match(oneLine(r), reason)
    }
  })

  it('identity already exists: exit 1, and the existing keys are untouched', async () => {
    const dir = await procs.tempDir()
    const first = await procs.cli(['init', '--handle', 'zoe', '--data', dir, '--json'])
    assert.equal(first.code, 0, first.stderr)
    const again = await procs.cli(['init', '--handle', 'zoe', '--data', dir])
    assert.equal(again.code, 1)
    assert.match(oneLine(again), /already exists/)
    const relay = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', await procs.tempDir()])
    const daemon = await procs.start(['daemon', '--data', dir, '--bootstrap', (relay.ready.multiaddrs as string[])[0], '--listen', '/ip4/127.0.0.1/tcp/0'])
    assert.equal(daemon.ready.peerId, first.json[0].peerId)
    assert.equal(daemon.ready.handle, first.json[0].handle)

    // Unknown handle, asked through that daemon.
    const unknown = await procs.cli(['resolve', 'nobody_here', '--data', dir])
    assert.equal(unknown.code, 1)
    assert.match(oneLine(unknown), /unknown handle nobody_here/)
    const unknownTagged = await procs.cli(['resolve', 'zoe~aaaaaaaaaa', '--data', dir])
    assert.equal(unknownTagged.code, 1)
    assert.match(oneLine(unknownTagged), /unknown handle zoe~aaaaaaaaaa/)
    // A second daemon on the same data directory is refused.
    const second = await procs.cli(['daemon', '--data', dir, '--bootstrap', (relay.ready.multiaddrs as string[])[0]])
    assert.equal(second.code, 1)
    assert.match(oneLine(second), /already running/)
  })

  it('keys are readable only by the user, and encrypted at rest with STARLING_PASSPHRASE', async () => {
    const plain = await procs.tempDir()
    assert.equal((await procs.cli(['init', '--handle', 'pat', '--data', plain])).code, 0)
    assert.equal((await stat(join(plain, 'identity.key'))).mode & 0o777, 0o600)
    const dir = await procs.tempDir()
    const created = await procs.cli(['init', '--handle', 'quinn', '--data', dir, '--json'], { STARLING_PASSPHRASE: 'correct horse battery' })
    assert.equal(created.code, 0, created.stderr)
    assert.equal(created.json[0].encrypted, true)
    assert.equal((await stat(join(dir, 'identity.key'))).mode & 0o777, 0o600)
    // The file does not carry the handle or the device key in the clear.
    const bytes = await readFile(join(dir, 'identity.key'))
    assert.equal(bytes.includes(Buffer.from('quinn')), false)
    const bootstrap = '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDSe2MsJCRTGqdio1e4mfgFhDjnV7fYebqAEsUBZVwud1'
    const none = await procs.cli(['daemon', '--data', dir, '--bootstrap', bootstrap])
    assert.equal(none.code, 1)
    assert.match(oneLine(none), /passphrase/i)
    const wrong = await procs.cli(['daemon', '--data', dir, '--bootstrap', bootstrap], { STARLING_PASSPHRASE: 'wrong' })
    assert.equal(wrong.code, 1)
    assert.match(oneLine(wrong), /passphrase/i)
  })

  it('missing or malformed --bootstrap: exit 2', async () => {
    const dir = await procs.tempDir()
    const missing = await procs.cli(['daemon', '--data', dir])
    assert.equal(missing.code, 2)
    assert.match(oneLine(missing), /--bootstrap/)
    const bad = await procs.cli(['daemon', '--data', dir, '--bootstrap', 'not-an-address'])
    assert.equal(bad.code, 2)
    assert.match(oneLine(bad), /not a multiaddr/)
  })

  it('relay limits that are not sizes or counts, and a --peer that names no relay: exit 2 with the option', async () => {
    const dir = await procs.tempDir()
    const cases: Array<[string[], RegExp]> = [
      [['--max-storage', 'lots'], /--max-storage lots is not a size/],
      [['--max-storage-per-source', '0'], /--max-storage-per-source 0 is not a size/],
      [['--mailbox-share-envelopes', '2.5'], /--mailbox-share-envelopes 2.5 is not a positive whole number/],
      [['--max-reservations-per-source=-1'], /--max-reservations-per-source -1 is not a positive whole number/],
      [['--peer', '/ip4/127.0.0.1/tcp/4001'], /names no relay: it must end in \/p2p\/<peer id>/]
    ]
    for (const [args, reason] of cases) {
      const r = await procs.cli(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', dir, ...args])
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(oneLine(r), reason)
    }
  })

  it('daemon not running: exit 1 saying how to start it', async () => {
    const dir = await procs.tempDir()
    for (const cmd of [['whoami'], ['status'], ['resolve', 'alice']]) {
      const r = await procs.cli([...cmd, '--data', dir])
      assert.equal(r.code, 1, `${cmd[0]}: ${r.stderr}`)
      assert.match(oneLine(r), /no daemon is running/)
    }
  })

  it('no identity yet: the daemon exits 1 saying how to create one', async () => {
    const dir = await procs.tempDir()
    const r = await procs.cli(['daemon', '--data', dir, '--bootstrap', '/ip4/127.0.0.1/tcp/1/p2p/12D3KooWDSe2MsJCRTGqdio1e4mfgFhDjnV7fYebqAEsUBZVwud1'])
    assert.equal(r.code, 1)
    assert.match(oneLine(r), /starling init --handle/)
  })

  it('unknown commands, unknown options and missing arguments: exit 2', async () => {
    for (const args of [['fly'], ['whoami', '--colour'], ['resolve'], ['resolve', 'a', 'b'], ['--data', 'x']]) {
      const r = await procs.cli(args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      oneLine(r)
    }
  })

  it('with --json, errors are one JSON object on stderr', async () => {
    const r = await procs.cli(['whoami', '--json', '--data', await procs.tempDir()])
    assert.equal(r.code, 1)
    const err = JSON.parse(oneLine(r)) as Record<string, string>
    assert.equal(err.event, 'error')
    assert.equal(err.error, 'DaemonNotRunningError')
  })

  it('--help lists every command with examples', async () => {
    const r = await procs.cli(['--help'])
    assert.equal(r.code, 0)
    assert.ok(commands.length >= 19)
    for (const c of commands.map(x => x.name)) {
      assert.match(r.stdout, new RegExp(`^  ${c} `, 'm'))
      assert.match(r.stdout, new RegExp(`^  .*starling ${c}\\b`, 'm'))
    }
  })
})
