/**
 * `/starling/attachment/1.0.0` between real libp2p nodes over TCP on
 * 127.0.0.1: a 100 MB transfer, a transfer cut at half and resumed, an
 * unauthorised peer, a lying sender, a stalled sender, garbage on the wire.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Libp2p } from '@libp2p/interface'
import { createNodeCrypto } from '../../../../node/crypto/node-provider.js'
import { FileBlobStore, nodeSha256 } from '../../../../node/blob-store.js'
import {
  CHUNK_SIZE, MemoryBlobStore, chunkCount, downloadAttachment, encryptChunk, prepareAttachment
} from '../../../../src/messenger/attachments/index.js'
import type { AttachmentMeta, BlobStore, DownloadProgress } from '../../../../src/messenger/attachments/index.js'
import type { AttachmentDescriptor } from '../../../../src/messenger/model/index.js'
import { PROTOCOL, toRanges } from '../../../../src/protocols/attachment/index.js'
import { EndStatus, ServerFrame } from '../../../../src/protocols/attachment/pb/attachment.js'
import { lpStream } from '@libp2p/utils'
import { fileOf, rejectsNamed } from '../../messenger/attachments/helpers.js'
import { plainNode, senderNode } from './nodes.js'
import type { Sender } from './nodes.js'

const crypto = createNodeCrypto()
const fileMeta: AttachmentMeta = { fileName: 'data.bin', mimeType: 'application/octet-stream', kind: 'file' }

/** A file of `size` bytes generated in 1 MiB pieces (never whole in memory). */
async function * generated (size: number): AsyncGenerator<Uint8Array> {
  const piece = fileOf([], 1 << 20, 42)
  for (let sent = 0; sent < size; sent += piece.length) {
    piece[0] = sent & 0xff
    yield piece.subarray(0, Math.min(piece.length, size - sent))
  }
}

async function sha256Of (store: BlobStore, id: Uint8Array): Promise<Uint8Array> {
  const h = createHash('sha256')
  for await (const piece of store.read(id)) h.update(piece)
  return new Uint8Array(h.digest())
}

