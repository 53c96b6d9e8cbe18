/**
 * Files in backups (backup-format.ts, version 3): every whole attachment,
 * sent or received, is in the backup, encrypted like the rest, written and
 * restored a frame at a time; restored byte for byte and checked against
 * its descriptor; a tampered, reordered or cut-short file part is refused.
 */
import assert from 'node:assert/strict'
import { createCrypto } from '../../../src/crypto/index.js'
import { MemoryBlobStore, prepareAttachment } from '../../../src/messenger/attachments/index.js'
import type { BlobStore } from '../../../src/messenger/attachments/index.js'
import { putRecordOp, toStored } from '../../../src/messenger/attachment-records.js'
import { FRAME_DATA_BYTES, backupFileIds, openBackup, writeBackup } from '../../../src/messenger/backup-format.js'
import type { BackupContents } from '../../../src/messenger/backup.js'
import type { AttachmentDescriptor } from '../../../src/messenger/model/index.js'
import { concat } from '../../../src/messenger/bytes.js'
import { CHEAP, PASS } from './backup-v1.js'

const crypto = createCrypto()

async function collect (pieces: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const p of pieces) out.push(p)
  return out
}

async function * from (pieces: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield * pieces
}

async function whole (blobs: BlobStore, id: Uint8Array): Promise<Uint8Array> {
  return concat(...await collect(blobs.read(id)))
}

function contentsOf (descriptors: AttachmentDescriptor[]): BackupContents {
  return {
    keyFile: Uint8Array.of(1, 2, 3),
    entries: descriptors.map(d => {
      const op = putRecordOp(toStored(d))
      assert.ok(op.type === 'put')
      return { namespace: 'dedup' as const, key: op.key, value: op.value }
    }),
    unsent: []
  }
}

describe('messenger/backup files', () => {
  let blobs: MemoryBlobStore
  let big: AttachmentDescriptor
  let empty: AttachmentDescriptor
  let partial: AttachmentDescriptor
  let bigBytes: Uint8Array
  let contents: BackupContents

  beforeEach(async () => {
    blobs = new MemoryBlobStore()
    bigBytes = new Uint8Array(700_000).map((_, i) => (i * 7919) % 251)
    big = await prepareAttachment(crypto, bigBytes, { fileName: 'holiday.bin', mimeType: 'application/octet-stream', kind: 'file' }, blobs, { chunkSize: 100_000 })
    empty = await prepareAttachment(crypto, new Uint8Array(0), { fileName: 'empty.txt', mimeType: 'text/plain', kind: 'file' }, blobs)
    // A received file still arriving: not in the backup (it is fetched again after the import).
    const other = new MemoryBlobStore()
    partial = await prepareAttachment(crypto, crypto.randomBytes(3000), { fileName: 'coming.bin', mimeType: 'application/octet-stream', kind: 'file' }, other, { chunkSize: 1024 })
    const first = await other.readChunk(partial.id, 0)
    assert.ok(first != null)
    await blobs.putChunk(partial.id, 0, first)
    contents = contentsOf([big, empty, partial])
  })

  it('holds every whole file, restored byte for byte into another store, one frame at a time', async () => {
    const ids = await backupFileIds(contents, blobs)
    assert.deepEqual(ids, [big.id, empty.id], 'whole files only')
    const pieces = await collect(writeBackup(crypto, contents, PASS, { params: CHEAP, files: { blobs, ids } }))
    // Nothing written at once beyond a frame: the files are never all in memory.
    for (const p of pieces.slice(1)) assert.ok(p.length <= 4 + 1 + FRAME_DATA_BYTES + 16, `a piece of ${p.length} bytes`)
    const opened = await openBackup(crypto, from(pieces), PASS)
    assert.equal(opened.version, 3)
    assert.deepEqual(opened.contents.keyFile, contents.keyFile)
    const restored = new MemoryBlobStore()
    assert.equal(await opened.restoreFiles(restored), 2)
    assert.deepEqual(await whole(restored, big.id), bigBytes)
    assert.equal(await restored.isComplete(empty.id), true)
    assert.deepEqual(await whole(restored, empty.id), new Uint8Array(0))
    assert.equal(await restored.isComplete(partial.id), false)
  })

  it('reads the files lazily: the first piece is out before any file byte is read', async () => {
    let reads = 0
    const counting: BlobStore = Object.assign(Object.create(blobs) as MemoryBlobStore, {
      read: async function * (id: Uint8Array) {
        for await (const chunk of blobs.read(id)) {
          reads++
          yield chunk
        }
      }
    })
    const writer = writeBackup(crypto, contents, PASS, { params: CHEAP, files: { blobs: counting, ids: [big.id] } })
    await writer.next()
    assert.equal(reads, 0)
    await writer.next()
    await writer.next()
    assert.ok(reads <= 1, `${reads} chunks read for the first frame of the file`)
    await writer.return(undefined)
  })

  it('refuses a file part tampered with, frames reordered, and a backup cut short, with BackupError', async () => {
    const ids = await backupFileIds(contents, blobs)
    const pieces = await collect(writeBackup(crypto, contents, PASS, { params: CHEAP, files: { blobs, ids } }))
    const tampered = pieces.map(p => p.slice())
    tampered[3][20] ^= 1
    const swapped = [pieces[0], pieces[1], pieces[3], pieces[2], ...pieces.slice(4)]
    const cut = pieces.slice(0, -1)
    for (const [what, bad] of [['tampered', tampered], ['reordered', swapped], ['cut short', cut]] as const) {
      const opened = await openBackup(crypto, from(bad), PASS)
      await assert.rejects(opened.restoreFiles(new MemoryBlobStore()), { name: 'BackupError' }, what)
    }
  })
})
