/**
 * The messenger's typed events (events.ts): a listener for one type gets
 * that type's events only, as the plain objects that were emitted, until
 * it stops listening.
 */
import assert from 'node:assert/strict'
import { MESSENGER_EVENT_TYPES, emitMessengerEvent, onMessengerEvent } from '../../../src/messenger/index.js'
import type { StatusEvent, TypingEvent } from '../../../src/messenger/index.js'

describe('messenger: typed events', () => {
  it('a listener for one type gets only those events, with their fields, until it stops', () => {
    const target = new EventTarget()
    const statuses: StatusEvent[] = []
    const typing: TypingEvent[] = []
    const off = onMessengerEvent(target, 'status', (e) => { statuses.push(e) })
    onMessengerEvent(target, 'typing', (e) => { typing.push(e) })
    const status: StatusEvent = { type: 'status', id: 'ab', conversation: 'cd', state: 'delivered', relays: 0 }
    emitMessengerEvent(target, status)
    emitMessengerEvent(target, { type: 'typing', handle: 'bob~aaaaaaaaaa', on: true })
    assert.deepEqual(statuses, [status])
    assert.equal(statuses[0].state, 'delivered')
    assert.deepEqual(typing, [{ type: 'typing', handle: 'bob~aaaaaaaaaa', on: true }])
    off()
    emitMessengerEvent(target, { ...status, state: 'read' })
    assert.equal(statuses.length, 1, 'no event after off()')
  })

  it('lists every event type once', () => {
    assert.deepEqual([...MESSENGER_EVENT_TYPES].sort(), ['attachment', 'key-change', 'message', 'relay-refused', 'status', 'typing'])
  })
})
