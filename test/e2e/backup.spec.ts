/**
 * `starling export` / `starling import` with real processes: a device's
 * backup restored into a new data directory keeps its handle, contacts and
 * history, and keeps talking under fresh sessions (a backup holds no ratchet
 * state: test/unit/messenger/backup-restore.spec.ts performs the key-reuse
 * attack), and its files: the one it sent and the one it received are
 * there after the import, byte for byte.
 */
import assert from 'node:assert/strict'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Processes, eventually } from './harness.js'

describe('e2e: backup and restore', function () {
  this.timeout(180_000)
  const procs = new Processes()
  after(async () => procs.stopAll())

  it('export, import into a new directory, and carry on the conversation', async () => {
    const relay = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', await procs.tempDir('starling-relay-')])
    const relayAddr = (relay.ready.multiaddrs as string[])[0]
    const dirs: Record<string, string> = {}
    const handles: Record<string, string> = {}
    for (const name of ['alice', 'bob']) {
      dirs[name] = await procs.tempDir(`starling-${name}-`)
      const r = await procs.cli(['init', '--handle', name, '--data', dirs[name], '--json'])
      handles[name] = r.json[0].handle as string
    }
    const start = async (dir: string): Promise<Awaited<ReturnType<typeof procs.start>>> => {
      const d = await procs.start(['daemon', '--data', dir, '--bootstrap', relayAddr, '--listen', '/ip4/127.0.0.1/tcp/0'], { STARLING_RETRY_INTERVAL_MS: '500', STARLING_FETCH_INTERVAL_MS: '1000' })
      await eventually(async () => (await procs.cli(['status', '--data', dir, '--json'])).json[0]?.published != null ? true : undefined, 30_000, 'published')
      return d
    }
    const alice = await start(dirs.alice)
    await start(dirs.bob)
    for (const text of ['one', 'two']) assert.equal((await procs.cli(['send', handles.bob, text, '--data', dirs.alice])).code, 0)
    assert.equal((await procs.cli(['send', handles.alice, 'three', '--data', dirs.bob])).code, 0)
    // A file alice sends (300 KB, several chunks) and one she receives.
    const files = await procs.tempDir('starling-files-')
    const mine = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 31 + (i >> 8)) % 256))
    const theirs = Buffer.from('from bob\n'.repeat(1000))
    await writeFile(join(files, 'mine.bin'), mine)
    await writeFile(join(files, 'theirs.txt'), theirs)
    assert.equal((await procs.cli(['send', handles.bob, 'my file', '--attach', join(files, 'mine.bin'), '--data', dirs.alice])).code, 0)
    assert.equal((await procs.cli(['send', handles.alice, 'your file', '--attach', join(files, 'theirs.txt'), '--data', dirs.bob])).code, 0)
    const history = async (dir: string, who: string): Promise<string[]> =>
      (await procs.cli(['history', who, '--data', dir, '--json'])).json.map(m => `${String(m.id)}:${String(m.text)}`)
    const fileMessages = async (dir: string): Promise<Array<Record<string, unknown>>> =>
      (await procs.cli(['history', 'bob', '--data', dir, '--json'])).json.filter(m => m.kind === 'attachment')
    await eventually(async () => (await fileMessages(dirs.alice)).filter(m => (m.attachmentState as { complete?: boolean } | undefined)?.complete === true).length === 2 ? true : undefined, 60_000, 'both files whole at alice')
    const before = await eventually(async () => { const h = await history(dirs.alice, 'bob'); return h.length === 5 ? h : undefined }, 30_000, 'five messages')

    const file = join(await procs.tempDir(), 'alice.stbk')
    const env = { STARLING_BACKUP_PASSPHRASE: 'a long backup passphrase' }
    const exported = await procs.cli(['export', file, '--data', dirs.alice, '--json'], env)
    assert.equal(exported.code, 0, exported.stderr)
    assert.equal(exported.json[0].files, 2, 'the file sent and the file received')
    assert.equal(exported.json[0].attachments, true)
    assert.equal((await procs.cli(['export', file, '--data', dirs.alice], env)).code, 1, 'an existing file is not overwritten')
    await procs.stop(alice)

    const restored = await procs.tempDir('starling-alice2-')
    const wrong = await procs.cli(['import', file, '--data', restored], { STARLING_BACKUP_PASSPHRASE: 'wrong' })
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /wrong passphrase/)
    const imported = await procs.cli(['import', file, '--data', restored, '--json'], env)
    assert.equal(imported.code, 0, imported.stderr)
    assert.equal(imported.json[0].files, 2)
    assert.equal((await procs.cli(['import', file, '--data', restored], env)).code, 1, 'no import over an existing identity')

    const again = await start(restored)
    assert.equal(again.ready.handle, handles.alice)
    assert.deepEqual(await history(restored, 'bob'), before)
    // Both files are on the restored device, byte for byte: her own is not "receiving 0/1 chunks".
    const out = await procs.tempDir('starling-restored-files-')
    for (const [text, name, bytes] of [['my file', 'mine.bin', mine], ['your file', 'theirs.txt', theirs]] as const) {
      const m = (await fileMessages(restored)).find(x => x.text === text)
      assert.ok(m != null, text)
      const shown = await procs.cli(['attachment', String(m.id).slice(0, 8), '--data', restored])
      assert.match(shown.stdout, new RegExp(`^${name.replace('.', '\\.')} .* complete`), shown.stdout + shown.stderr)
      const saved = await procs.cli(['attachment', String(m.id).slice(0, 8), 'save', out, '--data', restored])
      assert.equal(saved.code, 0, saved.stderr)
      assert.ok((await readFile(join(out, name))).equals(bytes), `${name} byte for byte`)
    }
    // Fresh sessions, started by the restored device, work both ways.
    assert.equal((await procs.cli(['send', handles.bob, 'four, from the restored device', '--data', restored])).code, 0)
    assert.equal((await procs.cli(['send', handles.alice, 'five', '--data', dirs.bob])).code, 0)
    await eventually(async () => (await history(dirs.bob, 'alice')).some(m => m.endsWith(':four, from the restored device')) ? true : undefined, 30_000, 'four at bob')
    await eventually(async () => (await history(restored, 'bob')).some(m => m.endsWith(':five')) ? true : undefined, 30_000, 'five at the restored alice')
  })
})
