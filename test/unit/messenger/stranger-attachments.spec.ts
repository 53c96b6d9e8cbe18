/**
 * Issue 9, item 4: a stranger cannot burn our disk, and automatic downloads
 * have a size and retry budget. Each test performs the attack against the
 * real receive path (Messenger over LevelDB, envelopes sealed by the real
 * library; attachments in a MemoryBlobStore, downloads recorded by the host)
 * and prints what was stored.
 */
import assert from 'node:assert/strict'
import type { PeerId } from '@libp2p/interface'
import { createNodeCrypto } from '../../../node/crypto/node-provider.js'
import { MemoryBlobStore, encodeChunkPayload, encryptAttachment } from '../../../src/messenger/attachments/index.js'
import type { EncryptedAttachment } from '../../../src/messenger/attachments/index.js'
import { MAX_DIRECT_ATTACHMENT_BYTES } from '../../../src/messenger/attachments/constants.js'
import type { AttachmentHost, AttachmentLimits } from '../../../src/messenger/attachment-transfer.js'
import type { AttachmentDescriptor } from '../../../src/messenger/model/index.js'
import { encodeChunkPayloadEnvelope } from '../../../src/messenger/payload.js'
import { makeReceiver, makeSender } from './parties.js'
import type { Receiver, Sender } from './parties.js'

const T0 = Date.UTC(2026, 11, 6)
const DAY = 24 * 60 * 60_000

/** A host whose downloads are recorded, and fail (the sender is offline) unless told otherwise. */
function recordingHost (): AttachmentHost & { blobs: MemoryBlobStore, calls: Array<{ peer: string, id: string }>, succeed: boolean } {
  const host = {
    blobs: new MemoryBlobStore(),
    calls: [] as Array<{ peer: string, id: string }>,
    succeed: false,
    download: async (peer: PeerId, d: AttachmentDescriptor): Promise<void> => {
      host.calls.push({ peer: peer.toString(), id: Buffer.from(d.id).toString('hex') })
      if (!host.succeed) throw new Error('sender offline')
    }
  }
  return host
}

/** Bytes of attachment data this device keeps: blob store chunks and chunks waiting in LevelDB. */
async function kept (receiver: Receiver, blobs: MemoryBlobStore, ids: Uint8Array[]): Promise<{ blobBytes: number, waitingBytes: number }> {
  let blobBytes = 0
  for (const id of ids) {
    for (const index of await blobs.listChunks(id)) blobBytes += (await blobs.readChunk(id, index))?.length ?? 0
  }
  let waitingBytes = 0
  for await (const [key, value] of receiver.store.iterate('dedup', {})) {
    const prefix = new TextDecoder().decode(key.subarray(0, 5))
    if (prefix === 'attp/' || prefix === 'atto/') waitingBytes += value.length
  }
  return { blobBytes, waitingBytes }
}

/** A relay-sized file, encrypted as the sender's device would. */
async function file (bytes: number): Promise<EncryptedAttachment> {
  const content = new Uint8Array(bytes).map((_, i) => i % 251)
  return await encryptAttachment(createNodeCrypto(), content, { fileName: 'f.bin', mimeType: 'application/octet-stream', kind: 'file' })
}

/** Its chunks, each sealed as a chunk payload in the sender's session. */
async function chunkEnvelopes (sender: Sender, a: EncryptedAttachment): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for (const [index, ciphertext] of a.chunks.entries()) {
    out.push(await sender.payload(encodeChunkPayloadEnvelope(encodeChunkPayload({ attachmentId: a.descriptor.id, index, ciphertext }))))
  }
  return out
}

/** A descriptor of a large file the sender never needs to have. */
function largeDescriptor (size = MAX_DIRECT_ATTACHMENT_BYTES): AttachmentDescriptor {
  const crypto = createNodeCrypto()
  return { id: crypto.randomBytes(16), fileName: 'big.bin', mimeType: 'application/octet-stream', kind: 'file', size, sha256: crypto.randomBytes(32), key: crypto.randomBytes(32), chunkSize: 64 * 1024 }
}

