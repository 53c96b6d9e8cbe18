/**
 * Message ids as people type them (node/daemon/message-ids.ts): a unique
 * prefix picks its message, an ambiguous one is refused with the
 * candidates, too short or non-hex is a usage error, an attachment matches
 * by its own id too, and nothing outside the named conversation matches.
 */
import assert from 'node:assert/strict'
import { resolveMessageId } from '../../../node/daemon/message-ids.js'
import { fromHex, toHex } from '../../../src/messenger/bytes.js'
import type { Messenger } from '../../../src/messenger/index.js'
import type { MessageView } from '../../../src/messenger/model/index.js'

function view (id: string, attachmentId?: string): MessageView {
  return {
    id,
    author: { account: new Uint8Array(32), device: new Uint8Array(0) },
    timestamp: 0,
    lamport: 0,
    kind: attachmentId != null ? 'attachment' : 'text',
    ...(attachmentId != null ? { attachments: [{ id: fromHex(attachmentId), fileName: 'f', mimeType: 'text/plain', kind: 'file', size: 1, sha256: new Uint8Array(32), key: new Uint8Array(32), chunkSize: 1 }] } : {}),
    history: [],
    edited: false,
    deleted: false,
    reactions: [],
    status: 'sent',
    deliveredTo: [],
    readBy: []
  }
}

const BOB = ['abcd1111' + '0'.repeat(24), 'abcd2222' + '0'.repeat(24), 'ef01' + '1'.repeat(28), '7777' + '2'.repeat(28)]
const CAROL = ['9999' + '3'.repeat(28)]
const ATTACHMENT = '5555' + '4'.repeat(28)

/** A messenger with two conversations: bob (four messages, one with a file) and carol (one). */
function messenger (): Messenger {
  const conversations: Record<string, MessageView[]> = {
    bob: [view(BOB[0]), view(BOB[1]), view(BOB[2]), view(BOB[3], ATTACHMENT)],
    carol: [view(CAROL[0])]
  }
  const accounts: Record<string, string> = { bob: '01'.repeat(32), carol: '02'.repeat(32) }
  return {
    conversation: async (handle: string) => ({ handle, account: accounts[handle], view: { messages: conversations[handle], waiting: [], refused: [] }, statuses: {} }),
    contacts: { list: async () => Object.keys(accounts).map(h => ({ handle: h, account: accounts[h] })) },
    history: { view: async (account: Uint8Array) => ({ messages: conversations[Object.keys(accounts).find(h => accounts[h] === toHex(account)) ?? ''] ?? [], waiting: [], refused: [] }) }
  } as unknown as Messenger
}

async function rejects (p: Promise<unknown>, name: string, message: RegExp): Promise<void> {
  await assert.rejects(p, (err: Error) => {
    assert.equal(err.name, name)
    assert.match(err.message, message)
    return true
  })
}

describe('node/daemon/message-ids: ids by unique prefix', () => {
  it('a unique prefix of 4+ digits picks its message, in any case', async () => {
    const m = messenger()
    assert.equal(toHex((await resolveMessageId(m, 'ef01', 'id', 'bob')).id), BOB[2])
    assert.equal(toHex((await resolveMessageId(m, 'ABCD1111', 'id', 'bob')).id), BOB[0])
    assert.equal(toHex((await resolveMessageId(m, BOB[1], 'id', 'bob')).id), BOB[1], 'all 32 digits')
  })

  it('an ambiguous prefix is refused, naming the candidates', async () => {
    await rejects(resolveMessageId(messenger(), 'abcd', 'id', 'bob'), 'AmbiguousMessageIdError', /abcd matches 2 messages .*abcd11110000, abcd22220000.*type more digits/)
  })

  it('too short, too long or not hex is a usage error saying what is accepted', async () => {
    for (const bad of ['abc', 'xyz1', 'e4982g', '0'.repeat(33), '']) {
      await rejects(resolveMessageId(messenger(), bad, 'id', 'bob'), 'InvalidMessageIdError', /first 4\+ hex digits .* or all 32/)
    }
  })

  it('a prefix of another conversation does not match in this one; without a handle every conversation is searched', async () => {
    await rejects(resolveMessageId(messenger(), '9999', 'id', 'bob'), 'UnknownMessageError', /no message 9999 in the conversation with bob/)
    assert.equal(toHex((await resolveMessageId(messenger(), '9999', 'id')).id), CAROL[0])
  })

  it('an attachment matches by its own id only when asked, and then by its message id too', async () => {
    await rejects(resolveMessageId(messenger(), '5555', 'id'), 'UnknownMessageError', /no message 5555/)
    const byOwn = await resolveMessageId(messenger(), '5555', 'id', undefined, true)
    const byMessage = await resolveMessageId(messenger(), '7777', 'id', undefined, true)
    assert.equal(byOwn.view?.id, BOB[3])
    assert.equal(byMessage.view?.id, BOB[3])
  })
})
