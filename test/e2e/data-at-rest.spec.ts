/**
 * Data at rest (issue 9, item 7) with real processes. The attacks: another
 * user of the machine reads a data directory left group- and
 * world-readable; a thief copies the directory of a user who set
 * STARLING_PASSPHRASE and searches every file for a message text and for
 * the bytes of a sent and a received attachment.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { chmod, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Processes, eventually } from './harness.js'
import type { Running } from './harness.js'

const PASSPHRASE = { STARLING_PASSPHRASE: 'a passphrase for the keys at rest' }
const FAST = { STARLING_RETRY_INTERVAL_MS: '500', STARLING_FETCH_INTERVAL_MS: '1000' }

/** Paths under `dir` (itself included) that group or others may use, with their modes. */
async function notPrivate (dir: string): Promise<string[]> {
  const out: string[] = []
  const check = async (path: string): Promise<void> => {
    const mode = (await stat(path)).mode & 0o777
    if ((mode & 0o077) !== 0) out.push(`${path} ${mode.toString(8)}`)
  }
  await check(dir)
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) await check(join(entry.parentPath, entry.name))
  return out
}

/** Files under `dir` holding `needle` (or, for long needles, any of three 64-byte windows of it). */
async function filesHolding (dir: string, needle: Uint8Array): Promise<string[]> {
  const probes = needle.length <= 64 ? [Buffer.from(needle)] : [0, needle.length >> 1, needle.length - 64].map(at => Buffer.from(needle.subarray(at, at + 64)))
  const out: string[] = []
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const bytes = await readFile(join(entry.parentPath, entry.name))
    if (probes.some(p => bytes.includes(p))) out.push(join(entry.parentPath, entry.name).slice(dir.length))
  }
  return out
}

