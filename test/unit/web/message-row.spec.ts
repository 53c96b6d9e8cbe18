/**
 * A thread's messages render again only when what they show changed
 * (web/src/ui/Message.tsx, MessageRow): the app renders on every change of
 * its state, and a call's progress re-rendered every message of the open
 * thread while the call was being set up (10-18 ms of the tab's thread in
 * the call benchmark's CPU profiles).
 */
import assert from 'node:assert/strict'
import { MessageRow } from '../../../web/src/ui/Message.js'
import type { RunningPeer } from '../../../web/src/app/client.js'
import type { HistoryEntry } from '../../../src/peer/index.js'

type RowProps = MessageRow['props']

function props (over: Partial<RowProps> = {}): RowProps {
  return {
    m: { id: 'm1', kind: 'text', text: 'hi', timestamp: 1 } as unknown as HistoryEntry,
    mine: true,
    running: {} as unknown as RunningPeer,
    handle: 'bob~x1',
    day: 'Mon Dec 07 2026',
    onReply: () => {},
    onEdit: () => {},
    onError: () => {},
    ...over
  }
}

describe('web: a thread\'s message rows', () => {
  it('a render of the app that changed nothing the message shows (its callbacks made anew) skips the row', () => {
    const before = props()
    const row = new MessageRow(before)
    assert.equal(row.shouldComponentUpdate({ ...before, onReply: () => {}, onEdit: () => {}, onError: () => {} }), false)
  })

  it('the message, its quote, whose it is, the handle or the day changing renders it again', () => {
    const before = props()
    const row = new MessageRow(before)
    const changes: Array<Partial<RowProps>> = [
      { m: { ...before.m, sendState: 'read' } as unknown as HistoryEntry },
      { target: { id: 'm0' } as unknown as HistoryEntry },
      { mine: false },
      { handle: 'carol~x2' },
      { running: {} as unknown as RunningPeer },
      { day: 'Tue Dec 08 2026' }
    ]
    for (const change of changes) assert.equal(row.shouldComponentUpdate({ ...before, ...change }), true, Object.keys(change)[0])
  })
})
