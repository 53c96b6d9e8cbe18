import assert from 'node:assert/strict'
import fc from 'fast-check'
import { fromString } from 'uint8arrays/from-string'
import { compareMessages, reduceConversation } from '../../../../src/messenger/model/index.js'
import type { Author, Message, MessageBody } from '../../../../src/messenger/model/index.js'
import { emojiArb, makeAuthor } from './arbitraries.js'

const KINDS = ['text', 'reply', 'reaction', 'reaction', 'reaction', 'edit', 'edit', 'delete', 'delivered', 'read', 'typing', 'call', 'attachment', 'clone'] as const

const actionArb = fc.record({
  kind: fc.constantFrom(...KINDS),
  who: fc.nat({ max: 2 }),
  lamport: fc.integer({ min: 1, max: 12 }),
  ref: fc.nat(),
  unknownRef: fc.nat({ max: 4 }).map(n => n === 0), // one reference in five points at an unknown id
  emoji: emojiArb,
  remove: fc.boolean(),
  text: fc.constantFrom('a', 'b', 'c', 'hello')
}, { noNullPrototype: true })

type Action = typeof actionArb extends fc.Arbitrary<infer T> ? T : never

function idOf (n: number): Uint8Array {
  const out = new Uint8Array(16)
  new DataView(out.buffer).setUint32(0, (n * 2654435761) >>> 0) // scatter ids so id order is not creation order
  out[15] = n & 0xff
  return out
}

/** Builds a conversation from actions: references point at earlier ids, or at unknown ones. */
function build (actions: Action[], authors: Author[]): Message[] {
  const out: Message[] = []
  for (const [i, a] of actions.entries()) {
    const author = authors[a.who]
    const ref = (): Uint8Array => a.unknownRef || out.length === 0 ? idOf(100_000 + i) : out[a.ref % out.length].id
    let body: MessageBody
    let messageId = idOf(i)
    switch (a.kind) {
      case 'text': body = { kind: 'text', text: a.text }; break
      case 'reply': body = { kind: 'reply', target: ref(), text: a.text }; break
      case 'reaction': body = { kind: 'reaction', target: ref(), emoji: a.emoji, action: a.remove ? 'remove' : 'add' }; break
      case 'edit': body = { kind: 'edit', target: ref(), text: a.text }; break
      case 'delete': body = { kind: 'delete', target: ref() }; break
      case 'delivered': body = { kind: 'delivered', ids: [ref(), ref()] }; break
      case 'read': body = { kind: 'read', ids: [ref()] }; break
      case 'typing': body = { kind: 'typing', on: a.remove }; break
      case 'call': body = { kind: 'call', outcome: 'ended', durationMs: a.lamport * 1000, video: a.remove }; break
      case 'attachment':
        body = {
          kind: 'attachment',
          attachments: [{ id: idOf(500_000 + i), fileName: 'f.bin', mimeType: 'application/octet-stream', kind: 'file', size: i, sha256: new Uint8Array(32), key: new Uint8Array(32), chunkSize: 4096 }]
        }
        break
      case 'clone':
        // A different message reusing an existing id: every peer must keep the same one.
        body = { kind: 'text', text: `clone ${a.text}` }
        if (out.length > 0) messageId = out[a.ref % out.length].id
        break
    }
    out.push({ id: messageId, author, timestamp: 1_700_000_000_000 + i, lamport: a.lamport, body })
  }
  return out
}

describe('messenger/model conversation reducer (properties)', () => {
  let authors: Author[]

  before(async () => {
    const alice = await makeAuthor(1)
    const alice2 = { ...(await makeAuthor(1)), account: alice.account }
    authors = [alice, alice2, await makeAuthor(2)]
  })

  const scenario = (): fc.Arbitrary<{ messages: Message[], arrival: Message[] }> =>
    fc.array(actionArb, { minLength: 1, maxLength: 40 }).map(actions => build(actions, authors)).chain(messages =>
      fc.record({
        messages: fc.constant(messages),
        arrival: fc.array(fc.constantFrom(...messages), { maxLength: 15 })
          // duplicates arrive both as the same object and as byte-for-byte copies
          .chain(dups => fc.array(fc.boolean(), { minLength: dups.length, maxLength: dups.length })
            .map(copy => dups.map((m, i) => (copy[i] ? structuredClone(m) : m))))
          .chain(dups => fc.shuffledSubarray([...messages, ...dups], { minLength: messages.length + dups.length }))
      }, { noNullPrototype: true }))

  it('gives the same view for any permutation and duplication of the same messages', () => {
    fc.assert(fc.property(scenario(), ({ messages, arrival }) => {
      assert.deepEqual(reduceConversation(arrival), reduceConversation(messages))
    }), { numRuns: 500 })
  })

  it('gives the same view on both sides when each side received the messages in its own order', () => {
    fc.assert(fc.property(scenario(), fc.infiniteStream(fc.boolean()), ({ messages }, coin) => {
      // Alice's side: her messages first (she sent them), then Bob's as they arrive; Bob's: the reverse.
      const iter = coin[Symbol.iterator]()
      const mine = messages.filter(() => iter.next().value === true)
      const theirs = messages.filter(m => !mine.includes(m))
      assert.deepEqual(reduceConversation([...mine, ...theirs.reverse()]), reduceConversation([...theirs, ...mine.reverse()]))
    }), { numRuns: 200 })
  })

  it('lists every timeline message once, in conversation order', () => {
    fc.assert(fc.property(scenario(), ({ arrival }) => {
      const view = reduceConversation(arrival)
      const ids = view.messages.map(m => m.id)
      assert.equal(new Set(ids).size, ids.length)
      const keys = view.messages.map(m => ({ lamport: m.lamport, author: m.author, id: fromString(m.id, 'base16') }))
      for (let i = 1; i < keys.length; i++) {
        assert.ok(compareMessages(keys[i - 1], keys[i]) < 0)
      }
    }), { numRuns: 200 })
  })
})