describe('e2e: data at rest', function () {
  this.timeout(240_000)
  const procs = new Processes()
  after(async () => procs.stopAll())

  it('keeps the data directory private and, with STARLING_PASSPHRASE (from init, or set later), leaves no message or attachment readable on disk', async () => {
    const relay = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', await procs.tempDir('starling-relay-')])
    const relayAddr = (relay.ready.multiaddrs as string[])[0]
    const alice = { dir: await procs.tempDir('starling-alice-'), handle: '' }
    const bob = { dir: await procs.tempDir('starling-bob-'), handle: '' }
    for (const [who, env] of [[alice, PASSPHRASE], [bob, {}]] as const) {
      const r = await procs.cli(['init', '--handle', who === alice ? 'alice' : 'bob', '--data', who.dir, '--json'], env)
      assert.equal(r.code, 0, r.stderr)
      who.handle = r.json[0].handle as string
    }
    // A directory as an older version (or a careless copy) left it: readable by everyone.
    await chmod(alice.dir, 0o755)
    await chmod(join(alice.dir, 'identity.key'), 0o644)
    await writeFile(join(alice.dir, 'notes.txt'), 'left here by hand', { mode: 0o644 })

    const daemon = async (dir: string, env: Record<string, string>): Promise<Running> => {
      const d = await procs.start(['daemon', '--data', dir, '--bootstrap', relayAddr, '--listen', '/ip4/127.0.0.1/tcp/0'], { ...FAST, ...env })
      await eventually(async () => (await procs.cli(['status', '--data', dir, '--json'])).json[0]?.published != null ? true : undefined, 30_000, `${dir} published`)
      return d
    }
    const aliceDaemon = await daemon(alice.dir, PASSPHRASE)
    const bobDaemon = await daemon(bob.dir, {})

    const secretIn = 'the safe code is 4711, tell nobody'
    const secretOut = 'the boat leaves from pier 9 at dawn'
    const received = randomBytes(300_000)
    const sent = randomBytes(200_000)
    const files = await procs.tempDir('starling-files-')
    await writeFile(join(files, 'plans.bin'), received)
    await writeFile(join(files, 'reply.bin'), sent)
    assert.equal((await procs.cli(['send', alice.handle, secretIn, '--attach', join(files, 'plans.bin'), '--data', bob.dir])).code, 0)
    // Bob is a stranger to alice: his file is fetched once she accepts his request.
    await eventually(async () => (await procs.cli(['contacts', '--data', alice.dir, '--json'])).json.some(c => c.handle === bob.handle) ? true : undefined, 30_000, 'bob\'s request at alice')
    assert.equal((await procs.cli(['contacts', '--accept', bob.handle, '--data', alice.dir])).code, 0)
    assert.equal((await procs.cli(['send', bob.handle, secretOut, '--attach', join(files, 'reply.bin'), '--data', alice.dir])).code, 0)
    const attachmentId = await eventually(async () => {
      const h = await procs.cli(['history', bob.handle, '--data', alice.dir, '--json'])
      const m = h.json.find(x => (x.attachment as { fileName?: string } | undefined)?.fileName === 'plans.bin' && (x.attachmentState as { complete?: boolean } | undefined)?.complete === true)
      return (m?.attachmentState as { id?: string } | undefined)?.id
    }, 60_000, 'the attachment received by alice')
    await eventually(async () => (await procs.cli(['history', alice.handle, '--data', bob.dir, '--json'])).json.some(m => m.text === secretOut) ? true : undefined, 30_000, 'alice\'s text at bob')

    const before = await notPrivate(alice.dir)
    await procs.stop(aliceDaemon)
    const texts = [secretIn, secretOut].map(t => new TextEncoder().encode(t))
    console.log(`      alice (passphrase): text in ${JSON.stringify(await filesHolding(alice.dir, texts[0]))}, received file in ${JSON.stringify(await filesHolding(alice.dir, received))}, sent file in ${JSON.stringify(await filesHolding(alice.dir, sent))}`)
    console.log(`      bob (no passphrase): text in ${JSON.stringify(await filesHolding(bob.dir, texts[0]))}`)
    assert.deepEqual(before, [], 'every directory 0700 and file 0600 while the daemon ran')
    assert.deepEqual(await notPrivate(alice.dir), [])
    for (const t of texts) assert.deepEqual(await filesHolding(alice.dir, t), [], 'a message text is readable on disk')
    assert.deepEqual(await filesHolding(alice.dir, received), [], 'a received attachment is readable on disk')
    assert.deepEqual(await filesHolding(alice.dir, sent), [], 'a sent attachment is readable on disk')
    assert.notDeepEqual(await filesHolding(bob.dir, texts[0]), [], 'without a passphrase the store is plain (the scan works)')

    // With the passphrase everything reads back; the attachment is written out on request.
    await daemon(alice.dir, PASSPHRASE)
    const h = await procs.cli(['history', bob.handle, '--data', alice.dir, '--json'])
    assert.ok(h.stdout.includes(secretIn) && h.stdout.includes(secretOut), 'the texts read back')
    const out = join(await procs.tempDir(), 'plans.bin')
    const saved = await procs.cli(['attachment', attachmentId, '--save', out, '--data', alice.dir, '--json'])
    assert.equal(saved.code, 0, saved.stderr)
    assert.deepEqual(await readFile(out), received)

    // Bob chooses a passphrase later: his next start encrypts his key file, store and attachments.
    await eventually(async () => (await procs.cli(['history', alice.handle, '--data', bob.dir, '--json'])).json.some(m => (m.attachmentState as { complete?: boolean } | undefined)?.complete === true && (m.attachment as { fileName?: string } | undefined)?.fileName === 'reply.bin') ? true : undefined, 60_000, 'alice\'s file at bob')
    await procs.stop(bobDaemon)
    const bobAgain = await daemon(bob.dir, PASSPHRASE)
    const hb = await procs.cli(['history', alice.handle, '--data', bob.dir, '--json'])
    assert.ok(hb.stdout.includes(secretIn) && hb.stdout.includes(secretOut), 'bob\'s history reads back')
    await procs.stop(bobAgain)
    assert.equal((await readFile(join(bob.dir, 'identity.key')))[5], 1, 'the key file is encrypted now')
    for (const t of texts) assert.deepEqual(await filesHolding(bob.dir, t), [], 'a message text is still readable on disk')
    assert.deepEqual(await filesHolding(bob.dir, received), [], 'the file bob sent is still readable on disk')
    assert.deepEqual(await filesHolding(bob.dir, sent), [], 'the file bob received is still readable on disk')
  })
})