async function receiveAll (receiver: Receiver, sender: Sender, envelopes: Uint8Array[]): Promise<string[]> {
  const out: string[] = []
  for (const e of envelopes) {
    try {
      await receiver.messenger.receiveDirect(e, sender.account.peerId)
      out.push('stored')
    } catch (err) {
      out.push(`${(err as Error).name}: ${(err as Error).message}`)
    }
  }
  return out
}

/** Waits (on the event loop, no wall-clock limit) until `check` holds. */
async function until (check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise(resolve => setTimeout(resolve, 5))
}

function report (what: string, figures: Record<string, number>): void {
  process.stdout.write(`      ${what}: ${Object.entries(figures).map(([k, v]) => `${k} ${v}`).join(', ')}\n`)
}

describe('messenger: a stranger cannot fill our disk with attachments, and downloads are budgeted', function () {
  const crypto = createNodeCrypto()
  let now = T0
  let host: ReturnType<typeof recordingHost>
  let receiver: Receiver
  const limits: Partial<AttachmentLimits> = {
    maxDownloadAttempts: 3,
    downloadBudget: { capacity: 2.5 * MAX_DIRECT_ATTACHMENT_BYTES, refillMs: DAY },
    orphans: { ttlMs: 3 * DAY, maxBytesPerAccount: 1_000_000 }
  }

  beforeEach(async () => {
    now = T0
    host = recordingHost()
    receiver = await makeReceiver(crypto, { now: () => now, attachments: host, init: { retryIntervalMs: 1, attachmentLimits: limits } })
    await receiver.messenger.start()
  })
  afterEach(async () => { await receiver.close() })

  /** A sender whose first message made it a request; accepted when asked. */
  async function contact (accept: boolean): Promise<Sender> {
    const s = await makeSender(crypto, receiver.me, now)
    assert.deepEqual(await receiveAll(receiver, s, [await s.message({ kind: 'text', text: 'hi' })]), ['stored'])
    if (accept) await receiver.messenger.contacts.setState(s.account.identity.accountKey, 'accepted')
    return s
  }

  it('a message request\'s attachment chunks are not kept, its descriptors not fetched; accepting the request fetches them from the sender', async () => {
    const mallory = await contact(false)
    const small = await file(900_000)
    const big = largeDescriptor()
    const orphan = await file(600_000)
    const envelopes = [
      await mallory.message({ kind: 'attachment', attachments: [small.descriptor] }, 2),
      ...await chunkEnvelopes(mallory, small),
      await mallory.message({ kind: 'attachment', attachments: [big] }, 3),
      ...await chunkEnvelopes(mallory, orphan)
    ]
    const outcomes = await receiveAll(receiver, mallory, envelopes)
    assert.deepEqual(outcomes, envelopes.map(() => 'stored'), 'each envelope is consumed (and acknowledged)')
    const after = await kept(receiver, host.blobs, [small.descriptor.id, big.id, orphan.descriptor.id])
    report('request', { envelopes: envelopes.length, ...after, downloads: host.calls.length })
    assert.deepEqual(after, { blobBytes: 0, waitingBytes: 0 })
    assert.equal(host.calls.length, 0, 'nothing fetched for a request')
    assert.equal((await receiver.messenger.attachments?.state(big.id))?.waiting, 'request')

    // The user accepts: both announced attachments are pulled from mallory's device.
    host.succeed = true
    await receiver.messenger.contacts.setState(mallory.account.identity.accountKey, 'accepted')
    await receiver.messenger.attachments?.accepted(mallory.account.identity.accountKey)
    await until(() => host.calls.length === 2)
    assert.deepEqual(new Set(host.calls.map(c => c.id)), new Set([small.descriptor.id, big.id].map(id => Buffer.from(id).toString('hex'))))
    assert.ok(host.calls.every(c => c.peer === mallory.account.peerId.toString()))
  })

  it('chunks whose descriptor never comes wait within a per-contact share, and expire', async () => {
    const carol = await contact(true)
    const orphans = await file(3_000_000)
    const outcomes = await receiveAll(receiver, carol, await chunkEnvelopes(carol, orphans))
    assert.ok(outcomes.every(o => o === 'stored'))
    const before = await kept(receiver, host.blobs, [orphans.descriptor.id])
    report('orphans kept', { chunks: orphans.chunks.length, ...before })
    assert.ok(before.waitingBytes > 0 && before.waitingBytes <= 1_000_000, `${before.waitingBytes} bytes waiting, the share is 1,000,000`)

    now += 3 * DAY + 1
    await receiver.messenger.attachments?.sweep()
    const after = await kept(receiver, host.blobs, [orphans.descriptor.id])
    report('orphans after 3 days', after)
    assert.deepEqual(after, { blobBytes: 0, waitingBytes: 0 })

    // Chunks that wait for a descriptor that does come are still used.
    const photo = await file(300_000)
    assert.ok((await receiveAll(receiver, carol, await chunkEnvelopes(carol, photo))).every(o => o === 'stored'))
    assert.deepEqual(await receiveAll(receiver, carol, [await carol.message({ kind: 'attachment', attachments: [photo.descriptor] }, 2)]), ['stored'])
    assert.equal((await receiver.messenger.attachments?.state(photo.descriptor.id))?.complete, true)

    // A partial attachment whose other chunks never come is removed after the same time; its descriptor stays.
    const partial = await file(500_000)
    const halfOf = (await chunkEnvelopes(carol, partial)).slice(0, 4)
    assert.deepEqual(await receiveAll(receiver, carol, [await carol.message({ kind: 'attachment', attachments: [partial.descriptor] }, 3), ...halfOf]), ['stored', ...halfOf.map(() => 'stored')])
    assert.equal((await kept(receiver, host.blobs, [partial.descriptor.id])).blobBytes, 4 * 64 * 1024)
    now += 3 * DAY + 1
    await receiver.messenger.attachments?.sweep()
    assert.equal((await kept(receiver, host.blobs, [partial.descriptor.id])).blobBytes, 0)
    assert.equal((await receiver.messenger.attachments?.state(partial.descriptor.id))?.waiting, 'expired')
    assert.equal((await receiver.messenger.attachments?.state(photo.descriptor.id))?.complete, true, 'complete ones stay')
  })

  it('an automatic download stops after its attempts; the sender\'s byte budget bounds what starts; the user can still ask', async () => {
    const carol = await contact(true)
    const descriptors = [largeDescriptor(), largeDescriptor(), largeDescriptor()]
    const envelopes: Uint8Array[] = []
    for (const [i, d] of descriptors.entries()) envelopes.push(await carol.message({ kind: 'attachment', attachments: [d] }, 2 + i))
    const outcomes = await receiveAll(receiver, carol, envelopes)
    assert.deepEqual(outcomes, ['stored', 'stored', 'stored'])
    const hex = descriptors.map(d => Buffer.from(d.id).toString('hex'))
    // Two fit the budget of 2.5 files; each is tried 3 times and then waits for the user.
    await until(async () => (await receiver.messenger.attachments?.state(descriptors[1].id))?.waiting === 'attempts')
    await until(async () => (await receiver.messenger.attachments?.state(descriptors[0].id))?.waiting === 'attempts')
    report('automatic downloads', { descriptors: 3, attempts: host.calls.length })
    assert.equal(host.calls.filter(c => c.id === hex[0]).length, 3)
    assert.equal(host.calls.filter(c => c.id === hex[1]).length, 3)
    assert.equal(host.calls.filter(c => c.id === hex[2]).length, 0)
    assert.equal((await receiver.messenger.attachments?.state(descriptors[2].id))?.waiting, 'budget')

    // A restart does not give them new attempts.
    await receiver.messenger.stop()
    await receiver.messenger.start()
    await new Promise(resolve => setTimeout(resolve, 20))
    assert.equal(host.calls.length, 6)

    // The user asks for the third: fetched whatever the budget.
    host.succeed = true
    await receiver.messenger.attachments?.download(descriptors[2].id)
    await until(() => host.calls.length === 7)
    assert.equal(host.calls[6].id, hex[2])
  })
})