describe('protocols/attachment over TCP', function () {
  this.timeout(60_000)
  const dirs: string[] = []
  const nodes: Libp2p[] = []

  async function fileStore (): Promise<FileBlobStore> {
    const dir = await mkdtemp(join(tmpdir(), 'starling-attach-'))
    dirs.push(dir)
    return await new FileBlobStore(dir, { sha256: nodeSha256 }).open()
  }

  async function pair (senderStore: BlobStore, options: Parameters<typeof senderNode>[2] = {}): Promise<{ sender: Sender, receiver: Libp2p }> {
    const sender = await senderNode(crypto, senderStore, options)
    const receiver = await plainNode()
    nodes.push(sender.node, receiver)
    await receiver.dial(sender.node.getMultiaddrs())
    return { sender, receiver }
  }

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async n => { await n.stop() }))
  })

  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true })
  })

  it('moves 100 MB, every chunk verified, into a file store with the right digest', async function () {
    const size = 100_000_000
    const senderStore = new MemoryBlobStore({ sha256: nodeSha256 })
    const d = await prepareAttachment(crypto, generated(size), fileMeta, senderStore, { sha256: nodeSha256 })
    const { sender, receiver } = await pair(senderStore)
    sender.share(d, receiver.peerId)
    const store = await fileStore()
    let last: DownloadProgress | undefined
    const started = performance.now()
    await downloadAttachment(receiver, sender.node.peerId, d, store, { crypto, onProgress: p => { last = p } })
    const seconds = (performance.now() - started) / 1000
    const mbps = size / 1e6 / seconds
    this.test!.title += ` (${seconds.toFixed(1)} s, ${mbps.toFixed(0)} MB/s)`
    assert.equal(await store.isComplete(d.id), true)
    assert.deepEqual(await sha256Of(store, d.id), d.sha256)
    assert.equal(sender.log.reads.length, chunkCount(d))
    assert.deepEqual(last, { receivedChunks: chunkCount(d), totalChunks: chunkCount(d), receivedBytes: size, totalBytes: size })
  })

  it('resumes a transfer cut at about half without sending again what already arrived', async () => {
    const size = 128 * CHUNK_SIZE + 123
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, generated(size), fileMeta, senderStore)
    const total = chunkCount(d)
    const { sender, receiver } = await pair(senderStore)
    sender.share(d, receiver.peerId)
    const store = await fileStore()

    const cut = new AbortController()
    await assert.rejects(downloadAttachment(receiver, sender.node.peerId, d, store, {
      crypto,
      signal: cut.signal,
      onProgress: p => { if (p.receivedChunks === Math.floor(total / 2)) cut.abort(new Error('cut')) }
    }), /cut/)
    const kept = await store.listChunks(d.id)
    // Chunks already being stored when the cut came (at most the concurrency, 4) may finish too.
    assert.ok(kept.length >= Math.floor(total / 2) && kept.length <= Math.floor(total / 2) + 4, `kept ${kept.length} of ${total}`)
    assert.equal(await store.isComplete(d.id), false)
    const firstSessionReads = sender.log.reads.splice(0)
    assert.ok(firstSessionReads.length < total, `first session read ${firstSessionReads.length} of ${total}`)

    let resumedFrom: number | undefined
    await downloadAttachment(receiver, sender.node.peerId, d, store, { crypto, onProgress: p => { resumedFrom ??= p.receivedChunks - 1 } })
    const missing = Array.from({ length: total }, (_, i) => i).filter(i => !kept.includes(i))
    assert.deepEqual(sender.log.reads, missing, 'the second session read exactly the missing chunks')
    assert.deepEqual(sender.log.requests[1].ranges, toRanges(missing))
    assert.equal(resumedFrom, kept.length)
    assert.equal(await store.isComplete(d.id), true)
    assert.deepEqual(await sha256Of(store, d.id), d.sha256)
  })

  it('resumes from a restarted sender node after the first one stopped mid-way', async () => {
    const size = 64 * CHUNK_SIZE
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, generated(size), fileMeta, senderStore)
    const total = chunkCount(d)
    const privateKey = await generateKeyPair('Ed25519')
    const { sender, receiver } = await pair(senderStore, { privateKey })
    sender.share(d, receiver.peerId)
    const store = await fileStore()
    let stopping: Promise<void> | void | undefined
    await assert.rejects(downloadAttachment(receiver, sender.node.peerId, d, store, {
      crypto,
      frameTimeoutMs: 5000,
      onProgress: p => { if (p.receivedChunks === total / 2) stopping = sender.node.stop() }
    }))
    await stopping
    const kept = (await store.listChunks(d.id)).length
    assert.ok(kept >= total / 2 && kept < total, `kept ${kept} of ${total}`)

    const again = await senderNode(crypto, senderStore, { privateKey })
    nodes.push(again.node)
    again.share(d, receiver.peerId)
    await receiver.dial(again.node.getMultiaddrs())
    await downloadAttachment(receiver, again.node.peerId, d, store, { crypto })
    assert.equal(again.log.reads.length, total - kept)
    assert.deepEqual(await sha256Of(store, d.id), d.sha256)
  })

  it('gives an unauthorised peer nothing, the same answer as for an unknown attachment', async () => {
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, generated(5 * CHUNK_SIZE), fileMeta, senderStore)
    const { sender, receiver } = await pair(senderStore)
    sender.share(d, (await plainNode().then(n => { nodes.push(n); return n })).peerId)
    const store = new MemoryBlobStore()
    await rejectsNamed(downloadAttachment(receiver, sender.node.peerId, d, store, { crypto }), 'AttachmentNotFoundError')
    const unknown: AttachmentDescriptor = { ...d, id: crypto.randomBytes(16) }
    await rejectsNamed(downloadAttachment(receiver, sender.node.peerId, unknown, store, { crypto }), 'AttachmentNotFoundError')
    assert.deepEqual(sender.log.reads, [])
    assert.deepEqual(await store.listChunks(d.id), [])
  })

  it('rejects a corrupted chunk from a lying sender, stores nothing of it, and is not complete', async () => {
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, generated(10 * CHUNK_SIZE), fileMeta, senderStore)
    const { sender, receiver } = await pair(senderStore, {
      tamper: (index, c) => {
        if (index !== 5) return c
        const bad = c.slice()
        bad[100] ^= 0x40
        return bad
      }
    })
    sender.share(d, receiver.peerId)
    const store = new MemoryBlobStore()
    await rejectsNamed(downloadAttachment(receiver, sender.node.peerId, d, store, { crypto }), 'AttachmentIntegrityError')
    const stored = await store.listChunks(d.id)
    assert.deepEqual(stored.slice(0, 5), [0, 1, 2, 3, 4])
    assert.equal(stored.includes(5), false, 'nothing of the corrupted chunk is stored')
    assert.equal(await store.isComplete(d.id), false)
    await rejectsNamed((async () => { for await (const piece of store.read(d.id)) void piece })(), 'AttachmentIncompleteError')
  })

  it('refuses a sender whose "image" is not one before storing any of it', async () => {
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, generated(3 * CHUNK_SIZE), fileMeta, senderStore)
    const liar: AttachmentDescriptor = { ...d, kind: 'image', mimeType: 'image/png' }
    const { sender, receiver } = await pair(senderStore)
    sender.share(liar, receiver.peerId)
    const store = new MemoryBlobStore()
    await rejectsNamed(downloadAttachment(receiver, sender.node.peerId, liar, store, { crypto }), 'AttachmentTypeError')
    assert.deepEqual(await store.listChunks(d.id), [])
  })

  it('refuses a descriptor over the limit before any traffic', async () => {
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, generated(3 * CHUNK_SIZE), fileMeta, senderStore)
    const { sender, receiver } = await pair(senderStore)
    sender.share(d, receiver.peerId)
    await rejectsNamed(downloadAttachment(receiver, sender.node.peerId, d, new MemoryBlobStore(), { crypto, maxBytes: CHUNK_SIZE }), 'AttachmentTooLargeError')
    assert.deepEqual(sender.log.requests, [])
  })

  it('times out on a sender that stops sending, keeping what arrived', async () => {
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, generated(8 * CHUNK_SIZE), fileMeta, senderStore)
    const release = new AbortController()
    const { sender, receiver } = await pair(senderStore, {
      stall: async index => {
        if (index < 3) return
        await new Promise(resolve => { release.signal.addEventListener('abort', resolve, { once: true }) })
      }
    })
    sender.share(d, receiver.peerId)
    const store = new MemoryBlobStore()
    // The sender stalls until released after this: only the frame timeout can end the download.
    await rejectsNamed(downloadAttachment(receiver, sender.node.peerId, d, store, { crypto, frameTimeoutMs: 300 }), 'TimeoutError')
    release.abort()
    assert.deepEqual(await store.listChunks(d.id), [0, 1, 2])
  })

  it('drops a stream of garbage and keeps serving', async () => {
    const senderStore = new MemoryBlobStore()
    const d = await prepareAttachment(crypto, generated(2 * CHUNK_SIZE), fileMeta, senderStore)
    const { sender, receiver } = await pair(senderStore)
    sender.share(d, receiver.peerId)
    for (const junk of [Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x0f]), Uint8Array.from([3, 1, 2, 3]), Uint8Array.from([2, 0x12, 0x00])]) {
      const stream = await receiver.dialProtocol(sender.node.peerId, PROTOCOL, { signal: AbortSignal.timeout(5000) })
      const ended = new Promise(resolve => { stream.addEventListener('close', resolve, { once: true }) })
      stream.send(junk)
      await Promise.race([ended, new Promise((_resolve, reject) => setTimeout(() => { reject(new Error('stream not dropped within 5 s')) }, 5000).unref())])
      assert.notEqual(stream.status, 'open')
    }
    const store = new MemoryBlobStore()
    await downloadAttachment(receiver, sender.node.peerId, d, store, { crypto })
    assert.equal(await store.isComplete(d.id), true)
  })

  describe('a sender that breaks the protocol', () => {
    // What the sender writes after reading the request, the error expected, the valid chunks it sent.
    const cases: Array<[string, (ciphertexts: Uint8Array[]) => Uint8Array[], string, number[]]> = [
      ['sends chunk 1 first', c => [frame(1, c[1])], 'AttachmentProtocolError', []],
      ['sends more chunks than asked for', c => [frame(0, c[0]), frame(1, c[1]), frame(2, c[1])], 'AttachmentProtocolError', [0, 1]],
      ['ends early with OK', c => [frame(0, c[0]), ServerFrame.encode({ end: { status: EndStatus.END_STATUS_OK } })], 'AttachmentProtocolError', [0]],
      ['sends an empty frame', () => [ServerFrame.encode({})], 'AttachmentProtocolError', []],
      ['sends a frame longer than a chunk', c => [frame(0, new Uint8Array(c[0].length + 100))], 'InvalidDataLengthError', []],
      ['sends a chunk one byte short', c => [frame(0, c[0].subarray(1))], 'AttachmentIntegrityError', []]
    ]

    function frame (index: number, ciphertext: Uint8Array): Uint8Array {
      return ServerFrame.encode({ chunk: { index, ciphertext: ciphertext as Uint8Array<ArrayBuffer> } })
    }

    for (const [what, frames, name, valid] of cases) {
      it(`${what}: ${name}, only valid chunks stored, not complete`, async () => {
        const honest = new MemoryBlobStore()
        const d = await prepareAttachment(crypto, generated(2 * CHUNK_SIZE), fileMeta, honest)
        const ciphertexts = [
          await encryptChunk(crypto, d, 0, (await honest.readChunk(d.id, 0))!),
          await encryptChunk(crypto, d, 1, (await honest.readChunk(d.id, 1))!)
        ]
        const evil = await plainNode()
        const receiver = await plainNode()
        nodes.push(evil, receiver)
        await evil.handle(PROTOCOL, async stream => {
          const lp = lpStream(stream)
          await lp.read({ signal: AbortSignal.timeout(5000) })
          for (const f of frames(ciphertexts)) await lp.write(f, { signal: AbortSignal.timeout(5000) })
          await stream.close({ signal: AbortSignal.timeout(5000) }).catch(() => {})
        })
        await receiver.dial(evil.getMultiaddrs())
        const store = new MemoryBlobStore()
        await rejectsNamed(downloadAttachment(receiver, evil.peerId, d, store, { crypto, frameTimeoutMs: 2000 }), name)
        assert.equal(await store.isComplete(d.id), false)
        assert.deepEqual(await store.listChunks(d.id), valid)
      })
    }
  })
})
