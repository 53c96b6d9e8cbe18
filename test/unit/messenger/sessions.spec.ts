import assert from 'node:assert/strict'
import { Sessions } from '../../../src/messenger/sessions.js'
import type { SessionRecord } from '../../../src/messenger/sessions.js'
import type { SessionState } from '../../../src/crypto/session.js'
import type { LevelStore } from '../../../src/store/index.js'
import { tempStore } from '../store/helpers.js'

const KEY = new Uint8Array(32).fill(1)
const OTHER = new Uint8Array(32).fill(2)
const tick = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('messenger: Sessions.with', () => {
  let store: LevelStore
  let cleanup: () => Promise<void>
  beforeEach(async () => { ({ store, cleanup } = await tempStore()) })
  afterEach(async () => { await cleanup() })

  it('keeps a device locked until the caller releases it, so states are made (and committed) in order', async () => {
    const sessions = new Sessions(store)
    const order: string[] = []
    const first = await sessions.with(KEY, async () => { order.push('first'); return { result: 1 } })
    let secondRan = false
    const second = sessions.with(KEY, async () => { secondRan = true; order.push('second'); return { result: 2 } })
    // Another device is not held up.
    const other = await sessions.with(OTHER, async () => { order.push('other'); return { result: 3 } })
    other.release()
    await tick()
    assert.equal(secondRan, false, 'the second state was made before the first was released')
    first.release()
    first.release() // releasing twice is harmless
    const done = await second
    done.release()
    assert.deepEqual(order, ['first', 'other', 'second'])
    // Nothing is left locked: a third call runs at once.
    const third = await sessions.with(KEY, async () => ({ result: 4 }))
    third.release()
  })

  it('releases the lock when fn throws, and returns the new record as a write', async () => {
    const sessions = new Sessions(store)
    await assert.rejects(sessions.with(KEY, async () => { throw new Error('boom') }), /boom/)
    const record: SessionRecord = { current: undefined, archived: [] as SessionState[] }
    const out = await sessions.with(KEY, async () => ({ record, result: 'ok' }))
    out.release()
    assert.equal(out.result, 'ok')
    assert.equal(out.ops.length, 1)
    assert.equal(out.ops[0].namespace, 'sessions')
    const none = await sessions.with(KEY, async () => ({ result: 'unchanged' }))
    none.release()
    assert.equal(none.ops.length, 0)
  })
})
