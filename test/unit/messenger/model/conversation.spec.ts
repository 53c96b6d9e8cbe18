import assert from 'node:assert/strict'
import { compare } from 'uint8arrays/compare'
import { compareMessages, idToHex, LamportClock, reduceConversation } from '../../../../src/messenger/model/index.js'
import type { Author, Message, MessageBody } from '../../../../src/messenger/model/index.js'
import { encodeOrderKey } from '../../../../src/store/index.js'
import { makeAuthor } from './arbitraries.js'

let counter = 0
function id (n?: number): Uint8Array {
  const out = new Uint8Array(16)
  new DataView(out.buffer).setUint32(12, n ?? ++counter + 1000)
  return out
}

function mk (author: Author, lamport: number, body: MessageBody, messageId = id()): Message {
  return { id: messageId, author, timestamp: 1_700_000_000_000 + lamport, lamport, body }
}

describe('messenger/model conversation reducer', () => {
  let alice: Author
  let alice2: Author // alice's second device
  let bob: Author

  before(async () => {
    alice = await makeAuthor(1)
    bob = await makeAuthor(2)
    alice2 = { ...(await makeAuthor(1)), account: alice.account }
  })

  it('orders by lamport, then author account, then id', () => {
    const a = mk(alice, 2, { kind: 'text', text: 'a' }, id(5))
    const b = mk(bob, 1, { kind: 'text', text: 'b' }, id(9))
    const c = mk(bob, 2, { kind: 'text', text: 'c' }, id(1))
    const d = mk(alice, 2, { kind: 'text', text: 'd' }, id(4))
    const view = reduceConversation([a, b, c, d])
    // alice's account is 0x01.., bob's 0x02..: at lamport 2 alice first, then by id.
    assert.deepEqual(view.messages.map(m => m.text), ['b', 'd', 'a', 'c'])
  })

  it('orders the same way as the store order keys sort as bytes', () => {
    const msgs = [mk(alice, 256, { kind: 'text', text: 'x' }), mk(bob, 255, { kind: 'text', text: 'y' }), mk(alice, 255, { kind: 'text', text: 'z' })]
    for (const x of msgs) {
      for (const y of msgs) {
        const bytes = compare(encodeOrderKey(x.lamport, x.author.account, x.id), encodeOrderKey(y.lamport, y.author.account, y.id))
        assert.equal(Math.sign(compareMessages(x, y)), Math.sign(bytes))
      }
    }
  })

  it('resolves replies to earlier messages and marks replies to unknown or later ids', () => {
    const first = mk(alice, 1, { kind: 'text', text: 'first' })
    const reply = mk(bob, 2, { kind: 'reply', target: first.id, text: 're' })
    const orphan = mk(bob, 3, { kind: 'reply', target: id(), text: 'orphan' })
    const later = mk(alice, 9, { kind: 'text', text: 'later' })
    const forward = mk(bob, 4, { kind: 'reply', target: later.id, text: 'from the future' })
    const view = reduceConversation([orphan, reply, first, later, forward])
    const byText = new Map(view.messages.map(m => [m.text, m]))
    assert.deepEqual(byText.get('re')?.replyTo, { id: idToHex(first.id), found: true })
    assert.equal(byText.get('orphan')?.replyTo?.found, false)
    assert.equal(byText.get('orphan')?.kind, 'reply')
    assert.equal(byText.get('from the future')?.replyTo?.found, false)
  })

  it('aggregates reactions per emoji per person, last writer by order, several per person', () => {
    const m = mk(alice, 1, { kind: 'text', text: 'hi' })
    const react = (who: Author, lamport: number, emoji: string, action: 'add' | 'remove'): Message =>
      mk(who, lamport, { kind: 'reaction', target: m.id, emoji, action })
    const view = reduceConversation([
      react(bob, 2, '👍', 'add'),
      react(bob, 3, '❤️', 'add'),
      react(bob, 5, '👍', 'remove'),
      react(bob, 6, '👍', 'add'),
      react(alice, 4, '👍', 'add'),
      react(alice2, 7, '👍', 'remove'), // alice's other device takes it back: same person
      react(alice, 8, '🫠', 'add'),
      react(alice, 9, '🫠', 'remove'),
      m
    ])
    assert.deepEqual(view.messages[0].reactions, [
      { emoji: '❤️', by: [idToHex(bob.account)] },
      { emoji: '👍', by: [idToHex(bob.account)] }
    ].sort((a, b) => (a.emoji < b.emoji ? -1 : 1)))
  })

  it('applies edits by the author with history, refuses edits by others, and waits for unknown targets', () => {
    const m = mk(alice, 1, { kind: 'text', text: 'v1' })
    const e1 = mk(alice, 2, { kind: 'edit', target: m.id, text: 'v2' })
    const e2 = mk(alice2, 3, { kind: 'edit', target: m.id, text: 'v3' })
    const forged = mk(bob, 4, { kind: 'edit', target: m.id, text: 'bob was here' })

    const early = reduceConversation([e2, e1, forged])
    assert.deepEqual(early.messages, [])
    assert.deepEqual(early.waiting, [e1, e2, forged].map(x => idToHex(x.id)).sort())

    const view = reduceConversation([e2, forged, e1, m])
    const v = view.messages[0]
    assert.equal(v.text, 'v3')
    assert.equal(v.edited, true)
    assert.deepEqual(v.history.map(h => h.text), ['v1', 'v2', 'v3'])
    assert.deepEqual(v.history.map(h => h.id), [m, e1, e2].map(x => idToHex(x.id)))
    assert.deepEqual(view.refused, [idToHex(forged.id)])
    assert.deepEqual(view.waiting, [])
  })

  it('refuses edits that order before their target and edits of calls', () => {
    const m = mk(alice, 5, { kind: 'text', text: 'v1' })
    const back = mk(alice, 4, { kind: 'edit', target: m.id, text: 'time travel' })
    const call = mk(alice, 6, { kind: 'call', outcome: 'ended', durationMs: 1000, video: false })
    const editCall = mk(alice, 7, { kind: 'edit', target: call.id, text: 'no' })
    const view = reduceConversation([m, back, call, editCall])
    assert.equal(view.messages[0].text, 'v1')
    assert.deepEqual(view.refused, [back, editCall].map(x => idToHex(x.id)).sort())
  })

  it('edits an attachment caption', () => {
    const att = mk(bob, 1, {
      kind: 'attachment',
      attachments: [{ id: id(), fileName: 'a.png', mimeType: 'image/png', kind: 'image', size: 3, sha256: new Uint8Array(32), key: new Uint8Array(32), chunkSize: 1024 }]
    })
    const edit = mk(bob, 2, { kind: 'edit', target: att.id, text: 'a caption' })
    const v = reduceConversation([edit, att]).messages[0]
    assert.equal(v.text, 'a caption')
    assert.equal(v.attachments?.[0].fileName, 'a.png')
  })

  it('deletes for everyone: only the author, content gone, tombstone kept, wins over later edits and reactions', () => {
    const m = mk(alice, 1, { kind: 'reply', target: id(), text: 'secret' })
    const forged = mk(bob, 2, { kind: 'delete', target: m.id })
    const del = mk(alice2, 3, { kind: 'delete', target: m.id })
    const edit = mk(alice, 4, { kind: 'edit', target: m.id, text: 'after delete' })
    const react = mk(bob, 5, { kind: 'reaction', target: m.id, emoji: '👍', action: 'add' })
    const read = mk(bob, 6, { kind: 'read', ids: [m.id] })

    assert.equal(reduceConversation([m, forged]).messages[0].text, 'secret')
    const view = reduceConversation([read, react, edit, del, forged, m])
    const v = view.messages[0]
    assert.equal(v.deleted, true)
    assert.equal(v.text, undefined)
    assert.equal(v.replyTo, undefined)
    assert.deepEqual(v.history, [])
    assert.deepEqual(v.reactions, [])
    assert.equal(v.status, 'read')
    assert.deepEqual(view.refused, [idToHex(forged.id)])
    assert.equal(JSON.stringify(v).includes('secret'), false)
  })

  it('folds receipts into sent -> delivered -> read, ignoring the author\'s own', () => {
    const m1 = mk(alice, 1, { kind: 'text', text: 'one' })
    const m2 = mk(alice, 2, { kind: 'text', text: 'two' })
    const m3 = mk(alice, 3, { kind: 'text', text: 'three' })
    const unknown = id()
    const delivered = mk(bob, 4, { kind: 'delivered', ids: [m1.id, m2.id] })
    const read = mk(bob, 5, { kind: 'read', ids: [m1.id, unknown] })
    const own = mk(alice2, 6, { kind: 'read', ids: [m3.id] })
    const view = reduceConversation([m1, m2, m3, delivered, read, own])
    assert.deepEqual(view.messages.map(m => m.status), ['read', 'delivered', 'sent'])
    assert.deepEqual(view.messages[0].readBy, [idToHex(bob.account)])
    assert.deepEqual(view.waiting, [idToHex(read.id)])
    // read without a delivered receipt still counts as delivered
    const v = reduceConversation([m3, mk(bob, 7, { kind: 'read', ids: [m3.id] })]).messages[0]
    assert.equal(v.status, 'read')
    assert.deepEqual(v.deliveredTo, [idToHex(bob.account)])
  })

  it('ignores typing, keeps calls in the timeline', () => {
    const view = reduceConversation([
      mk(bob, 1, { kind: 'typing', on: true }),
      mk(bob, 2, { kind: 'call', outcome: 'missed', durationMs: 0, video: true })
    ])
    assert.deepEqual(view.messages.map(m => [m.kind, m.call]), [['call', { outcome: 'missed', durationMs: 0, video: true }]])
  })

  it('keeps one of two different messages that share an id, the same one whatever the order', () => {
    const shared = id()
    const x = mk(alice, 3, { kind: 'text', text: 'x' }, shared)
    const y = mk(bob, 3, { kind: 'text', text: 'y' }, shared)
    const z = mk(alice, 3, { kind: 'text', text: 'z' }, shared)
    const v1 = reduceConversation([x, y, z])
    const v2 = reduceConversation([z, y, x])
    assert.deepEqual(v1, v2)
    assert.equal(v1.messages.length, 1)
  })
})

describe('messenger/model LamportClock', () => {
  it('counts up from the last value and jumps past observed counters', () => {
    const clock = new LamportClock()
    assert.equal(clock.next(), 1)
    assert.equal(clock.next(), 2)
    clock.observe(10)
    assert.equal(clock.value, 10)
    clock.observe(3)
    assert.equal(clock.next(), 11)
    assert.equal(new LamportClock(41).next(), 42)
  })

  it('refuses counters that are not non-negative safe integers', () => {
    assert.throws(() => new LamportClock(-1), { name: 'RangeError' })
    assert.throws(() => { new LamportClock().observe(1.5) }, { name: 'RangeError' })
    assert.throws(() => new LamportClock(Number.MAX_SAFE_INTEGER).next(), { name: 'RangeError' })
  })
})
