/**
 * The tab's open thread (web/src/app/client.ts): a refresh that began for
 * one conversation never puts it back after another was opened or it was
 * closed. On a busy machine a refresh for bob still reading when the user
 * opened carol used to leave bob's thread on carol's screen for good.
 */
import assert from 'node:assert/strict'
import { RunningPeer } from '../../../web/src/app/client.js'
import { StateBox } from '../../../web/src/app/state.js'
import type { AppState } from '../../../web/src/app/state.js'

/** A messenger whose conversations are read only when the test lets them. */
function fakePeer () {
  const waiting: Array<{ handle: string, release: () => void }> = []
  const account = (handle: string): string => Buffer.from(handle.padEnd(32, '.')).toString('hex')
  const messenger = {
    init: { identity: { accountPublicKey: new Uint8Array(32) } },
    contacts: { list: async () => [] },
    conversation: async (handle: string) => {
      await new Promise<void>(resolve => { waiting.push({ handle, release: resolve }) })
      return { handle, account: account(handle), view: { messages: [] }, statuses: {} }
    }
  }
  const peer = { identity: { accountPublicKey: new Uint8Array(32) }, messenger }
  /** Lets the oldest read of `handle` finish. */
  const release = async (handle: string): Promise<void> => {
    for (let i = 0; i < 100 && !waiting.some(w => w.handle === handle); i++) await new Promise(resolve => setImmediate(resolve))
    const at = waiting.findIndex(w => w.handle === handle)
    assert.ok(at >= 0, `a read of ${handle} is waiting`)
    waiting.splice(at, 1)[0].release()
    for (let i = 0; i < 10; i++) await new Promise(resolve => setImmediate(resolve))
  }
  return { peer, release }
}

function setUp () {
  const { peer, release } = fakePeer()
  const state = new StateBox({ phase: 'running', profile: 'p', conversations: [], typing: [], connectivity: { relays: 0, reserved: 0 } } satisfies AppState)
  const running = new RunningPeer(peer as never, state, () => ({ readReceipts: true }) as never, () => {})
  return { running, state, release }
}

describe('web: the open thread', function () {
  it('a refresh begun for bob does not cover carol once carol is open', async () => {
    const { running, state, release } = setUp()
    const bob = running.openThread('bob~aaaa')
    await release('bob~aaaa')
    await release('bob~aaaa')
    await bob
    assert.equal(state.get().thread?.handle, 'bob~aaaa')

    const stale = running.refresh()
    running.closeThread()
    const carol = running.openThread('carol~bbbb')
    await release('carol~bbbb')
    await release('carol~bbbb')
    await carol
    assert.equal(state.get().thread?.handle, 'carol~bbbb')
    await release('bob~aaaa')
    await stale
    assert.equal(state.get().thread?.handle, 'carol~bbbb', 'the old refresh left carol shown')
  })

  it('a refresh begun before the thread closed does not open it again', async () => {
    const { running, state, release } = setUp()
    const bob = running.openThread('bob~aaaa')
    await release('bob~aaaa')
    await release('bob~aaaa')
    await bob
    const stale = running.refresh()
    running.closeThread()
    await release('bob~aaaa')
    await stale
    assert.equal(state.get().thread, undefined)
  })

  it('opening bob then carol at once shows carol, whichever read finishes first', async () => {
    const { running, state, release } = setUp()
    const bob = running.openThread('bob~aaaa')
    running.closeThread()
    const carol = running.openThread('carol~bbbb')
    await release('carol~bbbb')
    await release('carol~bbbb')
    await carol
    await release('bob~aaaa')
    await bob
    assert.equal(state.get().thread?.handle, 'carol~bbbb')
  })
})
