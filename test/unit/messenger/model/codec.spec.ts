import assert from 'node:assert/strict'
import fc from 'fast-check'
import { createCrypto } from '../../../../src/crypto/index.js'
import {
  decodeMessage, encodeMessage, MAX_MESSAGE_BYTES, MAX_RECEIPT_IDS, MAX_TEXT_CODE_POINTS, newMessageId
} from '../../../../src/messenger/model/index.js'
import type { Author, InvalidMessageReason, Message, MessageBody } from '../../../../src/messenger/model/index.js'
import * as pb from '../../../../src/messenger/model/pb/message.js'
import { makeAuthor, messageArb } from './arbitraries.js'

const crypto = createCrypto()

function assertInvalid (fn: () => unknown, reason: InvalidMessageReason): void {
  assert.throws(fn, (err: Error & { reason?: string }) => {
    assert.equal(err.name, 'InvalidMessageError')
    assert.equal(err.reason, reason, err.message)
    return true
  })
}

function varint (n: bigint): number[] {
  const out: number[] = []
  while (n >= 0x80n) {
    out.push(Number(n & 0x7fn) | 0x80)
    n >>= 7n
  }
  out.push(Number(n))
  return out
}

describe('messenger/model codec', () => {
  let alice: Author
  let bob: Author
  let valid: pb.Message

  before(async () => {
    alice = await makeAuthor(1)
    bob = await makeAuthor(2)
  })

  beforeEach(() => {
    valid = {
      id: newMessageId(crypto) as Uint8Array<ArrayBuffer>,
      author: { account: alice.account as Uint8Array<ArrayBuffer>, device: alice.device as Uint8Array<ArrayBuffer> },
      timestamp: 1_700_000_000_000,
      lamport: 3,
      text: { text: 'hello' },
      attachments: []
    }
  })

  const raw = (m: pb.Message): Uint8Array => pb.Message.encode(m)

  it('round-trips every kind (property)', () => {
    fc.assert(fc.property(messageArb([alice, bob]), (m: Message) => {
      const bytes = encodeMessage(m)
      assert.ok(bytes.length <= MAX_MESSAGE_BYTES)
      assert.deepEqual(decodeMessage(bytes), m)
    }), { numRuns: 500 })
  })

  it('decodes a hand-built message', () => {
    const m = decodeMessage(raw(valid))
    assert.deepEqual(m.body, { kind: 'text', text: 'hello' })
    assert.equal(m.lamport, 3)
  })

  it('never throws anything but InvalidMessageError on random bytes (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
      try {
        decodeMessage(bytes)
      } catch (err) {
        assert.equal((err as Error).name, 'InvalidMessageError')
      }
    }), { numRuns: 2000 })
  })

  it('never throws anything but InvalidMessageError on mutated valid messages (property)', () => {
    fc.assert(fc.property(messageArb([alice, bob]), fc.nat(), fc.integer({ min: 0, max: 255 }), (m, at, value) => {
      const bytes = encodeMessage(m)
      bytes[at % bytes.length] = value
      try {
        decodeMessage(bytes)
      } catch (err) {
        assert.equal((err as Error).name, 'InvalidMessageError')
      }
    }), { numRuns: 1000 })
  })

  it('refuses input over the size limit before parsing', () => {
    assertInvalid(() => decodeMessage(new Uint8Array(MAX_MESSAGE_BYTES + 1)), 'too-large')
    assertInvalid(() => decodeMessage(raw(valid), { maxBytes: 10 }), 'too-large')
  })

  it('refuses truncated input', () => {
    const bytes = raw(valid)
    assertInvalid(() => decodeMessage(bytes.subarray(0, bytes.length - 2)), 'malformed')
  })

  it('refuses a missing author, a short id, a bad account key, a device that is not a peer id', () => {
    assertInvalid(() => decodeMessage(raw({ ...valid, author: undefined })), 'missing-field')
    assertInvalid(() => decodeMessage(raw({ ...valid, id: new Uint8Array(15) })), 'bad-id')
    assertInvalid(() => decodeMessage(raw({ ...valid, author: { ...valid.author!, account: new Uint8Array(31) } })), 'bad-author')
    assertInvalid(() => decodeMessage(raw({ ...valid, author: { ...valid.author!, device: Uint8Array.of(1, 2, 3) } })), 'bad-author')
    assertInvalid(() => decodeMessage(raw({ ...valid, author: { ...valid.author!, device: new Uint8Array(0) } })), 'bad-author')
    // A refused device is refused every time (only accepted ones are remembered), and a valid one keeps passing.
    const notAPeer = Uint8Array.of(0x00, 0x03, 1, 2, 3)
    for (let i = 0; i < 2; i++) {
      assertInvalid(() => decodeMessage(raw({ ...valid, author: { ...valid.author!, device: notAPeer } })), 'bad-author')
      assert.deepEqual(decodeMessage(raw(valid)).author, valid.author)
    }
  })

  it('refuses lamport 0 and counters beyond the safe integer range', () => {
    assertInvalid(() => decodeMessage(raw({ ...valid, lamport: 0 })), 'bad-lamport')
    // 2^60 cannot even be encoded from a JS number field: append it by hand (field 4 / field 3, varint).
    const big = varint(2n ** 60n)
    assertInvalid(() => decodeMessage(new Uint8Array([...raw({ ...valid, lamport: 0 }), 0x20, ...big])), 'malformed')
    assertInvalid(() => decodeMessage(new Uint8Array([...raw({ ...valid, timestamp: 0 }), 0x18, ...big])), 'malformed')
    assertInvalid(() => decodeMessage(new Uint8Array([...raw({ ...valid, timestamp: 0 }), 0x18, ...varint(2n ** 53n)])), 'malformed')
  })

  it('refuses a message with no body or two bodies', () => {
    assertInvalid(() => decodeMessage(raw({ ...valid, text: undefined })), 'bad-kind')
    assertInvalid(() => decodeMessage(raw({ ...valid, typing: { on: true } })), 'bad-kind')
  })

  it('refuses text over 10,000 code points, empty text, and an invalid reaction', () => {
    assertInvalid(() => decodeMessage(raw({ ...valid, text: { text: 'x'.repeat(MAX_TEXT_CODE_POINTS + 1) } })), 'bad-text')
    assertInvalid(() => decodeMessage(raw({ ...valid, text: { text: '' } })), 'bad-text')
    const target = newMessageId(crypto) as Uint8Array<ArrayBuffer>
    assertInvalid(() => decodeMessage(raw({ ...valid, text: undefined, reaction: { target, emoji: '\u2764', remove: false } })), 'bad-emoji')
    assertInvalid(() => decodeMessage(raw({ ...valid, text: undefined, reply: { target: new Uint8Array(4), text: 'x' } })), 'bad-id')
  })

  it('refuses receipts with no ids or too many', () => {
    assertInvalid(() => decodeMessage(raw({ ...valid, text: undefined, read: { ids: [] } })), 'bad-receipt')
    const many = Array.from({ length: MAX_RECEIPT_IDS + 1 }, () => new Uint8Array(16))
    assertInvalid(() => decodeMessage(raw({ ...valid, text: undefined, delivered: { ids: many } })), 'malformed')
  })

  it('refuses bad attachment descriptors', () => {
    const a: pb.Attachment = {
      id: new Uint8Array(16), fileName: 'a.png', mimeType: 'image/png', kind: pb.AttachmentKind.ATTACHMENT_KIND_IMAGE,
      size: 10, sha256: new Uint8Array(32), key: new Uint8Array(32), chunkSize: 65536
    }
    const withA = (over: Partial<pb.Attachment>): pb.Message => ({ ...valid, text: undefined, attachments: [{ ...a, ...over }] })
    assert.equal(decodeMessage(raw(withA({}))).body.kind, 'attachment')
    for (const over of [
      { kind: pb.AttachmentKind.ATTACHMENT_KIND_UNSPECIFIED }, { mimeType: 'png' }, { mimeType: 'image/png; q=1' },
      { fileName: '' }, { fileName: '../x' }, { fileName: 'a\nb' }, { fileName: 'é'.repeat(256) },
      { key: new Uint8Array(16) }, { sha256: new Uint8Array(31) }, { chunkSize: 0 }, { chunkSize: 2 * 1024 * 1024 },
      { caption: '' }, { id: new Uint8Array(8) }
    ]) {
      assertInvalid(() => decodeMessage(raw(withA(over))), 'bad-attachment')
    }
  })

  it('refuses an unknown enum value on the wire', () => {
    // field 19 (call), length 2, field 1 varint 9: outcome 9 is not defined
    const bytes = new Uint8Array([...raw({ ...valid, text: undefined }), 0x9a, 0x01, 0x02, 0x08, 0x09])
    assertInvalid(() => decodeMessage(bytes), 'malformed')
  })

  it('refuses call events that make no sense', () => {
    const call = (outcome: pb.CallOutcome, durationMs: number): pb.Message => ({ ...valid, text: undefined, call: { outcome, durationMs, video: false } })
    assertInvalid(() => decodeMessage(raw(call(pb.CallOutcome.CALL_OUTCOME_MISSED, 5))), 'bad-call')
    assertInvalid(() => decodeMessage(raw(call(pb.CallOutcome.CALL_OUTCOME_DECLINED, 5))), 'bad-call')
    assertInvalid(() => decodeMessage(raw(call(pb.CallOutcome.CALL_OUTCOME_BUSY, 1))), 'bad-call')
    assert.deepEqual(decodeMessage(raw(call(pb.CallOutcome.CALL_OUTCOME_DECLINED, 0))).body, { kind: 'call', outcome: 'declined', durationMs: 0, video: false })
    assert.deepEqual(decodeMessage(raw(call(pb.CallOutcome.CALL_OUTCOME_BUSY, 0))).body, { kind: 'call', outcome: 'busy', durationMs: 0, video: false })
    assertInvalid(() => decodeMessage(raw(call(pb.CallOutcome.CALL_OUTCOME_UNSPECIFIED, 0))), 'bad-call')
    assert.deepEqual(decodeMessage(raw(call(pb.CallOutcome.CALL_OUTCOME_ENDED, 61_000))).body, { kind: 'call', outcome: 'ended', durationMs: 61_000, video: false })
  })

  it('refuses to encode an invalid message', () => {
    const m: Message = { id: newMessageId(crypto), author: alice, timestamp: 1, lamport: 1, body: { kind: 'text', text: '' } }
    assertInvalid(() => encodeMessage(m), 'bad-text')
    const bad = { ...m, body: { kind: 'poll' } as unknown as MessageBody }
    assertInvalid(() => encodeMessage(bad), 'bad-kind')
  })

  it('keeps ignoring unknown fields (forward compatible)', () => {
    const bytes = new Uint8Array([...raw(valid), 0xa8, 0x06, 0x01]) // field 101 varint 1
    assert.deepEqual(decodeMessage(bytes).body, { kind: 'text', text: 'hello' })
  })
})
