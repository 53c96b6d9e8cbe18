/**
 * The tab's refresh (web/src/app/client.ts) while the open thread cannot be
 * marked read: a contact whose key changed (sending, read receipts
 * included, is blocked until the user trusts it) made markRead throw, the
 * refresh stopped before it showed anything, and every later one did the
 * same: while that thread stayed open, no new message showed, in it or in
 * the conversation list. Any contact could do it by writing once from a
 * device with a new identity key.
 */
import assert from 'node:assert/strict'
import { RunningPeer } from '../../../web/src/app/client.js'
import { StateBox } from '../../../web/src/app/state.js'
import type { AppState } from '../../../web/src/app/state.js'

const ME = new Uint8Array(32)
const BOB = new Uint8Array(32).fill(2)
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex')

describe('web: a thread that cannot be marked read', function () {
  const saved = Object.getOwnPropertyDescriptor(globalThis, 'document')
  before(() => { Object.defineProperty(globalThis, 'document', { value: { visibilityState: 'visible' }, configurable: true }) })
  after(() => {
    if (saved != null) Object.defineProperty(globalThis, 'document', saved)
    else Reflect.deleteProperty(globalThis, 'document')
  })

  it('new messages still show in the open thread and the list when marking them read is refused', async () => {
    const messages: Array<{ id: string, kind: string, text: string, author: { account: Uint8Array, device: Uint8Array }, timestamp: number }> = []
    const say = (text: string): void => { messages.push({ id: String(messages.length), kind: 'text', text, author: { account: BOB, device: BOB }, timestamp: messages.length + 1 }) }
    const contact = { account: hex(BOB), handle: 'bob~aaaa', state: 'accepted', devices: {}, addedAt: 0, keyChange: { what: 'device x of bob~aaaa has a new identity key', seenAt: 1 } }
    const messenger = {
      init: { identity: { accountPublicKey: ME } },
      contacts: { list: async () => [contact] },
      history: { view: async () => ({ messages: [...messages] }) },
      unreadCount: async () => messages.length,
      conversation: async (handle: string) => ({ handle, account: hex(BOB), view: { messages: [...messages] }, statuses: {} }),
      markRead: async () => { throw Object.assign(new Error(`safety warning: ${contact.keyChange.what}`), { name: 'KeyChangedError' }) }
    }
    const peer = { identity: { accountPublicKey: ME }, messenger }
    const state = new StateBox({ phase: 'running', profile: 'p', conversations: [], typing: [], connectivity: { relays: 0, reserved: 0 } } satisfies AppState)
    const running = new RunningPeer(peer as never, state, () => ({ readReceipts: true }) as never, () => {})
    say('one')
    await running.openThread('bob~aaaa').catch(() => {})
    say('two')
    await running.refresh().catch(() => {})
    assert.deepEqual(state.get().thread?.messages.map(m => m.text), ['one', 'two'], 'the new message shows in the open thread')
    assert.equal(state.get().conversations[0]?.last?.text, 'two', 'and in the conversation list')
    assert.equal(state.get().conversations[0]?.unread, 2, 'still unread: nothing was marked')
    assert.match(state.get().error ?? '', /safety warning/, 'the reason is shown')
  })
})
