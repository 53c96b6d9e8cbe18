/**
 * How messages read in the CLI's human output (node/cli/message-format.ts):
 * "held by 1 relay", not "1 relays"; a file with its name, size, type and,
 * on the receiving side, how far it got; earlier versions of an edit.
 */
import assert from 'node:assert/strict'
import { attachmentText, bodyText, earlierVersions, formatSize, sendStateText } from '../../../node/cli/message-format.js'
import type { HistoryMessage } from '../../../node/cli/message-format.js'
import { describeEvent } from '../../../node/cli/commands/messages.js'

const base: HistoryMessage = { id: 'ab'.repeat(16), author: { account: '01' }, timestamp: 0, kind: 'text', deleted: false, edited: false, reactions: [] }

describe('cli: message lines', () => {
  it('one relay is "1 relay"; two are "2 relays"', () => {
    assert.equal(sendStateText({ sendState: 'relayed', relays: 1 }), 'held by 1 relay')
    assert.equal(sendStateText({ sendState: 'relayed', relays: 2 }), 'held by 2 relays')
    assert.equal(sendStateText({ sendState: 'delivered' }), 'delivered')
    assert.equal(describeEvent({ type: 'status', id: 'x', state: 'relayed', relays: 1 }), 'message x relayed (held by 1 relay)')
  })

  it('a file shows name, size, type, and on the receiving side its state', () => {
    const m: HistoryMessage = { ...base, kind: 'attachment', text: 'look', attachment: { id: 'cd', fileName: 'cat.png', mimeType: 'image/png', size: 48_213 }, attachmentState: { complete: false, receivedChunks: 0, totalChunks: 1, waiting: 'request' } }
    assert.equal(bodyText(m, false), '[cat.png, 48.2 KB, image/png, receiving 0/1 chunk, waiting: request] look')
    assert.equal(attachmentText(m, true), '[cat.png, 48.2 KB, image/png]', 'our own file: no download state')
    assert.equal(attachmentText({ ...m, attachmentState: { complete: true, receivedChunks: 1, totalChunks: 1 } }, false), '[cat.png, 48.2 KB, image/png, received]')
    assert.equal(formatSize(999), '999 B')
    assert.equal(formatSize(12_000_000), '12.0 MB')
  })

  it('a message of several files lists each with its name, size, type and state, then the caption', () => {
    const m: HistoryMessage = {
      ...base,
      kind: 'attachment',
      text: 'trip',
      attachments: [{ id: 'a1', fileName: 'a.jpg', mimeType: 'image/jpeg', size: 2_000 }, { id: 'b2', fileName: 'b.pdf', mimeType: 'application/pdf', size: 3_500_000 }],
      attachmentStates: [{ id: 'a1', complete: true, receivedChunks: 1, totalChunks: 1 }, { id: 'b2', complete: false, receivedChunks: 2, totalChunks: 4 }]
    }
    assert.equal(bodyText(m, false), '[a.jpg, 2.0 KB, image/jpeg, received] [b.pdf, 3.5 MB, application/pdf, receiving 2/4 chunks] trip')
    assert.equal(attachmentText(m, true), '[a.jpg, 2.0 KB, image/jpeg] [b.pdf, 3.5 MB, application/pdf]')
  })

  it('an edited message lists its earlier versions', () => {
    const m: HistoryMessage = { ...base, text: 'v3', edited: true, history: [{ text: 'v1', timestamp: 1 }, { text: 'v2', timestamp: 2 }, { text: 'v3', timestamp: 3 }] }
    assert.deepEqual(earlierVersions(m), ['v1', 'v2'])
    assert.deepEqual(earlierVersions({ ...m, deleted: true }), [])
  })
})
