/**
 * Attachments between daemons as separate processes: a large file from a
 * message request not fetched until the request is accepted, then pulled
 * directly and resumed after the receiver is killed half way (only the
 * missing chunks are asked for again), a small file carried by relays to an
 * offline recipient, and the size and type checks.
 */
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { randomBytes } from 'node:crypto'
import { open, readdir, readFile, truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { Processes, eventually } from './harness.js'
import type { Running } from './harness.js'

interface Served { peer: string, id: string, ranges: Array<[number, number]> }
interface AttachmentState { id: string, complete: boolean, receivedChunks: number, totalChunks: number, path: string | null, waiting?: string }

describe('e2e: attachments', function () {
  this.timeout(240_000)
  const procs = new Processes()
  let relayAddr: string
  after(async () => procs.stopAll())

  before(async () => {
    const relay = await procs.start(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--data', await procs.tempDir('starling-relay-')])
    relayAddr = (relay.ready.multiaddrs as string[])[0]
  })

  async function user (name: string): Promise<{ dir: string, handle: string, peerId: string }> {
    const dir = await procs.tempDir(`starling-${name}-`)
    const r = await procs.cli(['init', '--handle', name, '--data', dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
    return { dir, handle: r.json[0].handle as string, peerId: r.json[0].peerId as string }
  }

  async function daemon (dir: string): Promise<Running> {
    const d = await procs.start(['daemon', '--data', dir, '--bootstrap', relayAddr, '--listen', '/ip4/127.0.0.1/tcp/0'], { STARLING_RETRY_INTERVAL_MS: '500', STARLING_FETCH_INTERVAL_MS: '1000' })
    await eventually(async () => {
      const s = await procs.cli(['status', '--data', dir, '--json'])
      return s.json[0]?.published != null ? true : undefined
    }, 30_000, `${dir} published`)
    return d
  }

  async function attachmentOf (dir: string, from: string): Promise<AttachmentState | undefined> {
    const h = await procs.cli(['history', from, '--data', dir, '--json'])
    const m = h.json.find(x => x.kind === 'attachment')
    const state = m?.attachmentState as AttachmentState | undefined
    if (state?.complete !== true) return state
    const r = await procs.cli(['attachment', state.id, '--data', dir, '--json'])
    return r.json[0] as unknown as AttachmentState
  }

  function sha256 (bytes: Uint8Array): string {
    return createHash('sha256').update(bytes).digest('hex')
  }

  async function accept (dir: string, handle: string): Promise<void> {
    const r = await procs.cli(['contacts', '--accept', handle, '--data', dir, '--json'])
    assert.equal(r.code, 0, r.stderr)
  }

  it('a stranger\'s large file waits for the request to be accepted; the transfer, cut at about half, resumes without sending again what already arrived', async () => {
    const alice = await user('alice')
    const bob = await user('bob')
    await daemon(alice.dir)
    const bobDaemon = await daemon(bob.dir)
    const file = join(alice.dir, 'video.bin')
    const content = randomBytes(90 * 1000 * 1000)
    await writeFile(file, content)
    const sent = await procs.cli(['send', bob.handle, 'the whole thing', '--attach', file, '--data', alice.dir, '--json'])
    assert.equal(sent.code, 0, sent.stderr)

    // Alice is a message request at bob: nothing of her file is fetched or kept.
    const held = await eventually(async () => await attachmentOf(bob.dir, 'alice'), 60_000, 'the attachment message')
    assert.equal(held.waiting, 'request')
    assert.equal(held.receivedChunks, 0)
    const served = await procs.cli(['status', '--data', alice.dir, '--json'])
    assert.deepEqual((served.json[0].attachmentRequests as Served[]).filter(r => r.peer === bob.peerId), [], 'bob asked alice for nothing')
    await accept(bob.dir, alice.handle)

    // Kill bob once he holds about half of the chunks.
    const half = await eventually(async () => {
      const r = await procs.cli(['attachment', await attachmentIdOf(bob.dir, 'alice'), '--data', bob.dir, '--json'])
      const s = r.json[0] as unknown as AttachmentState | undefined
      return s != null && s.receivedChunks >= s.totalChunks * 0.4 ? s : undefined
    }, 120_000, 'half of the attachment')
    await procs.stop(bobDaemon, 'SIGKILL')
    assert.equal(half.complete, false)

    // What is on bob's disk now, chunk by chunk.
    const partial = join(bob.dir, 'attachments', 'partial', half.id)
    const present = new Set((await readdir(partial)).filter(f => /^\d+$/.test(f)).map(Number))
    assert.ok(present.size >= half.receivedChunks && present.size < half.totalChunks, `${present.size} chunks on disk of ${half.totalChunks}`)

    await daemon(bob.dir)
    const done = await eventually(async () => {
      const s = await attachmentOf(bob.dir, 'alice')
      return s?.complete === true ? s : undefined
    }, 120_000, 'the resumed attachment complete')
    assert.ok(done.path != null)
    assert.equal(sha256(await readFile(done.path)), sha256(content))

    // Alice's log of what bob asked for: the first request wanted everything,
    // the requests after the restart only what was missing.
    const status = await procs.cli(['status', '--data', alice.dir, '--json'])
    const requests = (status.json[0].attachmentRequests as Served[]).filter(r => r.id === half.id && r.peer === bob.peerId)
    assert.ok(requests.length >= 2, `requests: ${JSON.stringify(requests)}`)
    assert.deepEqual(requests[0].ranges, [[0, half.totalChunks]])
    const askedAgain = requests.slice(1).flatMap(r => r.ranges.flatMap(([start, end]) => Array.from({ length: end - start }, (_, i) => start + i)))
    const resent = askedAgain.filter(i => present.has(i))
    assert.deepEqual(resent, [], 'chunks already on disk were asked for again')
    assert.equal(new Set(askedAgain).size + present.size, half.totalChunks)
  })

  it('a small file reaches an offline recipient through the relay, intact', async () => {
    const carol = await user('carol')
    const dave = await user('dave')
    await daemon(carol.dir)
    const daveDaemon = await daemon(dave.dir)
    // One message while dave is online pins the contact and starts the session; dave accepts carol.
    assert.equal((await procs.cli(['send', dave.handle, 'hi', '--data', carol.dir])).code, 0)
    await eventually(async () => (await procs.cli(['history', 'carol', '--data', dave.dir, '--json'])).json.length === 1 ? true : undefined, 30_000, 'hi delivered')
    await accept(dave.dir, carol.handle)
    await procs.stop(daveDaemon)
    const file = join(carol.dir, 'photo.png')
    const png = new Uint8Array(200_000)
    png.set([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52])
    await writeFile(file, png)
    const sent = await procs.cli(['send', dave.handle, 'a photo', '--attach', file, '--data', carol.dir, '--json'])
    assert.equal(sent.code, 0, sent.stderr)
    await eventually(async () => {
      const h = await procs.cli(['history', dave.handle, '--data', carol.dir, '--json'])
      return h.json.find(m => m.kind === 'attachment')?.sendState === 'relayed' ? true : undefined
    }, 30_000, 'the photo held by the relay')
    await daemon(dave.dir)
    const done = await eventually(async () => {
      const s = await attachmentOf(dave.dir, 'carol')
      return s?.complete === true ? s : undefined
    }, 60_000, 'the photo complete at dave')
    assert.equal(sha256(await readFile(done.path ?? '')), sha256(png))
    const h = await procs.cli(['history', 'carol', '--data', dave.dir, '--json'])
    const m = h.json.find(x => x.kind === 'attachment') as { text: string, attachment: { fileName: string, kind: string, mimeType: string } }
    assert.equal(m.text, 'a photo')
    assert.equal(m.attachment.fileName, 'photo.png')
    assert.equal(m.attachment.kind, 'image')
  })

  it('refuses files over the limit and files whose bytes do not match their type, with one clear line', async () => {
    const erin = await user('erin')
    const frank = await user('frank')
    await daemon(erin.dir)
    await daemon(frank.dir)
    const big = join(erin.dir, 'huge.bin')
    await (await open(big, 'w')).close()
    await truncate(big, 100 * 1000 * 1000 + 1)
    const r1 = await procs.cli(['send', frank.handle, '--attach', big, '--data', erin.dir])
    assert.equal(r1.code, 1)
    assert.equal(r1.stderr.trim().split('\n').length, 1)
    assert.match(r1.stderr, /limited to 100 MB/)
    const fake = join(erin.dir, 'fake.gif')
    await writeFile(fake, 'this is text, not a GIF')
    const r2 = await procs.cli(['send', frank.handle, '--attach', fake, '--data', erin.dir])
    assert.equal(r2.code, 1)
    assert.match(r2.stderr, /GIF/)
    const r3 = await procs.cli(['send', frank.handle, '--attach', join(erin.dir, 'missing.png'), '--data', erin.dir])
    assert.equal(r3.code, 1)
    assert.match(r3.stderr, /no such file/)
    // Nothing was sent.
    const h = await procs.cli(['history', frank.handle, '--data', erin.dir, '--json'])
    assert.equal(h.json.length, 0)
  })

  async function attachmentIdOf (dir: string, from: string): Promise<string> {
    return eventually(async () => (await attachmentOf(dir, from))?.id, 60_000, 'the attachment message')
  }
})
