/**
 * Several files as one message (an album): the model, its bound (enforced
 * on receive, cheaply, against a hostile count), and the wire format shared
 * with peers of the previous version (field 18 held one Attachment).
 */
import assert from 'node:assert/strict'
import { createCrypto } from '../../../../src/crypto/index.js'
import {
  MAX_ATTACHMENTS_PER_MESSAGE, decodeMessage, encodeMessage, newMessageId, reduceConversation
} from '../../../../src/messenger/model/index.js'
import type { AttachmentDescriptor, Author, InvalidMessageReason, Message } from '../../../../src/messenger/model/index.js'
import * as pb from '../../../../src/messenger/model/pb/message.js'
import { makeAuthor } from './arbitraries.js'

const crypto = createCrypto()

function assertInvalid (fn: () => unknown, reason: InvalidMessageReason, pattern?: RegExp): void {
  assert.throws(fn, (err: Error & { reason?: string }) => {
    assert.equal(err.name, 'InvalidMessageError')
    assert.equal(err.reason, reason, err.message)
    if (pattern != null) assert.match(err.message, pattern)
    return true
  })
}

function file (name: string, caption?: string): AttachmentDescriptor {
  return {
    id: crypto.randomBytes(16),
    fileName: name,
    mimeType: 'image/png',
    kind: 'image',
    size: 1000,
    sha256: crypto.randomBytes(32),
    key: crypto.randomBytes(32),
    chunkSize: 65536,
    ...(caption != null ? { caption } : {})
  }
}

function album (author: Author, files: AttachmentDescriptor[]): Message {
  return { id: newMessageId(crypto), author, timestamp: 1_700_000_000_000, lamport: 1, body: { kind: 'attachment', attachments: files } }
}

function varint (v: number): number[] {
  const out: number[] = []
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80)
    v >>>= 7
  }
  out.push(v)
  return out
}

/** A protobuf length-delimited field. */
function field (n: number, bytes: Uint8Array): Uint8Array {
  return Uint8Array.from([...varint((n << 3) | 2), ...varint(bytes.length), ...bytes])
}

describe('messenger/model albums (several files in one message)', () => {
  let alice: Author

  before(async () => {
    alice = await makeAuthor(1)
  })

  it('carries several files, each with its own descriptor, the caption with the first; the view lists them all', () => {
    const files = [file('a.png', 'holiday'), file('b.png'), file('c.png')]
    const m = album(alice, files)
    const back = decodeMessage(encodeMessage(m))
    assert.ok(back.body.kind === 'attachment')
    assert.deepEqual(back.body.attachments.map(a => a.fileName), ['a.png', 'b.png', 'c.png'])
    assert.deepEqual(back.body.attachments.map(a => a.id), files.map(a => a.id))
    const view = reduceConversation([back]).messages[0]
    assert.equal(view.text, 'holiday')
    assert.deepEqual(view.attachments?.map(a => a.fileName), ['a.png', 'b.png', 'c.png'])
  })

  it(`takes up to ${MAX_ATTACHMENTS_PER_MESSAGE} files and refuses one more, an empty list, a repeated id and a caption after the first`, () => {
    const most = Array.from({ length: MAX_ATTACHMENTS_PER_MESSAGE }, (_, i) => file(`${i}.png`))
    assert.equal(decodeMessage(encodeMessage(album(alice, most))).body.kind, 'attachment')
    assertInvalid(() => encodeMessage(album(alice, [...most, file('x.png')])), 'bad-attachment', /at most 10/)
    assertInvalid(() => encodeMessage(album(alice, [])), 'missing-field')
    const a = file('a.png')
    assertInvalid(() => encodeMessage(album(alice, [a, { ...a, fileName: 'again.png' }])), 'bad-attachment', /repeats the id/)
    assertInvalid(() => encodeMessage(album(alice, [file('a.png'), file('b.png', 'second caption')])), 'bad-attachment', /first/)
  })

  it('a peer claiming 10,000 files is refused by the decoder at the 11th descriptor, before any is validated', () => {
    // 10,000 empty descriptors fit in 20 KB, far under the message size limit.
    const header = pb.Message.encode({ id: newMessageId(crypto) as Uint8Array<ArrayBuffer>, author: { account: alice.account as Uint8Array<ArrayBuffer>, device: alice.device as Uint8Array<ArrayBuffer> }, timestamp: 1, lamport: 1, attachments: [] })
    const empty = field(18, new Uint8Array(0))
    const hostile = new Uint8Array(header.length + 10_000 * empty.length)
    hostile.set(header)
    for (let i = 0; i < 10_000; i++) hostile.set(empty, header.length + i * empty.length)
    let decoded = 0
    const original = pb.Attachment.codec
    // Counts descriptors the decoder parses: the limit must stop it, not the validation of 10,000.
    const spy = (): ReturnType<typeof original> => {
      const codec = original()
      return { ...codec, decode: (...args: Parameters<typeof codec.decode>) => { decoded++; return codec.decode(...args) } }
    }
    ;(pb.Attachment as { codec: typeof original }).codec = spy
    try {
      assertInvalid(() => decodeMessage(hostile), 'bad-attachment', /at most 10 attachments/)
    } finally {
      ;(pb.Attachment as { codec: typeof original }).codec = original
    }
    assert.ok(decoded <= MAX_ATTACHMENTS_PER_MESSAGE, `parsed ${decoded} descriptors`)
  })

  it('one file is the same bytes as a message of the previous version (field 18, one Attachment): stored messages and old peers read it', () => {
    const one = file('a.png', 'hi')
    const m = album(alice, [one])
    // The previous version wrote the message, then its one Attachment as field 18.
    const withoutFile = pb.Message.encode({ id: m.id as Uint8Array<ArrayBuffer>, author: { account: alice.account as Uint8Array<ArrayBuffer>, device: alice.device as Uint8Array<ArrayBuffer> }, timestamp: m.timestamp, lamport: m.lamport, attachments: [] })
    const previous = Uint8Array.from([...withoutFile, ...field(18, pb.Attachment.encode({ ...one, kind: pb.AttachmentKind.ATTACHMENT_KIND_IMAGE } as pb.Attachment))])
    assert.deepEqual(encodeMessage(m), previous)
    const back = decodeMessage(previous)
    assert.ok(back.body.kind === 'attachment')
    assert.equal(back.body.attachments.length, 1)
    assert.equal(back.body.attachments[0].caption, 'hi')
  })
})
